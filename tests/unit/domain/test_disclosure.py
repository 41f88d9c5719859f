"""Disclosure requests: each kind's subject, the state table, decisions that agree with the state."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from accord.domain.disclosure import TRANSITIONS, DisclosureKind, DisclosureRequest, DisclosureState
from accord.errors import ConflictError, ValidationError

AT = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
LATER = AT + dt.timedelta(hours=1)
K, S = DisclosureKind, DisclosureState

CONSENT = (("holder", "JPN"), ("valid_from", "2026-03-01"), ("valid_until", "2026-06-30"))
GOOD = {
    "release": {"kind": K.RELEASE, "record_id": "KOR-1", "party": "JPN"},
    "release-on-a-date": {"kind": K.RELEASE, "record_id": "KOR-1", "party": "JPN", "on": dt.date(2017, 1, 1)},
    "consent-record": {"kind": K.CONSENT, "record_id": "KOR-1", "party": "USA", "details": CONSENT},
    "consent-topic": {"kind": K.CONSENT, "party": "USA", "details": (*CONSENT, ("topic", "dprk-missile"))},
    "recall": {"kind": K.RECALL, "record_id": "KOR-1", "details": (("disposition", "destroy"),)},
    "report": {
        "kind": K.COMPROMISE_REPORT,
        "record_id": "JPN-1",
        "details": (("kind", "loss"), ("details", "left on a train")),
    },
}
BAD = {
    "release-without-record": ({"kind": K.RELEASE, "party": "JPN"}, "names its record"),
    "release-without-recipient": ({"kind": K.RELEASE, "record_id": "KOR-1"}, "names its recipient"),
    "consent-without-holder": (
        {"kind": K.CONSENT, "record_id": "KOR-1", "party": "USA", "details": CONSENT[1:]},
        "needs holder",
    ),
    "consent-record-and-topic": (
        {"kind": K.CONSENT, "record_id": "KOR-1", "party": "USA", "details": (*CONSENT, ("topic", "x"))},
        "exactly one of a record or a topic",
    ),
    "consent-neither": ({"kind": K.CONSENT, "party": "USA", "details": CONSENT}, "exactly one"),
    "recall-with-a-party": (
        {"kind": K.RECALL, "record_id": "KOR-1", "party": "JPN", "details": (("disposition", "return"),)},
        "names no party",
    ),
    "recall-unknown-field": (
        {"kind": K.RECALL, "record_id": "KOR-1", "details": (("disposition", "return"), ("colour", "red"))},
        "has no field colour",
    ),
    "report-without-details": (
        {"kind": K.COMPROMISE_REPORT, "record_id": "J", "details": (("kind", "loss"),)},
        "needs",
    ),
    "date-on-a-recall": (
        {"kind": K.RECALL, "record_id": "KOR-1", "details": (("disposition", "return"),), "on": dt.date(2020, 1, 1)},
        "only a release request has a date",
    ),
    "empty-detail": (
        {"kind": K.RECALL, "record_id": "KOR-1", "details": (("disposition", " "),)},
        "each detail is 1 to",
    ),
    "twice-named": (
        {"kind": K.RECALL, "record_id": "KOR-1", "details": (("disposition", "return"), ("disposition", "x"))},
        "named twice",
    ),
}


def make(**fields) -> DisclosureRequest:
    return DisclosureRequest(**({"id": "dr-1", "requester": "lee", "requested_at": AT} | fields))


@pytest.mark.parametrize("fields", GOOD.values(), ids=GOOD.keys())
def test_each_kind_takes_its_own_subject(fields):
    request = make(**fields)
    assert request.state is S.PENDING
    assert request.to_dict()["state"] == "pending"


@pytest.mark.parametrize(("fields", "message"), BAD.values(), ids=BAD.keys())
def test_a_subject_that_does_not_fit_its_kind_is_refused(fields, message):
    with pytest.raises(ValidationError, match=message):
        make(**fields)


def test_details_keep_one_order_so_equal_requests_are_equal():
    forward = make(**GOOD["consent-record"])
    backward = make(**(GOOD["consent-record"] | {"details": tuple(reversed(CONSENT))}))
    assert forward == backward
    assert forward.detail("holder") == "JPN"
    assert forward.detail("topic") is None


@pytest.mark.parametrize(
    ("start", "to", "allowed"),
    [(s, t, t in TRANSITIONS[s]) for s in S for t in S],
    ids=[f"{s}->{t}" for s in S for t in S],
)
def test_the_transition_table(start, to, allowed):
    # Only pending moves, and only to a decision or a withdrawal; decisions are final.
    assert allowed == (start is S.PENDING and to is not S.PENDING)


@pytest.mark.parametrize("to", [S.APPROVED, S.REJECTED, S.WITHDRAWN])
def test_a_pending_request_moves_once(to):
    request = make(**GOOD["release"])
    moved = request.move(to, by="kim", at=LATER, reason="not within scope")
    assert (moved.state, moved.decider, moved.decided_at, moved.reason) == (to, "kim", LATER, "not within scope")
    assert request.state is S.PENDING  # a new value; the old one is unchanged
    with pytest.raises(ConflictError, match="already decided"):
        moved.move(S.APPROVED, by="park", at=LATER)


def test_a_pending_request_cannot_move_to_pending():
    with pytest.raises(ValidationError, match="cannot go from pending to pending"):
        make(**GOOD["release"]).move(S.PENDING, by="kim", at=LATER)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"state": S.REJECTED, "decider": "kim", "decided_at": LATER}, "a rejection needs a reason"),
        ({"state": S.APPROVED}, "has a decider and time"),
        ({"decider": "kim", "decided_at": LATER}, "has no decider and time"),
        ({"outcome": "KOR-release-1"}, "only an approved request has an outcome"),
        ({"requested_at": dt.datetime(2026, 3, 1, 9, 0)}, "UTC offset"),  # noqa: DTZ001 - the point of the test
        ({"reason": "x" * 1001}, "at most 1000"),
    ],
    ids=["rejected-no-reason", "approved-no-decider", "pending-with-decider", "outcome-pending", "naive", "long"],
)
def test_state_and_decision_must_agree(fields, message):
    with pytest.raises(ValidationError, match=message):
        make(**(GOOD["release"] | fields))


def test_a_rejection_through_move_needs_a_reason():
    with pytest.raises(ValidationError, match="a rejection needs a reason"):
        make(**GOOD["release"]).move(S.REJECTED, by="kim", at=LATER, reason="  ")


def test_json_form():
    request = dataclasses.replace(
        make(**GOOD["release-on-a-date"]).move(S.APPROVED, by="kim", at=LATER), outcome="KOR-release-1"
    )
    assert request.to_dict() == {
        "id": "dr-1",
        "kind": "release",
        "record": "KOR-1",
        "party": "JPN",
        "on": "2017-01-01",
        "details": {},
        "requester": "lee",
        "requested_at": "2026-03-01T09:00:00+00:00",
        "state": "approved",
        "decider": "kim",
        "decided_at": "2026-03-01T10:00:00+00:00",
        "reason": "",
        "outcome": "KOR-release-1",
    }
