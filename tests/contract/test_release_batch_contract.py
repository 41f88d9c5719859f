"""The release store's batch methods the services use, the same on SQLite and PostgreSQL.

``add_received_many`` (the inbound batch stores a delivery at once), ``stored_ids`` (it
looks the ids up first), ``set_states`` (the outbox moves its releases along) and
``sealed_to_queue`` / ``flash_sealed_after`` (the outbox sweep and the FLASH lane's
watch) exist on the SQL store only; each must answer as its one-at-a-time form does, refuse what
that form refuses with the same clear error, and leave nothing half-written.
"""

from __future__ import annotations

import dataclasses

import pytest

from accord.domain.record import Precedence
from accord.errors import UnknownReferenceError, ValidationError
from accord.storage import ReleaseState
from tests.contract.conftest import SqlNode
from tests.contract.holdings import LATER, record, release

S = ReleaseState
MANY = 1_203  # more than one query's worth of ids (500 per query), in three chunks


def received(release_id: str, message_id: str, *, via_hub: bool = False):
    return release(release_id, state=S.RECEIVED, message_id=message_id, via_hub=via_hub)


def test_add_received_many_stores_all_in_order_as_add_received_would(sql_node: SqlNode):
    batch = [received("in-1", "m-1"), received("in-2", "m-2", via_hub=True), received("in-3", "m-3")]
    with sql_node.unit() as s:
        s.releases.add_received_many(batch)
        s.releases.add_received_many([])
    with sql_node.unit() as s:
        assert [r.id for r in s.releases.list(state=S.RECEIVED)] == ["in-1", "in-2", "in-3"]
        for kept in batch:
            assert s.releases.get(kept.id) == kept
            assert s.releases.by_message(kept.message_id) == kept
        assert s.releases.get("in-2").route == ("KOR", "USA", "JPN")
        # The one-at-a-time form sees the batch's messages as received already.
        assert s.releases.add_received(received("in-4", "m-2")) is False


@pytest.mark.parametrize(
    ("clash", "match"),
    [
        (lambda: [received("in-8", "m-8"), received("in-1", "m-9")], "release in-1 is already stored"),
        (lambda: [received("in-8", "m-8"), received("in-9", "m-1")], "message m-1 is already stored"),
        (lambda: [received("in-8", "m-8"), received("in-8", "m-9")], "release in-8 is already stored"),
        (lambda: [received("in-8", "m-8"), received("in-9", "m-8")], "message m-8 is already stored"),
        (lambda: [received("in-8", "m-8"), release("in-9", message_id="m-9")], "a receipt is received or refused"),
        (lambda: [dataclasses.replace(received("in-8", "m-8"), message_id=None)], "has no message id"),
    ],
    ids=["stored-id", "stored-message", "id-twice", "message-twice", "not-received", "no-message-id"],
)
def test_add_received_many_refuses_the_whole_batch_and_writes_nothing(sql_node: SqlNode, clash, match):
    with sql_node.unit() as s:
        s.releases.add_received_many([received("in-1", "m-1")])
    with sql_node.unit() as s:
        with pytest.raises(ValidationError, match=match):
            s.releases.add_received_many(clash())
        assert [r.id for r in s.releases.list(state=S.RECEIVED)] == ["in-1"]
        assert s.releases.get("in-8") is None
        assert s.releases.by_message("m-8") is None


def test_stored_ids_says_which_ids_and_message_ids_are_taken(sql_node: SqlNode):
    with sql_node.unit() as s:
        s.releases.add(release("out-1", message_id="m-out"))
        s.releases.add_received_many([received(f"in-{i}", f"m-{i}") for i in range(0, MANY, 2)])
    with sql_node.unit() as s:
        assert s.releases.stored_ids([], []) == (set(), set())
        ids, messages = s.releases.stored_ids(
            ["out-1", "out-2", "in-0", "in-0", "in-1"], ["m-out", "m-0", "m-1", "m-nope"]
        )
        assert (ids, messages) == ({"out-1", "in-0"}, {"m-out", "m-0"})
        # Past one query's worth: every chunk is asked.
        ids, messages = s.releases.stored_ids([f"in-{i}" for i in range(MANY)], [f"m-{i}" for i in range(MANY)])
        assert ids == {f"in-{i}" for i in range(0, MANY, 2)}
        assert messages == {f"m-{i}" for i in range(0, MANY, 2)}


