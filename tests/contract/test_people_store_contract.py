"""The PeopleStore contract, the same for the memory, SQLite and PostgreSQL stores; then, on
real databases, races between transactions and rows changed behind Accord's back."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, replace

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError as SqlIntegrityError
from sqlalchemy.orm import Session

from accord.crypto.passwords import UNSAFE_FAST_PASSWORDS, hash_password
from accord.domain.person import Person, Role
from accord.errors import StorageError, UnknownReferenceError, ValidationError
from accord.storage.memory import InMemoryPeopleStore
from accord.storage.people import Account, ApiToken, WebSession
from accord.storage.ports import PeopleStore
from accord.storage.sql import SqlPeopleStore
from tests.contract.conftest import _rolled_back, _unit_session
from tests.contract.test_node_sql_contract import migrated, race, transaction

T0 = "2026-03-01T09:00:00.000000Z"
T1 = "2026-03-01T09:15:00.000000Z"
T2 = "2026-03-01T10:00:00.000000Z"
HASH = hash_password("correct horse battery", UNSAFE_FAST_PASSWORDS)


@dataclass
class People:
    name: str
    unit: Callable[[], AbstractContextManager[PeopleStore]]


@pytest.fixture
def people(_store_engine: Engine | None) -> Iterator[People]:
    if _store_engine is None:
        store = InMemoryPeopleStore()
        yield People("memory", lambda: nullcontext(store))
        return
    with _rolled_back(_store_engine) as connection:

        @contextmanager
        def unit() -> Iterator[PeopleStore]:
            with _unit_session(connection) as session:
                yield SqlPeopleStore(session)

        yield People(_store_engine.dialect.name, unit)


def person(person_id: str = "kim", **kw: object) -> Person:
    base: dict[str, object] = {
        "id": person_id,
        "party": "KOR",
        "name": "Kim Min-jun",
        "clearance": "KOR/MIL-II",
        "need_to_know": frozenset({"dprk-missile", "dprk-nuclear"}),
        "roles": frozenset({Role.ANALYST}),
    }
    return Person(**(base | kw))  # type: ignore[arg-type]


def account(person_id: str = "kim", **kw: object) -> Account:
    return Account(person=person(person_id, **kw), created_at=T0, updated_at=T0, password_hash=HASH)


def token(token_id: str = "aaaaaaaaaaaaaaaa", person_id: str = "kim", **kw: object) -> ApiToken:  # noqa: S107
    base: dict[str, object] = {
        "id": token_id,
        "person_id": person_id,
        "name": "scripts",
        "digest": "d" * 64,
        "scopes": None,
        "created_at": T0,
        "expires_at": T2,
    }
    return ApiToken(**(base | kw))  # type: ignore[arg-type]


def web(key: str = "e" * 64, person_id: str = "kim", expires_at: str = T1) -> WebSession:
    return WebSession(key=key, person_id=person_id, created_at=T0, expires_at=expires_at)


def test_accounts_read_back_whole_and_list_by_id(people: People):
    kept = [
        account("lee", roles=frozenset()),
        account("kim"),
        account("park", clearance=None, need_to_know=frozenset()),
    ]
    with people.unit() as store:
        assert store.count() == 0
        for a in kept:
            store.add(a)
    with people.unit() as store:
        assert store.get("kim") == kept[1]
        assert store.get("nobody") is None
        assert store.count() == 3
        assert [a.id for a in store.list()] == ["kim", "lee", "park"]
        assert [a.id for a in store.list(after="kim", limit=1)] == ["lee"]
        assert [a.id for a in store.list(after="lee")] == ["park"]
        assert store.list(after="zzz") == []
        assert store.get("park").person.clearance is None
        with pytest.raises(ValidationError, match="a page holds 1 to"):
            store.list(limit=0)


def test_a_taken_id_or_malformed_account_is_refused_and_the_unit_stays_usable(people: People):
    with people.unit() as store:
        store.add(account("kim"))
        with pytest.raises(ValidationError, match="person kim is already stored"):
            store.add(account("kim", name="Someone Else"))
        with pytest.raises(ValidationError, match="must be an Argon2 hash"):
            store.add(replace(account("lee"), password_hash="plain text"))  # noqa: S106
        with pytest.raises(ValidationError, match="created_at must be a UTC time"):
            store.add(replace(account("lee"), created_at="2026-03-01T09:00:00Z"))
        store.add(account("lee"))
    with people.unit() as store:
        assert store.get("kim").person.name == "Kim Min-jun"
        assert [a.id for a in store.list()] == ["kim", "lee"]


def test_update_replaces_roles_topics_clearance_and_name_but_never_the_party(people: People):
    with people.unit() as store:
        store.add(account("kim"))
        changed = person(
            "kim", name="Kim M.", clearance="KOR/MIL-I", need_to_know=frozenset({"t"}), roles=frozenset(Role)
        )
        assert store.update(changed, at=T1) == Account(person=changed, created_at=T0, updated_at=T1, password_hash=HASH)
        with pytest.raises(ValidationError, match="party cannot change to JPN"):
            store.update(person("kim", party="JPN", clearance=None), at=T1)
        with pytest.raises(UnknownReferenceError, match="no person nobody is stored"):
            store.update(person("nobody"), at=T1)
    with people.unit() as store:
        assert store.get("kim").person == changed
        cleared = person("kim", clearance=None, need_to_know=frozenset(), roles=frozenset())
        assert store.update(cleared, at=T2).person == cleared
    with people.unit() as store:
        assert store.get("kim").person == cleared


def test_failures_count_up_lock_out_and_clear(people: People):
    with people.unit() as store:
        store.add(account("kim"))
        assert [store.add_failure("kim") for _ in range(3)] == [1, 2, 3]
        store.lock_out("kim", until=T1)
    with people.unit() as store:
        kept = store.get("kim")
        assert (kept.failures, kept.locked_out_until, kept.locked) == (0, T1, False)
        assert store.add_failure("kim") == 1
        store.clear_failures("kim")
        kept = store.get("kim")
        assert (kept.failures, kept.locked_out_until) == (0, None)
        for call in (lambda: store.add_failure("nobody"), lambda: store.clear_failures("nobody")):
            with pytest.raises(UnknownReferenceError, match="no person nobody"):
                call()


def test_locking_and_unlocking(people: People):
    with people.unit() as store:
        store.add(account("kim", roles=frozenset({Role.ADMINISTRATOR})))
        store.add(account("lee", roles=frozenset({Role.ADMINISTRATOR, Role.ANALYST})))
        store.add(account("park", roles=frozenset({Role.ANALYST})))
        assert store.active_holders(Role.ADMINISTRATOR) == ["kim", "lee"]
        store.add_failure("lee")
        store.lock_out("lee", until=T2)
        locked = store.set_locked("lee", locked=True, at=T1)
        assert (locked.locked, locked.updated_at, locked.locked_out_until) == (True, T1, T2)
        assert store.active_holders(Role.ADMINISTRATOR) == ["kim"]
        assert store.active_holders(Role.SECURITY_OFFICER) == []
    with people.unit() as store:
        unlocked = store.set_locked("lee", locked=False, at=T2)
        assert (unlocked.locked, unlocked.failures, unlocked.locked_out_until) == (False, 0, None)
        assert store.active_holders(Role.ADMINISTRATOR) == ["kim", "lee"]
        with pytest.raises(UnknownReferenceError):
            store.set_locked("nobody", locked=True, at=T2)


def test_a_new_password_hash_replaces_the_old_one(people: People):
    other = hash_password("another long password", UNSAFE_FAST_PASSWORDS)
    with people.unit() as store:
        store.add(replace(account("kim"), password_hash=None))
        assert store.get("kim").password_hash is None
        store.set_password("kim", other, at=T1)
        with pytest.raises(ValidationError, match="Argon2"):
            store.set_password("kim", "secret", at=T1)
        with pytest.raises(UnknownReferenceError):
            store.set_password("nobody", other, at=T1)
    with people.unit() as store:
        assert (store.get("kim").password_hash, store.get("kim").updated_at) == (other, T1)
        assert HASH not in repr(store.get("kim"))


def test_the_first_person_is_claimed_once(people: People):
    with people.unit() as store:
        store.hold()  # nothing to hold yet
        store.claim_first("kim", at=T0)
        store.add(account("kim"))
        with pytest.raises(ValidationError, match="already has people"):
            store.claim_first("lee", at=T0)
        store.hold()


def test_the_first_person_cannot_be_claimed_once_there_are_people(people: People):
    with people.unit() as store:
        store.add(account("kim"))
        with pytest.raises(ValidationError, match="already has people"):
            store.claim_first("lee", at=T0)


def test_tokens_read_back_with_scopes_and_are_revoked_once(people: People):
    scoped = token("bbbbbbbbbbbbbbbb", scopes=frozenset({"record.read", "audit.read"}), created_at=T1)
    with people.unit() as store:
        store.add(account("kim"))
        store.add(account("lee"))
        store.add_token(scoped)
        store.add_token(token())
        store.add_token(token("cccccccccccccccc", person_id="lee"))
        with pytest.raises(ValidationError, match="token aaaaaaaaaaaaaaaa is already stored"):
            store.add_token(token())
        with pytest.raises(UnknownReferenceError, match="no person nobody"):
            store.add_token(token("dddddddddddddddd", person_id="nobody"))
        with pytest.raises(ValidationError, match="SHA-256 digest"):
            store.add_token(token("dddddddddddddddd", digest="short"))
        with pytest.raises(ValidationError, match="one or more action names"):
            store.add_token(token("dddddddddddddddd", scopes=frozenset()))
    with people.unit() as store:
        assert store.token("bbbbbbbbbbbbbbbb") == scoped
        assert store.token("aaaaaaaaaaaaaaaa").scopes is None
        assert store.token("zzzzzzzzzzzzzzzz") is None
        assert [t.id for t in store.tokens(person_id="kim")] == ["aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb"]
        assert [t.id for t in store.tokens()] == ["aaaaaaaaaaaaaaaa", "cccccccccccccccc", "bbbbbbbbbbbbbbbb"]
        assert store.revoke_token("aaaaaaaaaaaaaaaa", at=T1).revoked_at == T1
        with pytest.raises(ValidationError, match="already revoked at " + T1):
            store.revoke_token("aaaaaaaaaaaaaaaa", at=T2)
        with pytest.raises(UnknownReferenceError, match="no token zzzzzzzzzzzzzzzz"):
            store.revoke_token("zzzzzzzzzzzzzzzz", at=T2)
    with people.unit() as store:
        assert store.token("aaaaaaaaaaaaaaaa").revoked_at == T1
        assert "d" * 64 not in repr(store.token("aaaaaaaaaaaaaaaa"))


def test_sessions_are_kept_by_key_ended_and_purged(people: People):
    with people.unit() as store:
        store.add(account("kim"))
        store.add(account("lee"))
        store.add_session(web("a" * 64, expires_at=T1))
        store.add_session(web("b" * 64, expires_at=T2))
        store.add_session(web("c" * 64, person_id="lee", expires_at=T2))
        with pytest.raises(ValidationError, match="session with this key is already stored"):
            store.add_session(web("a" * 64))
        with pytest.raises(UnknownReferenceError):
            store.add_session(web("d" * 64, person_id="nobody"))
        with pytest.raises(ValidationError, match="SHA-256 digest of its id"):
            store.add_session(web("raw-session-id"))
    with people.unit() as store:
        assert store.session("a" * 64) == web("a" * 64, expires_at=T1)
        assert store.session("f" * 64) is None
        assert store.remove_expired_sessions(now=T1) == 1
        assert store.session("a" * 64) is None
        assert store.end_session("c" * 64)
        assert not store.end_session("c" * 64)
        store.add_session(web("d" * 64, expires_at=T2))
        assert store.end_sessions("kim") == 2
        assert store.end_sessions("kim") == 0
        assert store.remove_expired_sessions(now=T2) == 0


# -- real databases: every transaction commits ----------------------------------------


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    with migrated(database_url) as engine:
        yield engine


def test_rows_changed_outside_accord_are_reported(engine: Engine):
    with transaction(engine) as session:
        store = SqlPeopleStore(session)
        store.add(account("kim"))
        store.add_token(token())
    with transaction(engine) as session:
        session.execute(text("UPDATE people SET clearance = 'JPN/HI' WHERE id = 'kim'"))
        session.execute(text("UPDATE api_tokens SET created_at = 'yesterday'"))
    with transaction(engine) as session:
        store = SqlPeopleStore(session)
        with pytest.raises(StorageError, match=r"the stored person kim no longer reads back: .*own scheme"):
            store.get("kim")
        with pytest.raises(StorageError, match="the stored token aaaaaaaaaaaaaaaa no longer reads back"):
            store.token("aaaaaaaaaaaaaaaa")


def test_the_schema_refuses_unknown_roles_negative_counts_and_a_second_guard_row(engine: Engine):
    with transaction(engine) as session:
        SqlPeopleStore(session).add(account("kim"))
    for statement in (
        "INSERT INTO person_roles (person_id, role) VALUES ('kim', 'general')",
        "UPDATE people SET failures = -1",
        "INSERT INTO people_guard (id, first_person, claimed_at, changes) VALUES (2, 'kim', 'x', 0)",
    ):
        with pytest.raises(SqlIntegrityError), transaction(engine) as session:
            session.execute(text(statement))


@pytest.mark.postgres
def test_two_bootstraps_at_once_make_one_first_person(pg_engine_people: Engine):
    def claim(person_id: str) -> Callable[[Session], object]:
        def run(session: Session) -> object:
            store = SqlPeopleStore(session)
            store.claim_first(person_id, at=T0)
            store.add(account(person_id, roles=frozenset({Role.ADMINISTRATOR})))
            return person_id

        return run

    outcome = race(pg_engine_people, claim("kim"), claim("lee"))
    assert isinstance(outcome, ValidationError), outcome
    assert "already has people" in outcome.message
    with transaction(pg_engine_people) as session:
        assert [a.id for a in SqlPeopleStore(session).list()] == ["kim"]


@pytest.mark.postgres
def test_failures_on_two_workers_at_once_both_count(pg_engine_people: Engine):
    with transaction(pg_engine_people) as session:
        SqlPeopleStore(session).add(account("kim"))
    outcome = race(
        pg_engine_people,
        lambda s: SqlPeopleStore(s).add_failure("kim"),
        lambda s: SqlPeopleStore(s).add_failure("kim"),
    )
    assert outcome == 2
    with transaction(pg_engine_people) as session:
        assert SqlPeopleStore(session).get("kim").failures == 2


@pytest.mark.postgres
def test_holding_the_people_lock_queues_the_next_holder(pg_engine_people: Engine):
    with transaction(pg_engine_people) as session:
        store = SqlPeopleStore(session)
        store.claim_first("kim", at=T0)
        store.add(account("kim", roles=frozenset({Role.ADMINISTRATOR})))
        store.add(account("lee", roles=frozenset({Role.ADMINISTRATOR})))

    def demote(person_id: str) -> Callable[[Session], object]:
        def run(session: Session) -> object:
            store = SqlPeopleStore(session)
            store.hold()
            holders = store.active_holders(Role.ADMINISTRATOR)
            if holders == [person_id]:
                return "refused"
            store.update(person(person_id, roles=frozenset()), at=T1)
            return holders

        return run

    # Without the lock both would see two administrators and both would demote.
    assert race(pg_engine_people, demote("kim"), demote("lee")) == "refused"
    with transaction(pg_engine_people) as session:
        assert SqlPeopleStore(session).active_holders(Role.ADMINISTRATOR) == ["lee"]


@pytest.fixture
def pg_engine_people(postgres_url: str) -> Iterator[Engine]:
    with migrated(postgres_url) as engine:
        yield engine


def test_a_token_is_read_with_its_holder_in_one_call(people: People):
    with people.unit() as store:
        store.add(account("kim"))
        store.add(account("lee"))
        store.add_token(token())
        store.add_token(token("cccccccccccccccc", person_id="lee"))
    with people.unit() as store:
        found, holder = store.token_holder("aaaaaaaaaaaaaaaa")
        assert found == store.token("aaaaaaaaaaaaaaaa")
        assert holder == store.get("kim")
        assert store.token_holder("cccccccccccccccc") == (store.token("cccccccccccccccc"), store.get("lee"))
        assert store.token_holder("zzzzzzzzzzzzzzzz") is None
