"""The ReleaseStore contract, the same for the memory, SQLite and PostgreSQL stores."""

from __future__ import annotations

import dataclasses
import json

import pytest

from accord.errors import UnknownReferenceError, ValidationError
from accord.storage import Release, ReleaseState
from tests.contract.conftest import Node
from tests.contract.holdings import LATER, release

S = ReleaseState


def ids(page) -> list[str]:
    return [r.id for r in page]


@pytest.mark.parametrize("via_hub", [False, True], ids=["direct", "through-hub"])
def test_a_release_reads_back_equal_with_its_decision_bytes(node: Node, via_hub):
    kept = release(via_hub=via_hub)
    with node.unit() as s:
        assert s.releases.get("rel-1") is None
        s.releases.add(kept)

    with node.unit() as s:
        stored = s.releases.get("rel-1")
        assert stored == kept
        assert stored.decision == kept.decision  # the very bytes, not a re-encoding
        assert stored.route == (("KOR", "USA", "JPN") if via_hub else ("KOR", "JPN"))
        assert [a for a, _ in stored.agreements] == [a["id"] for a in json.loads(kept.decision)["agreements"]]
        assert json.loads(stored.label)["recipient"] == "JPN"
        assert s.releases.by_message("m-1") is None


def test_outgoing_releases_move_only_forward(node: Node):
    with node.unit() as s:
        s.releases.add(release())
        queued = s.releases.set_state("rel-1", S.QUEUED, at=LATER)
        assert (queued.state, queued.updated_at, queued.created_at) == (S.QUEUED, LATER, release().created_at)

    with node.unit() as s:
        assert s.releases.get("rel-1") == queued
        with pytest.raises(ValidationError, match="rel-1 is queued; it cannot become sealed"):
            s.releases.set_state("rel-1", S.SEALED, at=LATER)
        with pytest.raises(ValidationError, match="ISO 8601"):
            s.releases.set_state("rel-1", S.DELIVERED, at="later")
        with pytest.raises(UnknownReferenceError, match="no release rel-9"):
            s.releases.set_state("rel-9", S.QUEUED, at=LATER)
        delivered = s.releases.set_state("rel-1", S.DELIVERED, at=LATER)
        with pytest.raises(ValidationError, match="nothing: it is final"):
            s.releases.set_state("rel-1", S.REFUSED, at=LATER)

    with node.unit() as s:
        assert s.releases.get("rel-1") == delivered


def test_receiving_one_message_twice_stores_it_once(node: Node):
    first = release("rel-in", state=S.RECEIVED, message_id="m-1")
    again = dataclasses.replace(first, id="rel-in-again", envelope=b"a different copy of the message")
    with node.unit() as s:
        assert s.releases.add_received(first) is True
        assert s.releases.add_received(first) is False
    with node.unit() as s:
        assert s.releases.add_received(again) is False
        assert s.releases.get("rel-in-again") is None
        assert s.releases.by_message("m-1") == first
        assert ids(s.releases.list()) == ["rel-in"]


def test_refusals_write_nothing(node: Node):
    with node.unit() as s:
        s.releases.add(release("rel-1", message_id="m-out"))
        s.releases.add_received(release("rel-in", state=S.RECEIVED, message_id="m-in"))
    refusals = [
        (lambda r: r.add(release("rel-1")), "release rel-1 is already stored"),
        (lambda r: r.add(release("rel-2", message_id="m-out")), "message m-out is already stored"),
        (lambda r: r.add(release("rel-2", state=S.RECEIVED, message_id="m-2")), "starts sealed or queued"),
        (lambda r: r.add_received(release("rel-2", state=S.RECEIVED)), "has no message id"),
        (lambda r: r.add_received(release("rel-2", state=S.QUEUED, message_id="m-2")), "received or refused"),
        (lambda r: r.add_received(release("rel-1", state=S.RECEIVED, message_id="m-2")), "rel-1 is already stored"),
    ]
    with node.unit() as s:
        for attempt, problem in refusals:
            with pytest.raises(ValidationError, match=problem):
                attempt(s.releases)
        s.releases.add(release("rel-3"))  # the unit goes on
    with node.unit() as s:
        assert ids(s.releases.list()) == ["rel-1", "rel-in", "rel-3"]
        assert s.releases.by_message("m-2") is None
        assert s.releases.get("rel-1") == release("rel-1", message_id="m-out")


def test_a_release_is_refused_unless_well_formed():
    good = release()
    cases = [
        ({"recipient": "KOR"}, "sender and recipient are both KOR"),
        ({"decision": b'{"b":1, "a":2}'}, "canonical JSON"),
        ({"label": b"[1]"}, "canonical JSON"),
        ({"decision": b"\xff"}, "is not JSON"),
        ({"envelope": b""}, "envelope must be non-empty"),
        ({"agreements": (("A", "0" * 64), ("A", "1" * 64))}, "distinct ids"),
        ({"agreements": (("A", "F" * 64),)}, "64-hex-digit"),
        ({"created_at": "yesterday"}, "ISO 8601"),
        ({"message_id": " "}, "message id must not be empty"),
    ]
    for change, problem in cases:
        with pytest.raises(ValidationError, match=problem):
            dataclasses.replace(good, **change)
    assert dataclasses.replace(good, label=None).label is None


def test_listing_filters_by_state_and_party_and_pages_in_the_order_added(node: Node):
    plan = [
        release("b", state=S.QUEUED),
        release("a"),
        release("d", state=S.RECEIVED, message_id="m-d"),
        release("c", state=S.QUEUED),
        dataclasses.replace(release("e", state=S.REFUSED, message_id="m-e"), sender="JPN", recipient="KOR"),
    ]
    for item in plan:
        with node.unit() as s:
            if item.message_id is None:
                s.releases.add(item)
            else:
                s.releases.add_received(item)

    with node.unit() as s:
        assert ids(s.releases.list()) == ["b", "a", "d", "c", "e"]
        assert ids(s.releases.list(state=S.QUEUED)) == ["b", "c"]
        assert ids(s.releases.list(state=S.QUEUED, after="b")) == ["c"]
        assert ids(s.releases.list(recipient="KOR")) == ["e"]
        assert ids(s.releases.list(sender="KOR", limit=2)) == ["b", "a"]
        assert ids(s.releases.list(sender="KOR", after="a", limit=2)) == ["d", "c"]
        assert ids(s.releases.list(state=S.DELIVERED)) == []
        with pytest.raises(UnknownReferenceError, match="no release zz"):
            s.releases.list(after="zz")
        with pytest.raises(ValidationError, match="1 to 1000 items"):
            s.releases.list(limit=0)


def test_from_decision_keeps_what_the_decision_says():
    kept = release(via_hub=True)
    decision = json.loads(kept.decision)
    assert kept.agreements == tuple((a["id"], a["fingerprint"]) for a in decision["agreements"])
    assert [h.to_dict() for h in kept.hops] == decision["hops"]
    assert json.loads(kept.label) == decision["recipient_label"]
    assert isinstance(kept, Release)
    assert kept.created_at == kept.updated_at
