"""The disclosure request store on SQLite and PostgreSQL: round trips, pages, and settling once.

Each test runs in one transaction rolled back at its end (a module shares a migrated
database per backend); each unit of work is a savepoint inside it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session

from accord.domain.disclosure import DisclosureKind, DisclosureRequest, DisclosureState
from accord.errors import StorageError, UnknownReferenceError, ValidationError
from accord.storage.sql import make_engine, migrate
from accord.storage.sql.disclosure_stores import SqlDisclosureStore
from tests.contract.conftest import SQL_BACKENDS
from tests.contract.support import sqlite_url

AT = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
K, S = DisclosureKind, DisclosureState


@pytest.fixture(scope="module", params=SQL_BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = sqlite_url(tmp_path_factory.mktemp("disclosures"))
    else:
        url = request.getfixturevalue("postgres_module_url")
    engine = make_engine(url)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as connection:
        outer = connection.begin()
        try:
            yield connection
        finally:
            outer.rollback()


@contextmanager
def unit(connection: Connection) -> Iterator[SqlDisclosureStore]:
    with Session(bind=connection, join_transaction_mode="create_savepoint") as session, session.begin():
        yield SqlDisclosureStore(session)


def request(n: int = 1, *, minutes: int = 0, **fields) -> DisclosureRequest:
    base = {
        "id": f"dr-{n}",
        "kind": K.RELEASE,
        "requester": "lee",
        "requested_at": AT + dt.timedelta(minutes=minutes),
        "record_id": "KOR-1",
        "party": "JPN",
    }
    return DisclosureRequest(**(base | fields))


CONSENT = request(
    9,
    kind=K.CONSENT,
    record_id=None,
    party="USA",
    details=(("holder", "JPN"), ("topic", "dprk-missile"), ("valid_from", "2026-03-01"), ("valid_until", "2026-06-30")),
)


@pytest.mark.parametrize(
    "value",
    [request(), request(on=dt.date(2017, 1, 1)), CONSENT],
    ids=["release", "release-on-a-date", "consent-by-topic"],
)
def test_a_request_reads_back_as_it_was_written(connection, value):
    with unit(connection) as store:
        store.add(value)
    with unit(connection) as store:
        assert store.get(value.id) == value
        assert store.get("dr-none") is None


def test_an_id_is_stored_once_and_only_pending_requests_are_added(connection):
    with unit(connection) as store:
        store.add(request())
        with pytest.raises(ValidationError, match="already stored"):
            store.add(request(party="USA"))
        with pytest.raises(ValidationError, match="only a pending request"):
            store.add(request(2).move(S.APPROVED, by="kim", at=AT))
    with unit(connection) as store:
        assert store.get("dr-1") == request()
        assert store.get("dr-2") is None


def test_settle_writes_a_decision_once(connection):
    with unit(connection) as store:
        store.add(request())
    approved = request().move(S.APPROVED, by="kim", at=AT + dt.timedelta(hours=1), reason="ok")
    rejected = request().move(S.REJECTED, by="park", at=AT + dt.timedelta(hours=2), reason="no")
    with unit(connection) as store:
        assert store.settle(approved) is True
        assert store.settle(rejected) is False  # decided already: nothing written
        assert store.settle(request(7).move(S.APPROVED, by="kim", at=AT)) is False  # not stored
        with pytest.raises(ValidationError, match="still pending"):
            store.settle(request())
    with unit(connection) as store:
        assert store.get("dr-1") == approved
        store.set_outcome("dr-1", "KOR-release-1")
        assert store.get("dr-1") == dataclasses.replace(approved, outcome="KOR-release-1")


def test_only_an_approved_request_gets_an_outcome(connection):
    with unit(connection) as store:
        store.add(request())
        with pytest.raises(ValidationError, match="not an approved request"):
            store.set_outcome("dr-1", "KOR-release-1")
        with pytest.raises(ValidationError, match="not an approved request"):
            store.set_outcome("dr-9", "KOR-release-1")


def test_list_pages_in_the_order_asked_and_filters(connection):
    # Stored out of order: listing goes by the time asked, then by id.
    values = [request(3, minutes=2), request(1, minutes=0), request(2, minutes=1), CONSENT]
    with unit(connection) as store:
        for value in values:
            store.add(value)
        store.settle(request(2, minutes=1).move(S.WITHDRAWN, by="lee", at=AT))
    with unit(connection) as store:
        assert [r.id for r in store.list()] == ["dr-1", "dr-9", "dr-2", "dr-3"]
        assert [r.id for r in store.list(limit=2)] == ["dr-1", "dr-9"]
        assert [r.id for r in store.list(after="dr-9", limit=2)] == ["dr-2", "dr-3"]
        assert [r.id for r in store.list(after="dr-3")] == []
        assert [r.id for r in store.list(state=S.PENDING)] == ["dr-1", "dr-9", "dr-3"]
        assert [r.id for r in store.list(kind=K.CONSENT)] == ["dr-9"]
        assert [r.id for r in store.list(state=S.WITHDRAWN, kind=K.RELEASE)] == ["dr-2"]
        with pytest.raises(UnknownReferenceError, match="no disclosure request dr-404"):
            store.list(after="dr-404")
        with pytest.raises(ValidationError, match="a page holds"):
            store.list(limit=0)


def test_a_row_changed_outside_accord_does_not_read_back(connection):
    with unit(connection) as store:
        store.add(request())
    connection.execute(text("UPDATE disclosure_requests SET details = '[1]' WHERE id = 'dr-1'"))
    with unit(connection) as store, pytest.raises(StorageError, match="no longer reads back"):
        store.get("dr-1")
