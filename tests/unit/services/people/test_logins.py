"""Logging in: passwords with lock-out, API tokens, web sessions with CSRF, and authorize; no secret is kept."""

from __future__ import annotations

import datetime as dt

import pytest

from accord.audit.entry import EntryKind
from accord.crypto.passwords import PasswordParams, needs_rehash
from accord.errors import AuthenticationError, PermissionDeniedError, UnknownReferenceError, ValidationError
from accord.services.audit import AuditLog
from accord.services.people import Action, Credential, LoginPolicy, People, Principal
from accord.storage.sql import SqlPeopleStore
from tests.unit.services.people.support import ADMIN_PASSWORD, AT, FAST_POLICY, PASSWORD, add, entries, last, raw_log

MINUTE = dt.timedelta(minutes=1)


def account(db, person_id):
    with db.transaction("read") as session:
        return SqlPeopleStore(session).get(person_id)


def fail(people, person_id, at, times=1):
    for _ in range(times):
        with pytest.raises(AuthenticationError) as caught:
            people.authenticate_password(person_id, "not the password", at=at)
    return caught.value


def test_a_password_login_is_audited_and_gives_a_full_principal(people, admin, db):
    add(people, admin, "kim", "analyst")
    kim = people.authenticate_password("kim", PASSWORD, at=AT)
    assert (kim.person.id, kim.via, kim.scopes, kim.csrf_checked) == ("kim", Credential.PASSWORD, None, True)
    entry = last(db)
    assert (entry.kind, entry.actor, entry.subjects) == (EntryKind.LOGIN, "kim", ("kim",))
    assert dict(entry.meta) == {"action": "login.password", "outcome": "ok"}


def test_every_refusal_reads_the_same_and_is_audited_with_its_reason(people, admin, db):
    add(people, admin, "kim", "analyst")
    unknown = fail(people, "nobody", AT)
    wrong = fail(people, "kim", AT)
    assert unknown.message == wrong.message
    assert unknown.hint == wrong.hint
    assert "nobody" not in unknown.diagnostics()
    anonymous, counted = entries(db)[-2:]
    assert (anonymous.actor, anonymous.subjects, anonymous.meta["reason"]) == ("anonymous", (), "unknown person")
    assert (counted.actor, counted.meta["reason"], counted.meta["failures"]) == ("kim", "wrong password", 1)
    assert b"nobody" not in raw_log(db)  # a mistyped id may be a password: never logged
    assert b"not the password" not in raw_log(db)


def test_lock_out_after_five_failures_for_fifteen_minutes(people, admin, db):
    add(people, admin, "kim", "analyst")
    fail(people, "kim", AT, times=4)
    assert account(db, "kim").failures == 4
    fail(people, "kim", AT + MINUTE)
    locked = account(db, "kim")
    until = "2026-03-01T09:16:00.000000Z"
    assert (locked.failures, locked.locked_out_until) == (0, until)
    lockout = last(db)
    assert dict(lockout.meta) == {"action": "login.lockout", "failures": 5, "until": until}

    # Locked out: even the right password is refused, and the refusal does not count.
    with pytest.raises(AuthenticationError):
        people.authenticate_password("kim", PASSWORD, at=AT + 15 * MINUTE)
    assert last(db).meta["reason"] == "locked out"
    assert account(db, "kim").failures == 0

    # At the end of the period the right password works and clears the lock-out.
    assert people.authenticate_password("kim", PASSWORD, at=AT + 16 * MINUTE).person.id == "kim"
    cleared = account(db, "kim")
    assert (cleared.failures, cleared.locked_out_until) == (0, None)


def test_a_success_resets_the_count_of_consecutive_failures(people, admin, db):
    add(people, admin, "kim", "analyst")
    fail(people, "kim", AT, times=4)
    people.authenticate_password("kim", PASSWORD, at=AT)
    fail(people, "kim", AT, times=4)
    assert account(db, "kim").locked_out_until is None


def test_a_lock_out_stops_password_logins_not_tokens(people, admin):
    add(people, admin, "kim", "analyst")
    token = people.issue_token(people.authenticate_password("kim", PASSWORD, at=AT), name="cron", at=AT)
    fail(people, "kim", AT, times=5)
    assert people.authenticate_token(token.token, at=AT + MINUTE).person.id == "kim"


