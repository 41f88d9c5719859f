"""The envelope: round trip, the exact signed bytes, and every malformed input refused."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json

import pytest

from accord.canonical import canonical_bytes
from accord.crypto import NodeKeys
from accord.crypto.keys import KeyAlgorithm
from accord.domain.record import Precedence
from accord.federation.messages import Envelope, MessageType, RejectedError, format_time, new_envelope

AT = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)


def fixed() -> Envelope:
    return Envelope(
        id="00000000-0000-4000-8000-000000000001",
        type=MessageType.RELEASE,
        sender="KOR",
        recipient="JPN",
        sent_at="2026-03-01T09:30:00Z",
        precedence=Precedence.FLASH,
        agreement=("kor-jpn-gsomia", "ab" * 32),
        in_reply_to=None,
        body={"message": {"format": "x"}},
    )


def test_signed_bytes_vector():
    expected = (
        '{"payload":{"agreement":{"fingerprint":"' + "ab" * 32 + '","id":"kor-jpn-gsomia"},'
        '"body":{"message":{"format":"x"}},"format":"accord.envelope/1",'
        '"id":"00000000-0000-4000-8000-000000000001","in_reply_to":null,"precedence":"FLASH",'
        '"recipient":"JPN","sender":"KOR","sent_at":"2026-03-01T09:30:00Z","type":"release"},'
        '"purpose":"accord.envelope/1"}'
    ).encode()
    assert fixed().signed_bytes() == expected
    assert hashlib.sha256(expected).hexdigest() == hashlib.sha256(fixed().signed_bytes()).hexdigest()


def test_round_trip_keeps_every_field_and_signature(kor_keys):
    signed = fixed().signed_by(kor_keys)
    back = Envelope.from_bytes(signed.to_bytes())
    assert back == signed
    assert back.to_bytes() == signed.to_bytes()
    assert [s.algorithm for s in back.signatures] == [KeyAlgorithm.ED25519]


def test_long_lived_types_carry_both_signatures(kor_keys):
    rotation = new_envelope(
        MessageType.KEY_ROTATION, {"descriptor": {}}, sender="KOR", recipient="JPN", at=AT, keys=kor_keys
    )
    assert [s.algorithm for s in rotation.signatures] == [KeyAlgorithm.ED25519, KeyAlgorithm.ML_DSA_65]


def test_unknown_fields_are_kept_and_signed(kor_keys):
    doc = good(kor_keys) | {"future_field": [1, 2]}
    envelope = Envelope.from_dict(doc).signed_by(kor_keys)
    assert envelope.extensions == {"future_field": [1, 2]}
    assert b"future_field" in envelope.signed_bytes()
    assert Envelope.from_bytes(envelope.to_bytes()) == envelope


def test_format_time_needs_an_offset():
    assert format_time(AT) == "2026-03-01T09:30:00Z"
    with pytest.raises(RejectedError):
        format_time(AT.replace(tzinfo=None))


def good(keys: NodeKeys) -> dict:
    return fixed().signed_by(keys).to_dict()


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda d: d | {"format": "accord.envelope/2"}, "format"),
        (lambda d: d | {"type": "gossip"}, "unknown message type"),
        (lambda d: d | {"precedence": "urgent"}, "unknown message type or precedence"),
        (lambda d: d | {"sent_at": "yesterday"}, "not an ISO 8601"),
        (lambda d: d | {"sent_at": "2026-03-01T09:30:00"}, "no UTC offset"),
        (lambda d: d | {"agreement": {"id": "x"}}, "'agreement'"),
        (lambda d: d | {"body": []}, "'body'"),
        (lambda d: d | {"signatures": []}, "'signatures'"),
        (lambda d: d | {"signatures": [{"algorithm": "rot13"}]}, "malformed"),
        (lambda d: d | {"id": ""}, "'id'"),
        (lambda d: {k: v for k, v in d.items() if k != "sender"}, "'sender'"),
    ],
    ids=[
        "version",
        "type",
        "precedence",
        "time",
        "naive-time",
        "agreement",
        "body",
        "no-signature",
        "bad-signature",
        "empty-id",
        "no-sender",
    ],
)
def test_malformed_envelopes_are_refused(kor_keys, change, reason):
    with pytest.raises(RejectedError) as caught:
        Envelope.from_bytes(canonical_bytes(change(good(kor_keys))))
    assert reason in caught.value.reason
    assert caught.value.message == "federation message refused"  # opaque


def test_truncated_and_oversized_bodies_are_refused(kor_keys):
    data = fixed().signed_by(kor_keys).to_bytes()
    with pytest.raises(RejectedError, match="refused") as truncated:
        Envelope.from_bytes(data[: len(data) // 2])
    assert "truncated" in truncated.value.reason
    with pytest.raises(RejectedError) as oversized:
        Envelope.from_bytes(data, max_bytes=len(data) - 1)
    assert "over the limit" in oversized.value.reason
    assert Envelope.from_bytes(data, max_bytes=len(data)).id == fixed().id


def test_changing_any_field_changes_the_signed_bytes(kor_keys):
    base = fixed()
    for name, value in [("recipient", "USA"), ("sent_at", "2026-03-01T09:30:01Z"), ("body", {"other": 1})]:
        assert dataclasses.replace(base, **{name: value}).signed_bytes() != base.signed_bytes()
    assert json.loads(base.signed_by(kor_keys).to_bytes())["signatures"]
