"""Sealed releases round-trip, and any one-byte change to one is detected.

``open(seal(m)) == m`` for any content and bodies; changing any single byte of the
sealed release as it travels (envelope, encapsulated key, ciphertext, hop signatures)
makes opening fail with the one opaque ``IntegrityError``, never with another error
and never with a changed result.
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accord.canonical import canonical_bytes
from accord.crypto import Ed25519Signer, NodeKeys, PinnedKeyVerifier, SealedRelease, open_release, seal_release
from accord.crypto.release import sign_content
from accord.errors import IntegrityError

FINGERPRINT = "a" * 64
ALICE = NodeKeys.generate()  # the originator and sender
BOB = NodeKeys.generate()  # the recipient
TEXT = st.text(max_size=200)
BODIES = st.dictionaries(st.sampled_from(["1", "2", "3"]), st.fixed_dictionaries({"salt": TEXT, "text": TEXT}))
CONTENT = st.fixed_dictionaries({"title": TEXT, "topics": st.lists(TEXT, max_size=3), "n": st.integers(0, 2**31)})


def sealed(content, bodies):
    signer = Ed25519Signer(ALICE)
    signed = sign_content(content, signer, bodies=bodies)
    return signed, seal_release(signed, BOB.public, agreement_fingerprint=FINGERPRINT, decision_id="d", sender=signer)


def opened(release):
    verifier = PinnedKeyVerifier([ALICE.public.signing])
    return open_release(release, BOB, agreement_fingerprint=FINGERPRINT, peers=verifier, originator=verifier)


@settings(max_examples=40, deadline=None)
@given(CONTENT, BODIES)
def test_open_of_seal_is_the_signed_content(content, bodies):
    signed, release = sealed(content, bodies)
    assert opened(release) == signed
    assert opened(SealedRelease.from_dict(json.loads(canonical_bytes(release.to_dict())))) == signed


_SIGNED, _RELEASE = sealed(
    {"title": "Launch warning", "topics": ["dprk-missile"], "n": 1}, {"1": {"salt": "s", "text": "t"}}
)
_WIRE = canonical_bytes(_RELEASE.to_dict())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, len(_WIRE) - 1), st.integers(1, 255))
def test_any_one_byte_change_is_detected(position, delta):
    changed = bytearray(_WIRE)
    changed[position] = (changed[position] + delta) % 256
    try:
        document = json.loads(bytes(changed))
    except (UnicodeDecodeError, ValueError):
        return  # no longer JSON: refused before anything is opened
    try:
        result = opened(SealedRelease.from_dict(document))
    except IntegrityError:
        return
    # A change JSON parsing undoes (e.g. an escape spelled differently) is not a change.
    assert result == _SIGNED
    assert canonical_bytes(SealedRelease.from_dict(document).to_dict()) == _WIRE