def test_a_stale_hash_is_replaced_at_login(people, admin, db, node_home):
    add(people, admin, "kim", "analyst")
    stronger = LoginPolicy(passwords=PasswordParams(time_cost=2, memory_kib=1024, parallelism=1))
    before = account(db, "kim").password_hash
    People(database=db, home=node_home, policy=stronger).authenticate_password("kim", PASSWORD, at=AT)
    after = account(db, "kim").password_hash
    assert after != before
    assert "$m=1024,t=2,p=1$" in after
    assert not needs_rehash(after, stronger.passwords)
    assert last(db).meta["rehashed"] is True
    assert people.authenticate_password("kim", PASSWORD, at=AT)  # verifies whatever the cost


def test_a_person_without_a_password_cannot_log_in(people, admin, db):
    add(people, admin, "kim", "analyst", password=None)
    fail(people, "kim", AT)
    assert last(db).meta["reason"] == "no password set"


# -- API tokens -------------------------------------------------------------------------


def test_a_token_is_shown_once_stored_as_a_digest_and_resolves_to_its_person(people, admin, db):
    add(people, admin, "kim", "analyst")
    kim = people.authenticate_password("kim", PASSWORD, at=AT)
    issued = people.issue_token(kim, name="nightly export", at=AT)
    assert issued.token.startswith(f"accord_{issued.view.id}_")
    assert issued.token not in repr(issued)
    assert issued.view.expires_at == "2026-05-30T09:00:00.000000Z"  # 90 days
    entry = last(db)
    assert (entry.kind, entry.meta["action"], entry.meta["token"], entry.meta["scopes"]) == (
        EntryKind.PERSON,
        "token.issue",
        issued.view.id,
        "all",
    )
    with db.transaction("read") as session:
        kept = SqlPeopleStore(session).token(issued.view.id)
    assert issued.token.split("_", 2)[2] not in kept.digest

    principal = people.authenticate_token(issued.token, at=AT + MINUTE)
    assert (principal.person.id, principal.via, principal.credential_id) == ("kim", Credential.TOKEN, issued.view.id)
    People.authorize(principal, Action.RELEASE_REQUEST)
    assert issued.token.encode() not in raw_log(db)


def test_a_token_expires_and_is_revoked(people, admin, db):
    add(people, admin, "kim", "analyst")
    kim = people.authenticate_password("kim", PASSWORD, at=AT)
    short = people.issue_token(kim, name="one hour", lifetime=dt.timedelta(hours=1), at=AT)
    assert people.authenticate_token(short.token, at=AT + 59 * MINUTE)
    with pytest.raises(AuthenticationError):
        people.authenticate_token(short.token, at=AT + 60 * MINUTE)
    assert dict(last(db).meta) == {
        "action": "login.token",
        "outcome": "refused",
        "reason": "expired",
        "token": short.view.id,
    }

    long = people.issue_token(kim, name="long", at=AT)
    revoked = people.revoke_token(kim, long.view.id, at=AT + MINUTE)
    assert revoked.revoked_at == "2026-03-01T09:01:00.000000Z"
    assert revoked.status(AT) == "revoked"
    with pytest.raises(AuthenticationError):
        people.authenticate_token(long.token, at=AT + 2 * MINUTE)
    assert last(db).meta["reason"] == "revoked"
    with pytest.raises(ValidationError, match="already revoked"):
        people.revoke_token(kim, long.view.id, at=AT)
    with pytest.raises(UnknownReferenceError, match="no token"):
        people.revoke_token(kim, "zzzzzzzzzzzzzzzz", at=AT)
    later = AT + 61 * MINUTE
    assert {t.name: t.status(later) for t in people.list_tokens(kim)} == {"one hour": "expired", "long": "revoked"}


def test_a_whole_token_given_for_its_id_is_refused_and_never_logged(people, admin, db):
    issued = people.issue_token(admin, name="t", at=AT)
    count = len(entries(db))
    with pytest.raises(ValidationError, match="not a token id") as refused:
        people.revoke_token(admin, issued.token, at=AT)
    assert issued.token not in refused.value.diagnostics()
    assert len(entries(db)) == count
    assert people.list_tokens(admin)[0].revoked_at is None


