"""``from_dict`` of consents and obligations: exactly their fields, each error naming the field."""

from __future__ import annotations

import json

import pytest

from accord.canonical import canonical_bytes
from accord.domain.consent import Consent
from accord.domain.obligation import (
    CompromiseKind,
    CompromiseReport,
    Disposition,
    InvestigationResult,
    Recall,
    RecallAcknowledgement,
    ReclassificationNotice,
)
from accord.errors import ValidationError
from tests.factories import D

CONSENT = Consent(
    id="c1",
    originator="KOR",
    holder="USA",
    third_party="JPN",
    valid_from=D(2026, 3, 1),
    valid_until=D(2026, 12, 31),
    topic="dprk-missile",
)
VALUES = [
    CONSENT,
    ReclassificationNotice(
        id="n1",
        originator="KOR",
        record_id="r1",
        levels=(("2", "KOR/MIL-III"), ("1", "KOR/MIL-II")),
        issued_on=D(2026, 3, 2),
    ),
    Recall(id="k1", originator="KOR", record_id="r1", disposition=Disposition.DESTROY, issued_on=D(2026, 3, 2)),
    RecallAcknowledgement(recall_id="k1", holder="USA", done=Disposition.DESTROY, on=D(2026, 3, 3), note="shredded"),
    CompromiseReport(
        id="p1",
        holder="USA",
        originator="KOR",
        record_id="r1",
        kind=CompromiseKind.LOSS,
        detected_on=D(2026, 3, 1),
        reported_on=D(2026, 3, 1),
        description="laptop lost in transit",
    ),
    InvestigationResult(report_id="p1", closed_on=D(2026, 4, 1), findings="found, unopened", measures="escort rule"),
]
IDS = [type(v).__name__ for v in VALUES]


@pytest.mark.parametrize("value", VALUES, ids=IDS)
def test_json_round_trip_gives_the_same_value_and_bytes(value):
    data = json.loads(json.dumps(value.to_dict()))
    again = type(value).from_dict(data)
    assert again == value
    assert canonical_bytes(again.to_dict()) == canonical_bytes(value.to_dict())


@pytest.mark.parametrize("value", VALUES, ids=IDS)
def test_a_missing_or_extra_field_is_named(value):
    data = value.to_dict()
    name = next(k for k in data if k != "type")
    with pytest.raises(ValidationError, match=f"missing field '{name}'"):
        type(value).from_dict({k: v for k, v in data.items() if k != name})
    with pytest.raises(ValidationError, match="unknown field 'signed_by'"):
        type(value).from_dict({**data, "signed_by": "me"})


@pytest.mark.parametrize("value", VALUES, ids=IDS)
def test_another_type_or_no_object_is_refused(value):
    with pytest.raises(ValidationError, match="must be a JSON object, not list"):
        type(value).from_dict([value.to_dict()])
    with pytest.raises(ValidationError, match=r"not a .*: its field 'type' is 'other'"):
        type(value).from_dict({**value.to_dict(), "type": "other"})


@pytest.mark.parametrize(
    ("cls", "data", "match"),
    [
        (Consent, {"valid_from": "2026/03/01"}, "consent c1: field 'valid_from' must be a date YYYY-MM-DD"),
        (Consent, {"valid_until": "20261231"}, "field 'valid_until' must be a date"),
        (Consent, {"valid_until": "2026-02-30"}, "field 'valid_until' must be a date"),
        (Consent, {"holder": 7}, "consent c1: field 'holder' must be text, not 7"),
        (Consent, {"topic": None}, "must name exactly one of a record or a topic"),
        (Consent, {"record_id": "r1"}, "must name exactly one of a record or a topic"),
        (Consent, {"valid_from": "2027-01-01"}, "valid_from 2027-01-01 is after 2026-12-31"),
        (Consent, {"topic": " "}, "record id or topic must not be empty"),
        (ReclassificationNotice, {"levels": [["1"]]}, "field 'levels' must be a list of \\[text, text\\] pairs"),
        (ReclassificationNotice, {"levels": "KOR/MIL-II"}, "field 'levels' must be a list"),
        (ReclassificationNotice, {"levels": [["1", "JPN/HI"]]}, "portion 1's level JPN/HI is not KOR's"),
        (Recall, {"disposition": "burn"}, "recall k1: field 'disposition' must be one of return, destroy"),
        (Recall, {"record_id": ""}, "recall k1's record id must not be empty"),
        (RecallAcknowledgement, {"on": None}, "recall-acknowledgement k1: field 'on' must be a date"),
        (CompromiseReport, {"kind": "theft"}, "field 'kind' must be one of loss, compromise"),
        (CompromiseReport, {"description": "x" * 500, "kind": 1}, "field 'kind' must be one of"),
        (CompromiseReport, {"reported_on": "2026-02-01"}, "before its detection"),
        (InvestigationResult, {"measures": "  "}, "preventive measures after p1 must not be empty"),
    ],
    ids=lambda v: v.__name__ if isinstance(v, type) else None,
)
def test_a_malformed_field_is_named(cls, data, match):
    base = next(v for v in VALUES if isinstance(v, cls)).to_dict()
    with pytest.raises(ValidationError, match=match):
        cls.from_dict({**base, **data})


def test_a_long_bad_value_is_shortened_in_the_message():
    data = {**CONSENT.to_dict(), "holder": ["x" * 1000]}
    with pytest.raises(ValidationError) as caught:
        Consent.from_dict(data)
    assert len(caught.value.message) < 150
