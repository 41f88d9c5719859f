"""The people service: bootstrap, add, roles, clearance, need-to-know, passwords and locks; each audited."""

from __future__ import annotations

import pytest

from accord.audit.entry import EntryKind
from accord.errors import AuthenticationError, PermissionDeniedError, UnknownReferenceError, ValidationError
from accord.services.audit import AuditLog
from accord.services.people import Credential, People, PersonDraft, Role
from accord.storage.sql import SqlPeopleStore
from tests.unit.services.people.support import (
    ADMIN_PASSWORD,
    AT,
    PASSWORD,
    WORLD,
    add,
    entries,
    last,
    raw_log,
)


def stored(db, person_id):
    with db.transaction("read") as session:
        return SqlPeopleStore(session).get(person_id)


def test_bootstrap_makes_the_first_administrator_once(people, db, node_home):
    first = people.bootstrap(
        PersonDraft(id="admin", name="First Admin", roles=("security-officer",)),
        password=ADMIN_PASSWORD,
        world=WORLD,
        at=AT,
    )
    assert first.roles == {Role.ADMINISTRATOR, Role.SECURITY_OFFICER}
    assert (first.party, first.clearance, first.name) == ("KOR", None, "First Admin")
    entry = last(db)
    assert (entry.kind, entry.actor, entry.subjects) == (EntryKind.PERSON, "admin", ("admin",))
    assert entry.meta["action"] == "person.bootstrap"
    assert entry.meta["roles"] == "administrator security-officer"

    with pytest.raises(ValidationError, match="already has people"):
        people.bootstrap(PersonDraft(id="mallory"), password=ADMIN_PASSWORD, world=WORLD, at=AT)
    refusal = last(db)
    assert (refusal.actor, refusal.subjects, refusal.meta["outcome"]) == ("anonymous", ("mallory",), "refused")
    assert stored(db, "mallory") is None
    assert ADMIN_PASSWORD.encode() not in raw_log(db)
    assert stored(db, "admin").password_hash.startswith("$argon2id$")
    assert AuditLog(database=db, home=node_home).verify().entries == 2


def test_an_administrator_adds_an_analyst_checked_against_the_world(people, admin, db):
    kim = add(people, admin, "kim", "analyst", topics=("dprk-missile", "dprk-nuclear"))
    assert kim.roles == {Role.ANALYST}
    assert kim.need_to_know == {"dprk-missile", "dprk-nuclear"}
    entry = last(db)
    assert (entry.actor, entry.subjects) == ("admin", ("kim",))
    assert dict(entry.meta) == {
        "action": "person.add",
        "roles": "analyst",
        "clearance": "KOR/MIL-II",
        "topics": 2,
        "via": "password",
    }
    assert people.get(admin, "kim").person == kim


@pytest.mark.parametrize(
    ("draft", "problem"),
    [
        (PersonDraft(id="kim", clearance="JPN/HI"), "own scheme"),
        (PersonDraft(id="kim", clearance="KOR/MIL-IV"), "not a level of KOR's scheme"),
        (PersonDraft(id="Kim Min-jun"), "a person id is 2 to 64 characters"),
        (PersonDraft(id="kim", roles=("general",)), "unknown role 'general'"),
        (PersonDraft(id="kim", name="tab\tname"), "printable"),
        (PersonDraft(id="admin"), "person admin is already stored"),
    ],
)
def test_bad_drafts_store_nothing_but_their_refusal(people, admin, db, draft, problem):
    before = len(entries(db))
    with pytest.raises(ValidationError, match=problem):
        people.add(admin, draft, world=WORLD, password=PASSWORD, at=AT)
    assert people.list(admin).items[-1].person.id == "admin"
    assert len(entries(db)) == before + 1
    assert last(db).meta["outcome"] == "refused"


@pytest.mark.parametrize(("password", "problem"), [("short", "at least 12"), ("kim", "at least 12"), ("kim" * 5, "")])
def test_weak_passwords_are_refused(people, admin, password, problem):
    if problem:
        with pytest.raises(ValidationError, match=problem):
            add(people, admin, "kim", "analyst", password=password)
    else:
        add(people, admin, "kim", "analyst", password=password)
    with pytest.raises(ValidationError, match="must not be the person's id"):
        add(people, admin, "leeleeleelee", "analyst", password="LeeLeeLeeLee")  # noqa: S106