def test_a_wrong_secret_for_a_known_token_is_audited_an_unknown_token_is_not(people, admin, db):
    add(people, admin, "kim", "analyst")
    issued = people.issue_token(people.authenticate_password("kim", PASSWORD, at=AT), name="t", at=AT)
    forged = issued.token[:-2] + ("AA" if not issued.token.endswith("AA") else "BB")
    with pytest.raises(AuthenticationError):
        people.authenticate_token(forged, at=AT)
    assert (last(db).meta["reason"], last(db).meta["token"]) == ("wrong secret", issued.view.id)
    count = len(entries(db))
    for junk in ("", "Bearer nonsense", "accord_zzzzzzzzzzzzzzzz_" + "A" * 43):
        with pytest.raises(AuthenticationError):
            people.authenticate_token(junk, at=AT)
    assert len(entries(db)) == count


def test_scopes_narrow_a_token_and_never_widen_it(people, admin):
    add(people, admin, "kim", "analyst")
    kim = people.authenticate_password("kim", PASSWORD, at=AT)
    issued = people.issue_token(kim, name="reader", scopes=["record.read", "world.read"], at=AT)
    principal = people.authenticate_token(issued.token, at=AT)
    assert principal.scopes == {Action.RECORD_READ, Action.WORLD_READ}
    People.authorize(principal, Action.RECORD_READ)
    with pytest.raises(PermissionDeniedError, match=r"not scoped for release.request"):
        People.authorize(principal, Action.RELEASE_REQUEST)
    with pytest.raises(ValidationError, match=r"roles do not allow release.approve"):
        people.issue_token(kim, name="more", scopes=["release.approve"], at=AT)
    with pytest.raises(ValidationError, match="unknown scope 'everything'"):
        people.issue_token(kim, name="more", scopes=["everything"], at=AT)
    with pytest.raises(ValidationError, match="at least one scope"):
        people.issue_token(kim, name="more", scopes=[], at=AT)


@pytest.mark.parametrize(
    ("kw", "problem"),
    [
        ({"name": " "}, "needs a name"),
        ({"name": "x", "lifetime": dt.timedelta(days=367)}, "at most 366 days"),
        ({"name": "x", "lifetime": dt.timedelta(0)}, "more than 0"),
    ],
)
def test_bad_token_requests_are_refused_and_audited(people, admin, db, kw, problem):
    with pytest.raises(ValidationError, match=problem):
        people.issue_token(admin, at=AT, **kw)
    assert (last(db).meta["action"], last(db).meta["outcome"]) == ("token.issue", "refused")
    assert people.list_tokens(admin) == []


def test_a_token_cannot_issue_tokens(people, admin):
    issued = people.issue_token(admin, name="t", at=AT)
    via_token = people.authenticate_token(issued.token, at=AT)
    with pytest.raises(PermissionDeniedError, match="a token cannot issue tokens"):
        people.issue_token(via_token, name="another", at=AT)


def test_other_peoples_tokens_need_tokens_manage(people, admin):
    add(people, admin, "kim", "analyst")
    add(people, admin, "lee", "analyst")
    kim = people.authenticate_password("kim", PASSWORD, at=AT)
    lee = people.authenticate_password("lee", PASSWORD, at=AT)
    issued = people.issue_token(kim, name="kim's", at=AT)
    with pytest.raises(PermissionDeniedError, match=r"tokens.manage"):
        people.list_tokens(lee, person_id="kim")
    with pytest.raises(PermissionDeniedError, match=r"tokens.manage"):
        people.revoke_token(lee, issued.view.id, at=AT)
    assert [t.id for t in people.list_tokens(admin, person_id="kim")] == [issued.view.id]
    assert [t.person_id for t in people.list_tokens(admin, person_id="*")] == ["kim"]
    assert people.revoke_token(admin, issued.view.id, at=AT).person_id == "kim"
    assert people.list_tokens(kim)[0].to_dict(AT)["status"] == "revoked"


# -- web sessions -----------------------------------------------------------------------


