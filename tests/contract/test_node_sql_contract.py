"""The node stores on real SQLite and PostgreSQL databases: concurrency, interruptions,
and rows changed behind Accord's back. Every transaction here commits for real."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from accord.audit.entry import AuditEntry
from accord.audit.merkle import leaf_hash
from accord.errors import StorageError, ValidationError
from accord.storage import ReleaseState
from accord.storage.sql import (
    SqlAuditStore,
    SqlObligationStore,
    SqlRecordStore,
    SqlReleaseStore,
    make_engine,
    migrate,
)
from tests.contract.holdings import (
    AT,
    LATER,
    acknowledgement,
    entry_for,
    inline,
    recall,
    record,
    release,
    report,
    result,
    signature,
)
from tests.contract.support import InjectedError, failing_at_insert_into

WORKERS, APPENDS = 4, 50


@contextmanager
def migrated(url: str) -> Iterator[Engine]:
    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    with migrated(database_url) as engine:
        yield engine


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    with Session(engine) as session, session.begin():
        yield session


def test_concurrent_appends_number_entries_without_gaps_or_duplicates(engine: Engine):
    # Four workers append at once, each entry in its own transaction; every fifth
    # transaction rolls back after appending, and its number must be handed out again.
    start = threading.Barrier(WORKERS)
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            start.wait()
            for i in range(APPENDS):
                with Session(engine) as session:
                    session.begin()
                    SqlAuditStore(session).append(entry_for(actor=f"worker-{worker}"))
                    if i % 5 == 4:
                        session.rollback()
                    else:
                        session.commit()
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors

    committed = WORKERS * APPENDS * 4 // 5
    with transaction(engine) as session:
        audit = SqlAuditStore(session)
        stored = audit.entries()
        assert audit.count() == len(stored) == committed
        seqs = [row for (row,) in session.execute(text("SELECT seq FROM audit_entries ORDER BY seq"))]
        assert seqs == list(range(committed))
        entries = [AuditEntry.from_bytes(data) for data in stored]
        assert [e.seq for e in entries] == seqs
        assert sorted({e.actor for e in entries}) == [f"worker-{w}" for w in range(WORKERS)]
        assert audit.leaf_hashes_packed() == b"".join(leaf_hash(data) for data in stored)


def pid_waits_on_a_lock(engine: Engine, pid: int) -> bool:
    with engine.connect() as connection:
        query = text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid")
        return connection.execute(query, {"pid": pid}).scalar() == "Lock"


def race(engine: Engine, first: Callable[[Session], object], second: Callable[[Session], object]) -> object:
    """Run ``first`` in a transaction, start ``second`` in another until it waits on the
    first's locks, then commit the first; return what the second returned or raised."""
    outcome: dict[str, object] = {}
    pid: list[int] = []

    def run() -> None:
        try:
            with transaction(engine) as session:
                pid.append(session.execute(text("SELECT pg_backend_pid()")).scalar_one())
                outcome["value"] = second(session)
        except Exception as e:  # noqa: BLE001 - handed to the test
            outcome["value"] = e

    with transaction(engine) as session:
        first(session)
        thread = threading.Thread(target=run)
        thread.start()
        deadline = time.monotonic() + 10
        while not (pid and pid_waits_on_a_lock(engine, pid[0])):
            assert thread.is_alive(), f"the second transaction did not wait: {outcome}"
            assert time.monotonic() < deadline, "the second transaction never waited for the first"
            time.sleep(0.005)
    thread.join(timeout=10)
    return outcome["value"]


@pytest.fixture
def pg_engine(postgres_url: str) -> Iterator[Engine]:
    with migrated(postgres_url) as engine:
        yield engine


# Races between two transactions, on PostgreSQL (SQLite has a single writer: the
# second would wait at BEGIN's first write, never in the middle of a store's call).


@pytest.mark.postgres
def test_a_message_received_by_two_workers_at_once_is_stored_once(pg_engine: Engine):
    received = release("rel-in", state=ReleaseState.RECEIVED, message_id="m-1")
    again = release("rel-in-2", state=ReleaseState.RECEIVED, message_id="m-1")

    outcome = race(
        pg_engine,
        lambda s: SqlReleaseStore(s).add_received(received),
        lambda s: (SqlReleaseStore(s).add_received(again), SqlReleaseStore(s).get("rel-in")),
    )

    assert outcome == (False, received)  # the loser's transaction still works after its refusal
    with transaction(pg_engine) as session:
        assert [r.id for r in SqlReleaseStore(session).list()] == ["rel-in"]


