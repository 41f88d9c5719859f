"""The FederationStore contract on SQLite and PostgreSQL: peers, outbox order, receipts, seen messages."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import pytest
from sqlalchemy import Engine, text

from accord.errors import StorageError, UnknownReferenceError, ValidationError
from accord.storage.federation import OutboxItem, OutboxState, PinnedPeer, Receipt, SeenMessage
from accord.storage.sql import SqlFederationStore, make_engine, migrate
from tests.contract.conftest import SQL_BACKENDS, _rolled_back, _unit_session
from tests.contract.support import sqlite_url

T0 = "2026-03-01T09:00:00.000000Z"
T1 = "2026-03-01T09:15:00.000000Z"
T2 = "2026-03-01T10:00:00.000000Z"

Unit = Callable[[], AbstractContextManager[SqlFederationStore]]


@pytest.fixture(scope="module", params=SQL_BACKENDS)
def _engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = sqlite_url(tmp_path_factory.mktemp("federation"))
    else:
        url = request.getfixturevalue("postgres_module_url")
    engine = make_engine(url)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def unit(_engine: Engine) -> Iterator[Unit]:
    with _rolled_back(_engine) as connection:

        @contextmanager
        def make() -> Iterator[SqlFederationStore]:
            with _unit_session(connection) as session:
                yield SqlFederationStore(session)

        make.connection = connection  # type: ignore[attr-defined]
        yield make


def peer(party: str = "JPN", **kw: object) -> PinnedPeer:
    base: dict[str, object] = {
        "party": party,
        "url": "https://jpn.example",
        "descriptor": b'{"format":"accord.peer-descriptor/1"}',
        "fingerprint": "a" * 64,
        "pinned_at": T0,
        "updated_at": T0,
    }
    return PinnedPeer(**(base | kw))  # type: ignore[arg-type]


def item(item_id: str, rank: int = 3, peer_party: str = "JPN", **kw: object) -> OutboxItem:
    base: dict[str, object] = {
        "id": item_id,
        "peer": peer_party,
        "type": "release",
        "rank": rank,
        "envelope": item_id.encode(),
        "created_at": T0,
        "next_attempt_at": T0,
    }
    return OutboxItem(**(base | kw))  # type: ignore[arg-type]


def test_peers_pin_replace_list_remove(unit):
    with unit() as store:
        store.add_peer(peer())
        store.add_peer(peer("USA"))
        with pytest.raises(ValidationError, match="JPN"):
            store.add_peer(peer())
    with unit() as store:
        store.replace_peer(peer(url="", fingerprint="b" * 64, updated_at=T1, pinned_at=T1))
        got = store.get_peer("JPN")
        assert got is not None
        assert (got.url, got.fingerprint, got.pinned_at, got.updated_at) == ("", "b" * 64, T0, T1)
        assert [p.party for p in store.peers()] == ["JPN", "USA"]
        assert store.remove_peer("USA") is True
        assert store.remove_peer("USA") is False
        assert store.get_peer("USA") is None
        with pytest.raises(UnknownReferenceError):
            store.replace_peer(peer("CHN"))


def test_outbox_order_is_precedence_then_queue_order(unit):
    with unit() as store:
        for item_id, rank in [("r1", 3), ("p1", 2), ("r2", 3), ("f1", 0), ("i1", 1), ("f2", 0)]:
            stored = store.enqueue(item(item_id, rank))
            assert stored.seq is not None
        store.enqueue(item("other", 0, peer_party="USA"))
        with pytest.raises(ValidationError):
            store.enqueue(item("r1"))
    with unit() as store:
        assert [i.id for i in store.pending("JPN")] == ["f1", "f2", "i1", "p1", "r1", "r2"]
        assert [i.id for i in store.pending("JPN", limit=2)] == ["f1", "f2"]


def test_attempts_schedule_and_settling(unit):
    with unit() as store:
        store.enqueue(item("a"))
        store.enqueue(item("b"))
        store.record_attempt("a", next_attempt_at=T2, error="peer JPN is unreachable")
        assert [i.id for i in store.pending("JPN", due_at=T1)] == ["b"]
        assert [i.id for i in store.pending("JPN", due_at=T2)] == ["a", "b"]
        got = store.item("a")
        assert got is not None
        assert (got.attempts, got.next_attempt_at, got.last_error) == (1, T2, "peer JPN is unreachable")
        store.settle("b", OutboxState.DELIVERED, at=T1)
        assert [i.id for i in store.pending("JPN")] == ["a"]
        store.settle("a", OutboxState.SENT, at=T1)
        store.reopen("a", at=T2)
        assert [i.id for i in store.pending("JPN")] == ["a"]
        with pytest.raises(UnknownReferenceError):
            store.settle("nope", OutboxState.SENT, at=T1)
        with pytest.raises(UnknownReferenceError):
            store.record_attempt("nope", next_attempt_at=T1, error=None)
        with pytest.raises(ValidationError):
            store.pending("JPN", due_at="yesterday")


def test_created_since_returns_every_state(unit):
    with unit() as store:
        store.enqueue(item("old", created_at=T0))
        store.enqueue(item("new", created_at=T2))
        store.settle("new", OutboxState.DELIVERED, at=T2)
        assert [i.id for i in store.created_since("JPN", T1)] == ["new"]


def test_status_per_peer(unit):
    with unit() as store:
        store.add_peer(peer())
        store.add_peer(peer("USA"))
        store.enqueue(item("f", 0))
        store.enqueue(item("r", 3, created_at=T1, next_attempt_at=T2))
        store.enqueue(item("d", 3))
        store.settle("d", OutboxState.DELIVERED, at=T1)
        store.record_attempt("r", next_attempt_at=T2, error="down")
        store.add_receipt(receipt("d"))
        statuses = {s.peer: s for s in store.statuses()}
    assert set(statuses) == {"JPN", "USA"}
    jpn = statuses["JPN"]
    assert (jpn.pending, jpn.pending_by_rank, jpn.delivered, jpn.refused) == (2, (1, 0, 0, 1), 1, 0)
    assert (jpn.oldest_pending, jpn.next_attempt_at, jpn.last_error, jpn.last_receipt_at) == (T0, T0, "down", T1)
    assert statuses["USA"].pending == 0


def receipt(message_id: str) -> Receipt:
    return Receipt(
        message_id=message_id, peer="JPN", receipt_id="r-" + message_id, outcome="accepted", envelope=b"{}",
        received_at=T1,
    )  # fmt: skip


def test_receipts_are_kept_once(unit):
    with unit() as store:
        assert store.add_receipt(receipt("m1")) is True
        assert store.add_receipt(receipt("m1")) is False
        kept = store.receipt_for("m1")
        assert kept is not None
        assert kept.receipt_id == "r-m1"
        assert store.receipt_for("m2") is None


def test_seen_messages_refuse_a_second_time(unit):
    seen = SeenMessage(
        id="m1", sender="KOR", type="release", digest="c" * 64, received_at=T0, outcome="accepted", receipt=b"{}"
    )
    with unit() as store:
        store.add_seen(seen)
        with pytest.raises(ValidationError):
            store.add_seen(seen)
        assert store.seen("m1") == seen
        assert store.seen("m2") is None


def test_batch_forms_write_all_or_nothing(unit):
    def seen(message_id: str) -> SeenMessage:
        return SeenMessage(
            id=message_id, sender="KOR", type="release", digest="c" * 64, received_at=T0, outcome="accepted"
        )

    with unit() as store:
        store.enqueue_many([item("a"), item("b", rank=0)])
        with pytest.raises(ValidationError, match="a"):
            store.enqueue_many([item("c"), item("a")])  # one known id refuses the batch
        assert [i.id for i in store.pending("JPN")] == ["b", "a"]
        assert set(store.items(["a", "c", "x"])) == {"a"}
        store.settle_many(["a", "b"], OutboxState.DELIVERED, at=T1)
        assert store.pending("JPN") == []
        with pytest.raises(UnknownReferenceError):
            store.settle_many(["a", "nope"], OutboxState.DELIVERED, at=T1)
        assert store.add_receipts([receipt("a"), receipt("b"), receipt("a")]) == [True, True, False]
        assert store.add_receipts([receipt("b")]) == [False]
        assert store.receipt_for("b") is not None
        store.add_seen_many([seen("m1"), seen("m2")])
        with pytest.raises(ValidationError):
            store.add_seen_many([seen("m3"), seen("m1")])
        with pytest.raises(ValidationError):
            store.add_seen_many([seen("m4"), seen("m4")])
        assert store.seen_ids(["m1", "m2", "m3", "m4"]) == {"m1", "m2"}


def test_values_check_their_shape():
    with pytest.raises(ValidationError):
        item("x", rank=4)
    with pytest.raises(ValidationError):
        item("x", created_at="2026-03-01")
    with pytest.raises(ValidationError):
        peer(fingerprint="nope")
    with pytest.raises(ValidationError):
        SeenMessage(id="m", sender="KOR", type="release", digest="x", received_at=T0, outcome="accepted")


def test_a_row_changed_outside_accord_is_a_storage_error(unit):
    with unit() as store:
        store.enqueue(item("a"))
    unit.connection.execute(text("UPDATE outbox SET next_attempt_at = 'soon' WHERE id = 'a'"))
    with unit() as store, pytest.raises(StorageError, match="outbox item a"):
        store.item("a")
