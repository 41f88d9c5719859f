"""Audit entries: validation, the canonical bytes that are hashed, and decoding them."""

from __future__ import annotations

import hashlib
import json

import pytest

from accord.audit.entry import AuditEntry, EntryKind
from accord.errors import ValidationError
from tests.unit.audit._make import entry

DIGEST = hashlib.sha256(b"x").hexdigest()


def test_canonical_bytes_are_sorted_compact_json():
    e = AuditEntry(
        seq=7,
        kind=EntryKind.DECISION,
        at="2026-03-01T09:15:00Z",
        actor="KOR/analyst-1",
        subjects=("rec-1",),
        digests={"record": DIGEST},
        meta={"recipient": "JPN", "allowed": False, "portions": 2},
    )
    assert e.to_bytes() == (
        b'{"actor":"KOR/analyst-1","at":"2026-03-01T09:15:00Z","digests":{"record":"' + DIGEST.encode() + b'"},'
        b'"kind":"decision","meta":{"allowed":false,"portions":2,"recipient":"JPN"},"seq":7,'
        b'"subjects":["rec-1"],"v":1}'
    )


@pytest.mark.parametrize("seq", [0, 1, 8, 99])
def test_round_trip_through_bytes_and_dict(seq):
    e = entry(seq)
    assert AuditEntry.from_bytes(e.to_bytes()) == e
    assert AuditEntry.from_dict(json.loads(e.to_bytes())) == e
    assert hash(AuditEntry.from_bytes(e.to_bytes())) == hash(e)


def test_a_kind_given_as_text_becomes_the_enum_and_mappings_are_frozen():
    e = entry(0, kind="recall")
    assert e.kind is EntryKind.RECALL
    with pytest.raises(TypeError):
        e.meta["allowed"] = True  # type: ignore[index]


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"seq": -1}, "sequence number must be from 0"),
        ({"seq": 2**53}, "sequence number must be from 0"),
        ({"kind": "rumour"}, "unknown kind 'rumour'"),
        ({"at": "2026-03-01T09:15:00"}, "with a UTC offset"),
        ({"at": "yesterday"}, "with a UTC offset"),
        ({"actor": ""}, "actor and subjects must be non-empty"),
        ({"actor": "x" * 257}, "at most 256 characters"),
        ({"subjects": ("",)}, "actor and subjects must be non-empty"),
        ({"digests": {"record": "ABC"}}, "digest 'record' must be"),
        ({"digests": {"Record": DIGEST}}, "digest 'Record' must be"),
        ({"meta": {"body": "x" * 257}}, "metadata 'body' must"),
        ({"meta": {"n": 2**60}}, "metadata 'n' must"),
        ({"meta": {"Bad Key": 1}}, "metadata 'Bad Key' must"),
        ({"meta": {f"k{i}": i for i in range(33)}}, "at most 32 metadata keys"),
    ],
)
def test_invalid_entries_are_refused(changes, match):
    changes = dict(changes)
    seq = changes.pop("seq", 5)
    with pytest.raises(ValidationError, match=match):
        entry(seq, **changes)


def _json(e: AuditEntry, **changes):
    data = e.to_dict()
    data.update(changes)
    return data


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"v": 2}, "an audit entry must be format version 1, not 2"),
        ({"body": "secret"}, "must have exactly the fields"),
        ({"seq": "3"}, "sequence number must be a non-negative integer"),
        ({"seq": True}, "sequence number must be a non-negative integer"),
        ({"kind": 3}, "kind must be non-empty text"),
        ({"kind": "rumour"}, "unknown kind"),
        ({"at": None}, "time must be non-empty text"),
        ({"subjects": "rec-1"}, "subjects must be a list"),
        ({"subjects": [1]}, "must be text"),
        ({"digests": {"record": 5}}, "must be text"),
        ({"meta": {"ratio": 0.5}}, "metadata values must be text, integers or booleans"),
        ({"meta": {"nested": {"a": 1}}}, "metadata values must be text, integers or booleans"),
    ],
)
def test_from_dict_refuses_malformed_json(changes, match):
    with pytest.raises(ValidationError, match=match):
        AuditEntry.from_dict(_json(entry(3), **changes))


def test_from_dict_refuses_what_is_not_an_object():
    with pytest.raises(ValidationError, match="exactly the fields"):
        AuditEntry.from_dict([1, 2])


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"\xff\xfe", "not JSON"),
        (b"{", "not JSON"),
        (b"[]", "exactly the fields"),
    ],
)
def test_from_bytes_refuses_what_is_not_an_entry(data, match):
    with pytest.raises(ValidationError, match=match):
        AuditEntry.from_bytes(data)


def test_from_bytes_refuses_json_that_is_not_canonical():
    canonical = entry(4).to_bytes()
    pretty = json.dumps(json.loads(canonical), indent=1).encode()
    with pytest.raises(ValidationError, match="audit entry 4: bytes are not the entry's canonical JSON"):
        AuditEntry.from_bytes(pretty)
    duplicated = canonical[:-1] + b',"seq":4}'
    with pytest.raises(ValidationError, match="canonical JSON"):
        AuditEntry.from_bytes(duplicated)