@pytest.mark.postgres
def test_racing_writers_get_the_stores_own_refusals(pg_engine: Engine):
    with transaction(pg_engine) as session:
        SqlReleaseStore(session).add(release("rel-1", state=ReleaseState.QUEUED))
        SqlObligationStore(session).add_recall(recall("k1"), signature("k1"))
        SqlObligationStore(session).add_report(report("p1"), signature("p1"))

    def move(session: Session) -> object:
        return SqlReleaseStore(session).set_state("rel-1", ReleaseState.DELIVERED, at=LATER)

    def add(session: Session) -> None:
        SqlRecordStore(session).add(record(), added_at=AT)

    def ack(session: Session) -> object:
        return SqlObligationStore(session).acknowledge(acknowledgement("k1", "JPN"), signature("ack"))

    def close(session: Session) -> object:
        return SqlObligationStore(session).close_report(result("p1"), signature("result"))

    for action, problem in (
        (add, "record r1 is already stored"),
        (move, "rel-1 is delivered; it cannot become delivered"),
        (ack, "already acknowledged by JPN"),
        (close, "p1 is already closed"),
    ):
        outcome = race(pg_engine, action, action)
        assert isinstance(outcome, ValidationError), outcome
        assert problem in outcome.message

    with transaction(pg_engine) as session:
        assert SqlReleaseStore(session).get("rel-1").state is ReleaseState.DELIVERED
        assert len(SqlObligationStore(session).recall("k1").acknowledgements) == 1
        assert SqlObligationStore(session).report("p1").result.signature == signature("result")
        assert SqlRecordStore(session).exists("r1")


# Interruptions and tampering, on both databases.


def test_an_add_interrupted_half_way_writes_nothing_and_the_transaction_goes_on(engine: Engine):
    with transaction(engine) as session:
        records, releases = SqlRecordStore(session), SqlReleaseStore(session)
        with failing_at_insert_into(engine, "record_bodies") as writes, pytest.raises(InjectedError):
            records.add(record(), added_at=AT, bodies={"annex": inline()})
        assert writes  # the record, its topics and portions had been written
        with failing_at_insert_into(engine, "release_agreements"), pytest.raises(InjectedError):
            releases.add_received(release("rel-in", state=ReleaseState.RECEIVED, message_id="m-1"))
        assert not records.exists("r1")
        assert releases.by_message("m-1") is None
        records.add(record(), added_at=AT)
        assert releases.add_received(release("rel-in", state=ReleaseState.RECEIVED, message_id="m-1")) is True

    with transaction(engine) as session:
        assert SqlRecordStore(session).get("r1").record == record()
        assert session.execute(text("SELECT value FROM counters WHERE name = 'records'")).scalar() == 1


def test_rows_changed_outside_accord_are_reported_not_trusted(engine: Engine):
    with transaction(engine) as session:
        SqlRecordStore(session).add(record(), added_at=AT)
        SqlObligationStore(session).add_recall(recall("k1"), signature("k1"))
        SqlAuditStore(session).append(entry_for())
    with transaction(engine) as session:
        session.execute(text("DELETE FROM portion_rel_to"))
        session.execute(text("DELETE FROM record_portions"))
        session.execute(text("UPDATE recalls SET document = :d"), {"d": recall("k1").to_dict().__repr__().encode()})
        session.execute(text("DELETE FROM counters WHERE name = 'audit_entries'"))

    with transaction(engine) as session:
        with pytest.raises(StorageError, match="record r1 no longer reads back: record r1 has no portions"):
            SqlRecordStore(session).get("r1")
        with pytest.raises(StorageError, match="row of recalls k1 no longer reads back") as unreadable:
            SqlObligationStore(session).recall("k1")
        assert "changed outside Accord" in unreadable.value.diagnostics()
        with pytest.raises(StorageError, match="no 'audit_entries' counter"):
            SqlAuditStore(session).append(entry_for())
        with pytest.raises(StorageError, match="no 'audit_entries' counter"):
            SqlAuditStore(session).count()
