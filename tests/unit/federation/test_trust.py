"""Pinned peers: descriptor files, verification by key history, the inbound checks in order."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest

from accord.canonical import canonical_bytes
from accord.crypto import KeyRing, NodeKeys
from accord.domain.record import Precedence
from accord.errors import IntegrityError, ValidationError
from accord.federation.messages import MessageType, RejectedError, new_envelope
from accord.federation.trust import (
    Freshness,
    check_inbound,
    descriptor_file,
    read_descriptor_file,
    rotated,
    verify_envelope,
)
from tests.unit.federation.conftest import T0, descriptor

NOW = T0 + dt.timedelta(days=1)
FP = "f" * 64


def release_from(keys, *, at=NOW, recipient="JPN", agreement=("kor-jpn-gsomia", FP), sender="KOR"):
    return new_envelope(
        MessageType.RELEASE,
        {"n": 1},
        sender=sender,
        recipient=recipient,
        at=at,
        keys=keys,
        precedence=Precedence.ROUTINE,
        agreement=agreement,
    )


def inbound(envelope, peers, *, now=NOW, fingerprints=None):
    known = {"kor-jpn-gsomia": FP} if fingerprints is None else fingerprints
    return check_inbound(
        envelope, me="JPN", peers=peers, now=now, freshness=Freshness(max_age=dt.timedelta(hours=1)),
        fingerprint=known.get,
    )  # fmt: skip


def test_descriptor_file_round_trip(kor, kor_keys):
    data = descriptor_file(kor, kor_keys)
    assert read_descriptor_file(data) == kor
    assert read_descriptor_file(data).fingerprint == kor_keys.public.fingerprint


def test_descriptor_file_with_changed_url_does_not_verify(kor, kor_keys):
    doc = json.loads(descriptor_file(kor, kor_keys))
    doc["descriptor"]["url"] = "https://evil.example"
    with pytest.raises(IntegrityError):
        read_descriptor_file(canonical_bytes(doc))


def test_descriptor_file_signed_by_other_keys_is_refused(kor, jpn_keys):
    with pytest.raises(ValidationError):
        descriptor_file(kor, jpn_keys)


@pytest.mark.parametrize("data", [b"", b"{", b"[]", b'{"descriptor": {}, "signature": {}}'], ids=str)
def test_malformed_descriptor_files(data):
    with pytest.raises(ValidationError):
        read_descriptor_file(data)


def test_a_valid_message_passes_and_names_its_sender(kor, kor_keys):
    assert inbound(release_from(kor_keys), {"KOR": kor}) == kor


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda keys: release_from(keys[0], recipient="USA"), "addressed to USA"),
        (lambda keys: release_from(keys[0], sender="USA"), "not a pinned peer"),
        (lambda keys: release_from(keys[1]), "does not verify"),  # forged: signed by another key
        (lambda keys: release_from(keys[0], at=NOW - dt.timedelta(hours=2)), "stale"),
        (lambda keys: release_from(keys[0], at=NOW + dt.timedelta(hours=2)), "ahead"),
        (lambda keys: release_from(keys[0], agreement=("kor-jpn-gsomia", "e" * 64)), "version"),
        (lambda keys: release_from(keys[0], agreement=("secret-pact", FP)), "unknown"),
    ],
    ids=["misaddressed", "unpinned", "forged", "stale", "future", "fingerprint", "agreement"],
)
def test_each_inbound_check_refuses(kor, kor_keys, jpn_keys, make, reason):
    with pytest.raises(RejectedError) as caught:
        inbound(make((kor_keys, jpn_keys)), {"KOR": kor})
    assert reason in caught.value.reason


def test_a_changed_body_does_not_verify(kor, kor_keys):
    envelope = dataclasses.replace(release_from(kor_keys), body={"n": 2})
    with pytest.raises(RejectedError, match="refused"):
        verify_envelope(envelope, kor)


def test_an_ed25519_only_signature_on_a_long_lived_type_is_refused(kor, kor_keys):
    rotation = new_envelope(MessageType.KEY_ROTATION, {}, sender="KOR", recipient="JPN", at=NOW, keys=kor_keys)
    verify_envelope(rotation, kor)
    cut = dataclasses.replace(rotation, signatures=rotation.signatures[:1])
    with pytest.raises(RejectedError):
        verify_envelope(cut, kor)


def test_rotation_keeps_old_messages_verifiable_and_refuses_old_keys_after():
    old = NodeKeys.generate()
    ring = KeyRing.create(old, at=T0)
    pinned = descriptor("KOR", ring)
    rotated_at = T0 + dt.timedelta(hours=5)
    ring2 = ring.rotate(at=rotated_at)
    announcement = new_envelope(
        MessageType.KEY_ROTATION, {"descriptor": descriptor("KOR", ring2).to_dict()},
        sender="KOR", recipient="JPN", at=rotated_at, keys=old,
    )  # fmt: skip
    verify_envelope(announcement, pinned)  # signed with the old, pinned key
    after = rotated(pinned, announcement.body["descriptor"])
    assert after.public == ring2.current.public
    verify_envelope(release_from(old, at=T0 + dt.timedelta(hours=1)), after)  # sent while old keys were current
    verify_envelope(release_from(ring2.current, at=rotated_at + dt.timedelta(hours=1)), after)
    with pytest.raises(RejectedError):
        verify_envelope(release_from(old, at=rotated_at + dt.timedelta(hours=1)), after)


def test_rotation_must_extend_the_pinned_history(kor, jpn):
    other = NodeKeys.generate()
    with pytest.raises(RejectedError, match="refused"):
        rotated(kor, descriptor("KOR", KeyRing.create(other, at=T0)).to_dict())
    with pytest.raises(RejectedError):
        rotated(kor, jpn.to_dict())
    with pytest.raises(RejectedError):
        rotated(kor, {"format": "nope"})


def test_freshness_bounds_are_checked():
    with pytest.raises(ValidationError):
        Freshness(max_age=dt.timedelta(0))