def test_only_people_managers_add_and_only_administrators_make_administrators(people, admin, db):
    add(people, admin, "kim", "analyst")
    add(people, admin, "sec", "security-officer")
    kim = people.authenticate_password("kim", PASSWORD, at=AT)
    sec = people.authenticate_password("sec", PASSWORD, at=AT)
    before = len(entries(db))
    with pytest.raises(PermissionDeniedError, match=r"kim may not people.manage: it needs one of the roles"):
        add(people, kim, "lee", "analyst")
    refusal = last(db)
    assert (refusal.actor, refusal.subjects, refusal.meta["action"]) == ("kim", ("lee",), "person.add")
    assert refusal.meta["reason"].startswith("kim may not people.manage")
    assert len(entries(db)) == before + 1  # one refusal, one entry
    add(people, sec, "lee", "analyst")
    with pytest.raises(PermissionDeniedError, match=r"people.administer"):
        add(people, sec, "boss", "administrator")
    assert last(db).meta["outcome"] == "refused"
    add(people, admin, "boss", "administrator")


def test_roles_change_audited_never_ones_own_and_never_the_last_administrator(people, admin, db):
    add(people, admin, "kim", "analyst")
    add(people, admin, "sec", "security-officer")
    sec = people.authenticate_password("sec", PASSWORD, at=AT)

    changed = people.set_roles(admin, "kim", ["analyst", "disclosure-officer"], at=AT)
    assert changed.roles == {Role.ANALYST, Role.DISCLOSURE_OFFICER}
    entry = last(db)
    assert (entry.actor, entry.subjects) == ("admin", ("kim",))
    assert entry.meta["added"] == "disclosure-officer"
    assert entry.meta["removed"] == "none"
    assert people.get(admin, "kim").person.roles == changed.roles

    before = len(entries(db))
    with pytest.raises(PermissionDeniedError, match="may not change their own roles"):
        people.set_roles(sec, "sec", ["security-officer", "disclosure-officer"], at=AT)
    assert len(entries(db)) == before + 1
    assert (last(db).meta["action"], last(db).meta["outcome"]) == ("person.roles", "refused")
    with pytest.raises(PermissionDeniedError, match=r"people.administer"):
        people.set_roles(sec, "kim", ["administrator"], at=AT)
    with pytest.raises(PermissionDeniedError, match=r"people.administer"):
        people.set_roles(sec, "admin", ["analyst"], at=AT)  # acting on an administrator
    assert people.get(admin, "kim").person.roles == changed.roles

    people.set_roles(admin, "kim", ["administrator"], at=AT)
    kim = people.authenticate_password("kim", PASSWORD, at=AT)
    people.set_roles(kim, "admin", ["security-officer"], at=AT)  # another administrator remains
    assert people.get(kim, "admin").person.roles == {Role.SECURITY_OFFICER}


def test_the_last_administrator_is_never_demoted_or_locked(people, admin):
    add(people, admin, "boss", "administrator")
    boss = people.authenticate_password("boss", PASSWORD, at=AT)
    people.lock(boss, "admin", at=AT)
    with pytest.raises(ValidationError, match="last active administrator"):
        people.set_roles(admin, "boss", ["analyst"], at=AT)
    people.unlock(boss, "admin", at=AT)
    people.set_roles(admin, "boss", ["analyst"], at=AT)
    with pytest.raises(PermissionDeniedError, match="their own"):
        people.lock(admin, "admin", at=AT)


def test_clearance_is_granted_in_the_nodes_scheme_and_withdrawn(people, admin, db):
    add(people, admin, "kim", "analyst", clearance=None)
    assert people.set_clearance(admin, "kim", "KOR/MIL-I", world=WORLD, at=AT).clearance == "KOR/MIL-I"
    assert dict(last(db).meta) == {
        "action": "person.clearance",
        "from": "none",
        "to": "KOR/MIL-I",
        "via": "password",
    }
    with pytest.raises(ValidationError, match="own scheme"):
        people.set_clearance(admin, "kim", "USA/TS", world=WORLD, at=AT)
    with pytest.raises(UnknownReferenceError, match="no person 'nobody'"):
        people.set_clearance(admin, "nobody", "KOR/MIL-I", world=WORLD, at=AT)
    assert people.set_clearance(admin, "kim", None, world=WORLD, at=AT).clearance is None
    kim = people.authenticate_password("kim", PASSWORD, at=AT)
    with pytest.raises(PermissionDeniedError):
        people.set_clearance(kim, "kim", "KOR/MIL-I", world=WORLD, at=AT)


def test_need_to_know_is_audited_by_count_and_digest_not_by_name(people, admin, db):
    add(people, admin, "kim", "analyst", topics=("dprk-missile",))
    kim = people.set_need_to_know(admin, "kim", ["dprk-missile", "secret-project-x", " "], at=AT)
    assert kim.need_to_know == {"dprk-missile", "secret-project-x"}
    entry = last(db)
    assert (entry.meta["topics"], entry.meta["added"], entry.meta["removed"]) == (2, 1, 0)
    assert set(entry.digests) == {"need_to_know"}
    assert b"secret-project-x" not in raw_log(db)