def test_a_session_with_its_csrf_token_acts_without_it_only_reads(people, admin, db):
    add(people, admin, "kim", "analyst")
    session = people.login("kim", PASSWORD, at=AT)
    assert session.expires_at == "2026-03-01T17:00:00.000000Z"
    assert session.session_id not in repr(session)
    assert last(db).meta["action"] == "session.start"

    full = people.authenticate_session(session.session_id, csrf_token=session.csrf_token, at=AT)
    assert (full.via, full.csrf_checked) == (Credential.SESSION, True)
    People.authorize(full, Action.RELEASE_REQUEST)

    reading = people.authenticate_session(session.session_id, csrf_token=None, at=AT)
    People.authorize(reading, Action.RECORD_READ)
    with pytest.raises(PermissionDeniedError, match="needs its CSRF token"):
        People.authorize(reading, Action.RELEASE_REQUEST)
    with pytest.raises(PermissionDeniedError, match="CSRF"):
        people.issue_token(reading, name="t", at=AT)
    log = raw_log(db)
    assert session.session_id.encode() not in log
    assert session.csrf_token.encode() not in log


def test_a_wrong_csrf_token_is_refused_and_audited(people, admin, db):
    add(people, admin, "kim", "analyst")
    kim, other = people.login("kim", PASSWORD, at=AT), people.login("admin", ADMIN_PASSWORD, at=AT)
    for wrong in (other.csrf_token, "", kim.csrf_token[:-1]):
        with pytest.raises(AuthenticationError):
            people.authenticate_session(kim.session_id, csrf_token=wrong, at=AT)
        assert (last(db).actor, last(db).meta["reason"]) == ("kim", "csrf mismatch")


def test_a_session_expires_and_ends_at_logout(people, admin, db):
    add(people, admin, "kim", "analyst")
    session = people.login("kim", PASSWORD, at=AT)
    later = AT + dt.timedelta(hours=8)
    with pytest.raises(AuthenticationError):
        people.authenticate_session(session.session_id, csrf_token=session.csrf_token, at=later)
    with db.transaction("read") as s:  # the expired session was removed
        assert SqlPeopleStore(s).end_sessions("kim") == 0

    again = people.login("kim", PASSWORD, at=AT)
    assert people.end_session(again.session_id, at=AT)
    assert last(db).meta["action"] == "session.end"
    assert not people.end_session(again.session_id, at=AT)
    assert not people.end_session("not a session id", at=AT)
    with pytest.raises(AuthenticationError):
        people.authenticate_session(again.session_id, csrf_token=again.csrf_token, at=AT)


def test_sessions_start_only_from_a_password(people, admin):
    token = people.authenticate_token(people.issue_token(admin, name="t", at=AT).token, at=AT)
    with pytest.raises(PermissionDeniedError, match="only from a password login"):
        people.start_session(token, at=AT)


# -- authorization and the log ----------------------------------------------------------


def test_authorize_names_what_is_missing(people, admin):
    add(people, admin, "kim", "analyst")
    kim = people.authenticate_password("kim", PASSWORD, at=AT)
    with pytest.raises(PermissionDeniedError, match=r"kim may not release.approve.*disclosure-officer") as denied:
        People.authorize(kim, Action.RELEASE_APPROVE)
    assert "security officer" in denied.value.hint
    People.authorize(admin, Action.PEOPLE_MANAGE)
    assert Principal(person=kim.person, via=Credential.PASSWORD).may(Action.RECORD_CREATE)


def test_the_audit_log_verifies_and_holds_no_secret(people, admin, db, node_home):
    add(people, admin, "kim", "analyst")
    session = people.login("kim", PASSWORD, at=AT)
    issued = people.issue_token(people.authenticate_password("kim", PASSWORD, at=AT), name="t", at=AT)
    fail(people, "kim", AT)
    log = raw_log(db)
    for secret in (PASSWORD, ADMIN_PASSWORD, issued.token, session.session_id, session.csrf_token):
        assert secret.encode() not in log
    with db.transaction("read") as s:
        assert b"$argon2" not in log
        assert SqlPeopleStore(s).get("kim").password_hash.startswith("$argon2id$")
    assert AuditLog(database=db, home=node_home).verify().entries == len(entries(db))
    assert FAST_POLICY.max_failures == 5
