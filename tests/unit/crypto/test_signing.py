import dataclasses
import datetime as dt

import pytest

from accord.canonical import canonical_bytes
from accord.crypto.keys import KeyAlgorithm, KeyRing
from accord.crypto.signing import (
    CompositeSignature,
    CompositeSigner,
    CompositeVerifier,
    Ed25519Signer,
    MlDsa65Signer,
    PinnedKeyVerifier,
    Signature,
    sign_value,
    signed_bytes,
    verify_value,
)
from accord.errors import IntegrityError, ValidationError

RECORD = {"title": "Missile launch assessment", "level": "II", "topics": ["dprk-missile"]}
PURPOSE = "accord.record/1"


def flip(data: bytes, index: int = 0) -> bytes:
    return data[:index] + bytes([data[index] ^ 1]) + data[index + 1 :]


def test_signed_bytes_are_canonical_json_of_purpose_and_payload():
    assert signed_bytes({"b": 1, "a": 2}, purpose="p") == canonical_bytes({"payload": {"a": 2, "b": 1}, "purpose": "p"})
    with pytest.raises(ValidationError, match="purpose"):
        signed_bytes({}, purpose="")


@pytest.mark.parametrize("signer_type", [Ed25519Signer, MlDsa65Signer], ids=["ed25519", "ml-dsa-65"])
def test_sign_and_verify(alice, signer_type):
    signer = signer_type(alice)
    signature = sign_value(signer, RECORD, purpose=PURPOSE)
    assert signature.key_id == signer.key_id
    verify_value(PinnedKeyVerifier(alice.public.keys[:2]), signature, RECORD, purpose=PURPOSE)


def test_signature_round_trips_as_json(alice):
    signature = sign_value(Ed25519Signer(alice), RECORD, purpose=PURPOSE)
    data = signature.to_dict()
    assert data["algorithm"] == "Ed25519"
    assert data["key_id"] == alice.public.signing.key_id
    assert Signature.from_dict(data) == signature


@pytest.mark.parametrize(
    "case", ["other-value", "other-purpose", "other-key", "flipped-signature", "wrong-algorithm", "unpinned"]
)
def test_every_verification_failure_is_the_same_opaque_error(alice, bob, case):
    signature = sign_value(Ed25519Signer(alice), RECORD, purpose=PURPOSE)
    verifier = PinnedKeyVerifier([alice.public.signing, alice.public.pq_signing])
    value, purpose = RECORD, PURPOSE
    if case == "other-value":
        value = {**RECORD, "level": "I"}
    elif case == "other-purpose":
        purpose = "accord.receipt/1"
    elif case == "other-key":
        signature = sign_value(Ed25519Signer(bob), RECORD, purpose=PURPOSE)
        signature = dataclasses.replace(signature, key_id=alice.public.signing.key_id)
    elif case == "flipped-signature":
        signature = dataclasses.replace(signature, value=flip(signature.value, 10))
    elif case == "wrong-algorithm":
        signature = dataclasses.replace(signature, algorithm=KeyAlgorithm.ML_DSA_65)
    else:
        verifier = PinnedKeyVerifier([bob.public.signing])
    with pytest.raises(IntegrityError) as info:
        verify_value(verifier, signature, value, purpose=purpose)
    assert info.value.message == "signature verification failed"


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        {"algorithm": "Ed25519", "key_id": "k"},
        {"algorithm": "RSA", "key_id": "k", "signature": "AA"},
        {"algorithm": ["Ed25519"], "key_id": "k", "signature": "AA"},
        {"algorithm": "Ed25519", "key_id": 1, "signature": "AA"},
        {"algorithm": "Ed25519", "key_id": "k", "signature": "A=="},
        {"algorithm": "Ed25519", "key_id": "k", "signature": "AA", "extra": 1},
    ],
    ids=["none", "list", "missing", "algorithm", "unhashable", "key-id", "padding", "extra"],
)
def test_malformed_signatures_are_opaque_integrity_errors(data):
    with pytest.raises(IntegrityError):
        Signature.from_dict(data)


def test_kem_keys_cannot_be_pinned_for_signatures(alice):
    with pytest.raises(ValidationError, match="cannot verify"):
        PinnedKeyVerifier(alice.public.kem)


def test_old_signatures_verify_after_rotation(alice, bob):
    t0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    t1 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    before = sign_value(Ed25519Signer(alice), RECORD, purpose=PURPOSE)
    ring = KeyRing.create(alice, at=t0).rotate(at=t1, new=bob)
    after = sign_value(Ed25519Signer(ring.current), RECORD, purpose=PURPOSE)
    everything = PinnedKeyVerifier(k for k in ring.public_keys() if k.algorithm is KeyAlgorithm.ED25519)
    verify_value(everything, before, RECORD, purpose=PURPOSE)
    verify_value(everything, after, RECORD, purpose=PURPOSE)
    # Keys valid at a time: the old signature checks against the keys of its own time only.
    then = [k for k in ring.public_keys(at=t0) if k.algorithm is KeyAlgorithm.ED25519]
    verify_value(PinnedKeyVerifier(then), before, RECORD, purpose=PURPOSE)
    with pytest.raises(IntegrityError):
        verify_value(PinnedKeyVerifier(then), after, RECORD, purpose=PURPOSE)


def test_composite_signature_carries_ed25519_and_ml_dsa_65(alice):
    data = signed_bytes({"tree_size": 42, "root": "ab" * 32}, purpose="accord.checkpoint/1")
    signature = CompositeSigner(alice).sign(data)
    assert [p.algorithm for p in signature.parts] == [KeyAlgorithm.ED25519, KeyAlgorithm.ML_DSA_65]
    verifier = CompositeVerifier([alice.public.signing, alice.public.pq_signing])
    verifier.verify(signature, data)
    verifier.verify(CompositeSignature.from_dict(signature.to_dict()), data)


@pytest.mark.parametrize("case", ["drop-ml-dsa", "drop-ed25519", "duplicate", "bad-ml-dsa", "no-requirement", "extra"])
def test_composite_verification_needs_every_required_algorithm(alice, case):
    data = b"checkpoint"
    signature = CompositeSigner(alice).sign(data)
    ed, pq = signature.parts
    verifier = CompositeVerifier([alice.public.signing, alice.public.pq_signing])
    if case == "drop-ml-dsa":
        signature = CompositeSignature((ed,))
    elif case == "drop-ed25519":
        signature = CompositeSignature((pq,))
    elif case == "duplicate":
        signature = CompositeSignature((ed, ed, pq))
    elif case == "bad-ml-dsa":
        signature = CompositeSignature((ed, dataclasses.replace(pq, value=flip(pq.value, 100))))
    elif case == "no-requirement":
        verifier = CompositeVerifier([alice.public.signing], required=())
        signature = CompositeSignature(())
    else:
        verifier = CompositeVerifier([alice.public.signing], required=[KeyAlgorithm.ED25519])
    with pytest.raises(IntegrityError):
        verifier.verify(signature, data)


@pytest.mark.parametrize("data", [None, {"signatures": "x"}, {"signatures": [], "x": 1}])
def test_malformed_composite_signatures_are_opaque(data):
    with pytest.raises(IntegrityError):
        CompositeSignature.from_dict(data)