def test_reading_people_needs_people_read_except_oneself(people, admin):
    for name in ("kim", "lee", "park"):
        add(people, admin, name, "analyst")
    kim = people.authenticate_password("kim", PASSWORD, at=AT)
    assert people.get(kim).person.id == "kim"
    with pytest.raises(PermissionDeniedError, match=r"people.read"):
        people.get(kim, "lee")
    with pytest.raises(PermissionDeniedError, match=r"people.read"):
        people.list(kim)
    page = people.list(admin, limit=2)
    assert [v.person.id for v in page.items] == ["admin", "kim"]
    assert page.next_cursor == "kim"
    rest = people.list(admin, after=page.next_cursor, limit=2)
    assert [v.person.id for v in rest.items] == ["lee", "park"]
    assert rest.next_cursor is None
    view = people.get(admin, "kim").to_dict()
    assert view["has_password"] is True
    assert "password_hash" not in view
    assert all("argon2" not in str(v) for v in view.values())
    with pytest.raises(UnknownReferenceError):
        people.get(admin, "nobody")


def test_own_password_needs_the_current_one_and_a_wrong_one_counts(people, admin, db):
    add(people, admin, "kim", "analyst")
    kim = people.authenticate_password("kim", PASSWORD, at=AT)
    with pytest.raises(AuthenticationError):
        people.set_password(kim, "kim", "a brand new passphrase", current_password="wrong", at=AT)  # noqa: S106
    assert stored(db, "kim").failures == 1
    people.set_password(kim, "kim", "a brand new passphrase", current_password=PASSWORD, at=AT)
    assert last(db).meta["own"] is True
    with pytest.raises(AuthenticationError):
        people.authenticate_password("kim", PASSWORD, at=AT)
    assert people.authenticate_password("kim", "a brand new passphrase", at=AT).via is Credential.PASSWORD
    assert b"brand new" not in raw_log(db)


def test_officers_reset_passwords_an_administrators_only_by_an_administrator(people, admin):
    add(people, admin, "kim", "analyst")
    add(people, admin, "sec", "security-officer")
    sec = people.authenticate_password("sec", PASSWORD, at=AT)
    kim = people.authenticate_password("kim", PASSWORD, at=AT)
    session = people.start_session(kim, at=AT)
    people.set_password(sec, "kim", "reset by an officer", at=AT)
    with pytest.raises(AuthenticationError):  # the reset ended kim's sessions
        people.authenticate_session(session.session_id, csrf_token=session.csrf_token, at=AT)
    with pytest.raises(PermissionDeniedError, match=r"people.administer"):
        people.set_password(sec, "admin", "taken over by sec", at=AT)
    with pytest.raises(PermissionDeniedError, match=r"people.manage"):
        people.set_password(kim, "sec", "taken over by kim", at=AT)
    assert people.authenticate_password("admin", ADMIN_PASSWORD, at=AT)


def test_a_locked_person_cannot_use_any_credential_until_unlocked(people, admin, db):
    add(people, admin, "kim", "analyst")
    kim = people.authenticate_password("kim", PASSWORD, at=AT)
    token = people.issue_token(kim, name="scripts", at=AT)
    session = people.start_session(kim, at=AT)

    view = people.lock(admin, "kim", at=AT)
    assert view.locked
    assert last(db).meta["sessions_ended"] == 1
    with pytest.raises(AuthenticationError):
        people.authenticate_password("kim", PASSWORD, at=AT)
    with pytest.raises(AuthenticationError):
        people.authenticate_token(token.token, at=AT)
    assert last(db).meta["reason"] == "locked"
    with pytest.raises(AuthenticationError):
        people.authenticate_session(session.session_id, csrf_token=session.csrf_token, at=AT)

    assert not people.unlock(admin, "kim", at=AT).locked
    assert people.authenticate_token(token.token, at=AT).person.id == "kim"
    assert people.authenticate_password("kim", PASSWORD, at=AT)


def test_refusals_change_nothing(people, admin, db):
    add(people, admin, "kim", "analyst")
    before = stored(db, "kim")
    with pytest.raises(ValidationError):
        people.set_roles(admin, "kim", ["analyst", "general"], at=AT)
    with pytest.raises(ValidationError):
        people.set_clearance(admin, "kim", "KOR/NOPE", world=WORLD, at=AT)
    assert stored(db, "kim") == before
    assert [e.meta["outcome"] for e in entries(db)[-2:]] == ["refused", "refused"]


def test_bootstrap_needs_the_node_identity(people, tmp_path, db):
    other = People(database=db, home=tmp_path / "empty", policy=people._policy)
    with pytest.raises(ValidationError, match="identity"):
        other.bootstrap(PersonDraft(id="admin"), password=ADMIN_PASSWORD, world=WORLD, at=AT)
