import dataclasses
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accord.canonical import canonical_bytes
from accord.crypto.keys import KeyAlgorithm
from accord.crypto.sealing import (
    DEFAULT_SUITE,
    SUPPORTED_SUITES,
    SealedEnvelope,
    SealSuite,
    negotiate_suite,
    open_sealed,
    seal,
)
from accord.errors import IntegrityError, ValidationError

FINGERPRINT = "a" * 64
OTHER_FINGERPRINT = "b" * 64
PAYLOAD = b'{"record": "Missile launch assessment"}'
SUITES = pytest.mark.parametrize("suite", list(SealSuite), ids=["hybrid", "x25519"])


def sealed(recipient, suite=DEFAULT_SUITE, payload=PAYLOAD, decision_id="dec-1"):
    return seal(payload, recipient.public, agreement_fingerprint=FINGERPRINT, decision_id=decision_id, suite=suite)


def test_the_hybrid_suite_is_the_default_and_most_preferred():
    assert DEFAULT_SUITE is SealSuite.HYBRID
    assert SUPPORTED_SUITES[0] is SealSuite.HYBRID
    assert SealSuite.HYBRID.hpke_ids == (0x647A, 0x0011, 0x0003)
    assert SealSuite.X25519.hpke_ids == (0x0020, 0x0001, 0x0003)


@SUITES
def test_round_trip(bob, suite):
    envelope = sealed(bob, suite)
    assert envelope.suite is suite
    assert envelope.recipient_key_id == bob.public.kem_key(suite.kem_algorithm).key_id
    assert open_sealed(envelope, bob, agreement_fingerprint=FINGERPRINT) == PAYLOAD
    assert envelope.to_bytes() == canonical_bytes(envelope.to_dict())
    wire = SealedEnvelope.from_bytes(envelope.to_bytes())
    assert wire == envelope
    assert open_sealed(wire, bob.kem, agreement_fingerprint=FINGERPRINT) == PAYLOAD


@SUITES
def test_each_seal_uses_a_fresh_encapsulation(bob, suite):
    first, second = sealed(bob, suite), sealed(bob, suite)
    assert first.enc != second.enc
    assert first.ciphertext != second.ciphertext


def test_sealing_to_a_single_kem_key(bob):
    key = bob.public.kem_key(KeyAlgorithm.X25519)
    envelope = seal(PAYLOAD, key, agreement_fingerprint=FINGERPRINT, decision_id="d", suite=SealSuite.X25519)
    assert open_sealed(envelope, bob, agreement_fingerprint=FINGERPRINT) == PAYLOAD
    with pytest.raises(ValidationError, match="needs a MLKEM768-X25519 key"):
        seal(PAYLOAD, key, agreement_fingerprint=FINGERPRINT, decision_id="d")


@pytest.mark.parametrize(
    ("fingerprint", "decision_id", "message"),
    [("ABC", "d", "64 lowercase hex"), ("A" * 64, "d", "64 lowercase hex"), (FINGERPRINT, "", "decision id")],
    ids=["short", "uppercase", "empty-decision"],
)
def test_seal_refuses_bad_header_values(bob, fingerprint, decision_id, message):
    with pytest.raises(ValidationError, match=message):
        seal(PAYLOAD, bob.public, agreement_fingerprint=fingerprint, decision_id=decision_id)


@SUITES
def test_wrong_recipient_fails(bob, carol, suite):
    envelope = sealed(bob, suite)
    with pytest.raises(IntegrityError):
        open_sealed(envelope, carol, agreement_fingerprint=FINGERPRINT)


@SUITES
def test_right_key_id_but_wrong_private_key_fails(bob, carol, suite):
    envelope = dataclasses.replace(
        sealed(bob, suite), recipient_key_id=carol.public.kem_key(suite.kem_algorithm).key_id
    )
    with pytest.raises(IntegrityError):
        open_sealed(envelope, carol, agreement_fingerprint=FINGERPRINT)


@SUITES
def test_a_different_agreement_fingerprint_fails(bob, suite):
    envelope = sealed(bob, suite)
    with pytest.raises(IntegrityError):
        open_sealed(envelope, bob, agreement_fingerprint=OTHER_FINGERPRINT)
    # Rewriting the header to match the expectation does not help: the header is in the key schedule.
    rewritten = dataclasses.replace(envelope, agreement_fingerprint=OTHER_FINGERPRINT)
    with pytest.raises(IntegrityError):
        open_sealed(rewritten, bob, agreement_fingerprint=OTHER_FINGERPRINT)


@SUITES
@pytest.mark.parametrize("field", ["decision_id", "suite"])
def test_a_changed_header_field_fails(bob, suite, field):
    envelope = sealed(bob, suite)
    if field == "decision_id":
        changed = dataclasses.replace(envelope, decision_id="dec-2")
    else:
        other = next(s for s in SealSuite if s is not suite)
        changed = dataclasses.replace(envelope, suite=other)
    with pytest.raises(IntegrityError):
        open_sealed(changed, bob, agreement_fingerprint=FINGERPRINT)