def test_set_states_moves_each_release_as_set_state_would(sql_node: SqlNode):
    with sql_node.unit() as s:
        s.releases.add_many([release(f"rel-{i}") for i in range(MANY)])
    with sql_node.unit() as s:
        wanted = [f"rel-{i}" for i in range(MANY)]
        s.releases.set_states([*wanted, "rel-0"], S.QUEUED, at=LATER)  # named twice: moved once
        s.releases.set_states([], S.DELIVERED, at=LATER)
    with sql_node.unit() as s:
        moved = [s.releases.get(release_id) for release_id in wanted]
        assert {(r.state, r.updated_at) for r in moved} == {(S.QUEUED, LATER)}
        assert moved[7] == dataclasses.replace(release("rel-7"), state=S.QUEUED, updated_at=LATER)
        s.releases.set_states(["rel-1", "rel-2"], S.DELIVERED, at=LATER)
        s.releases.set_states(["rel-3"], S.REFUSED, at=LATER)
    with sql_node.unit() as s:
        states = [s.releases.get(f"rel-{i}").state for i in range(5)]
        assert states == [S.QUEUED, S.DELIVERED, S.DELIVERED, S.REFUSED, S.QUEUED]


@pytest.mark.parametrize(
    ("ids", "state", "error", "match"),
    [
        (["rel-1", "rel-9"], S.QUEUED, UnknownReferenceError, "no release rel-9"),
        (["rel-1", "rel-2"], S.QUEUED, ValidationError, "rel-2 is delivered; it cannot become queued"),
        (
            ["rel-1"],
            S.DELIVERED,
            ValidationError,
            r"rel-1 is sealed; it cannot become delivered \(it can become queued\)",
        ),
    ],
    ids=["unknown", "from-final", "skipping-a-state"],
)
def test_set_states_refuses_what_set_state_refuses_and_moves_none(sql_node: SqlNode, ids, state, error, match):
    with sql_node.unit() as s:
        s.releases.add_many([release("rel-1"), release("rel-2")])
        s.releases.set_state("rel-2", S.QUEUED, at=LATER)
        s.releases.set_state("rel-2", S.DELIVERED, at=LATER)
    with sql_node.unit() as s:
        with pytest.raises(error, match=match):
            s.releases.set_states(ids, state, at=LATER)
        assert [s.releases.get(i).state for i in ("rel-1", "rel-2")] == [S.SEALED, S.DELIVERED]


def test_sealed_to_queue_reads_the_most_urgent_first_by_the_rank_kept_with_each_release(sql_node: SqlNode):
    ranks = {"r-routine": Precedence.ROUTINE, "r-flash": Precedence.FLASH, "r-immediate": Precedence.IMMEDIATE}
    with sql_node.unit() as s:
        for record_id, precedence in ranks.items():
            s.records.add(dataclasses.replace(record(record_id), precedence=precedence), added_at=LATER)
        s.releases.add_many([of("a", "r-routine"), of("b", "r-flash")])
        s.releases.add(of("c", "r-immediate"))
        s.releases.add(of("d", "r-gone"))  # no record here any more: sent as ROUTINE
        s.releases.add_many([of("e", "r-flash")])
        s.releases.add_received_many([received("in-1", "m-1")])  # not this node's to send
    with sql_node.unit() as s:
        assert [r.id for r in s.releases.sealed_to_queue("KOR", limit=10)] == ["b", "e", "c", "a", "d"]
        assert [r.id for r in s.releases.sealed_to_queue("KOR", limit=2)] == ["b", "e"]
        assert [r.id for r in s.releases.sealed_to_queue("KOR", limit=10, only=Precedence.FLASH)] == ["b", "e"]
        assert s.releases.sealed_to_queue("USA", limit=10) == []
        s.releases.set_states(["b"], S.QUEUED, at=LATER)
    with sql_node.unit() as s:
        assert [r.id for r in s.releases.sealed_to_queue("KOR", limit=10, only=Precedence.FLASH)] == ["e"]
        cursor, flashes = s.releases.flash_sealed_after("KOR", after=-1)
        assert (cursor, flashes) == (s.releases.last_number(), 1)  # b is queued already: only e
        assert s.releases.flash_sealed_after("KOR", after=cursor) == (cursor, 0)


def of(release_id: str, record_id: str):
    return dataclasses.replace(release(release_id), record_id=record_id)