@SUITES
@pytest.mark.parametrize("part", ["enc", "ciphertext"])
def test_every_single_byte_change_of_enc_and_ciphertext_fails(bob, suite, part):
    envelope = sealed(bob, suite, payload=b"x" * 8)
    data = getattr(envelope, part)
    for index in range(len(data)):
        changed = data[:index] + bytes([data[index] ^ 0x80]) + data[index + 1 :]
        with pytest.raises(IntegrityError):
            open_sealed(dataclasses.replace(envelope, **{part: changed}), bob, agreement_fingerprint=FINGERPRINT)


def _open_wire(wire: bytes, keys) -> bytes:
    return open_sealed(SealedEnvelope.from_bytes(wire), keys, agreement_fingerprint=FINGERPRINT)


@SUITES
def test_every_single_byte_change_of_the_wire_form_fails(bob, suite):
    wire = sealed(bob, suite, payload=b"x" * 8).to_bytes()
    for index in range(len(wire)):
        changed = wire[:index] + bytes([wire[index] ^ 0x01]) + wire[index + 1 :]
        with pytest.raises(IntegrityError):
            _open_wire(changed, bob)


@SUITES
def test_truncated_envelopes_fail(bob, suite):
    envelope = sealed(bob, suite)
    wire = envelope.to_bytes()
    for cut in (1, len(wire) // 2, len(wire) - 1):
        with pytest.raises(IntegrityError):
            _open_wire(wire[:cut], bob)
    for short in (envelope.ciphertext[:-1], envelope.ciphertext[:15], b""):
        with pytest.raises(IntegrityError):
            open_sealed(dataclasses.replace(envelope, ciphertext=short), bob, agreement_fingerprint=FINGERPRINT)
    with pytest.raises(IntegrityError):
        open_sealed(dataclasses.replace(envelope, enc=envelope.enc[:-1]), bob, agreement_fingerprint=FINGERPRINT)


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.update(v=2),
        lambda d: d.update(v=True),
        lambda d: d.update(extra="x"),
        lambda d: d.pop("decision"),
        lambda d: d.update(suite="HPKE-RSA"),
        lambda d: d.update(recipient=""),
        lambda d: d.update(decision="d" * 201),
        lambda d: d.update(enc=d["enc"][:-4]),
        lambda d: d.update(ct=7),
    ],
    ids=[
        "version",
        "version-bool",
        "unknown-field",
        "missing-field",
        "suite",
        "empty-recipient",
        "long-decision",
        "enc-length",
        "ct",
    ],
)
def test_malformed_envelopes_are_the_same_opaque_error(bob, change):
    data = sealed(bob, SealSuite.X25519).to_dict()
    change(data)
    with pytest.raises(IntegrityError) as info:
        SealedEnvelope.from_dict(data)
    assert info.value.message == "sealed envelope failed its integrity check"


@pytest.mark.parametrize("wire", [b"", b"\xff\xfe", b"[]", b'{"v": 1}', b"[" * 100_000])
def test_garbage_on_the_wire_is_an_integrity_error(wire):
    with pytest.raises(IntegrityError):
        SealedEnvelope.from_bytes(wire)


def test_a_non_canonical_spelling_of_a_valid_envelope_is_refused(bob):
    envelope = sealed(bob, SealSuite.X25519)
    spaced = json.dumps(envelope.to_dict(), indent=1).encode()
    with pytest.raises(IntegrityError):
        SealedEnvelope.from_bytes(spaced)


@pytest.mark.parametrize(
    ("offered", "expected"),
    [
        ([SealSuite.X25519.value, SealSuite.HYBRID.value], SealSuite.HYBRID),
        ([SealSuite.X25519.value], SealSuite.X25519),
        (["HPKE-FUTURE", SealSuite.X25519.value], SealSuite.X25519),
    ],
    ids=["both", "fallback", "unknown-ignored"],
)
def test_negotiation_prefers_the_hybrid_and_falls_back_to_x25519(offered, expected):
    assert negotiate_suite(offered) is expected


def test_negotiation_without_a_common_suite_fails_clearly():
    with pytest.raises(ValidationError, match="no sealing suite in common") as info:
        negotiate_suite(["HPKE-FUTURE"])
    assert SealSuite.HYBRID.value in info.value.hint
    with pytest.raises(ValidationError):
        negotiate_suite([SealSuite.HYBRID.value], supported=[SealSuite.X25519])


@settings(max_examples=60, deadline=None)
@given(
    payload=st.binary(max_size=4096), suite=st.sampled_from(list(SealSuite)), decision=st.text(min_size=1, max_size=40)
)
def test_property_open_of_seal_is_identity(bob, payload, suite, decision):
    envelope = seal(payload, bob.public, agreement_fingerprint=FINGERPRINT, decision_id=decision, suite=suite)
    assert _open_wire(envelope.to_bytes(), bob) == payload


@settings(max_examples=200, deadline=None)
@given(data=st.data(), suite=st.sampled_from(list(SealSuite)))
def test_property_any_changed_byte_of_the_wire_form_fails(bob, data, suite):
    wire = sealed(bob, suite, payload=b"payload").to_bytes()
    index = data.draw(st.integers(0, len(wire) - 1), label="index")
    value = data.draw(st.integers(0, 255).filter(lambda b: b != wire[index]), label="byte")
    with pytest.raises(IntegrityError):
        _open_wire(wire[:index] + bytes([value]) + wire[index + 1 :], bob)
