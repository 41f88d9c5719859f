"""Sealed envelopes: a payload encrypted for one recipient node with HPKE (RFC 9180).

Two suites, in order of preference:

- ``HYBRID`` (default): KEM MLKEM768-X25519 ("X-Wing", 0x647A), KDF SHAKE-256
  (0x0011), AEAD ChaCha20-Poly1305 (0x0003), from draft-ietf-hpke-pq. What it seals
  stays secret unless both ML-KEM-768 and X25519 fall, so records sealed today resist
  "harvest now, decrypt later".
- ``X25519``: DHKEM(X25519, HKDF-SHA256) (0x0020), HKDF-SHA256 (0x0001),
  ChaCha20-Poly1305 (0x0003), RFC 9180, for peers that cannot do the hybrid;
  :func:`negotiate_suite` picks it only when the peer offers nothing better.

Each seal is HPKE base mode, single shot: a fresh encapsulation, so a fresh data key,
for every envelope. The HPKE ``info`` is the canonical JSON of the envelope header
(suite, recipient key id, agreement fingerprint, decision id), so the header is bound
into the key schedule. Opening with the wrong key, with any byte of the envelope
changed or cut, or expecting a different agreement fingerprint fails with one opaque
:class:`~accord.errors.IntegrityError`, and so does reading a malformed envelope.

Signatures are not made here (see ``accord.crypto.release``); nothing reads the clock.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke

from accord.canonical import canonical_bytes, canonical_object
from accord.crypto import _primitives as prim
from accord.crypto._encoding import b64decode, b64encode, b64json
from accord.crypto.keys import KemPrivateKey, KeyAlgorithm, KeyId, NodeKeys, NodePublicKeys, PublicKey
from accord.errors import IntegrityError, ValidationError

__all__ = [
    "DEFAULT_SUITE",
    "SUPPORTED_SUITES",
    "SealSuite",
    "SealedEnvelope",
    "negotiate_suite",
    "open_sealed",
    "seal",
]

_ENVELOPE_VERSION: Final = 1
_VERSION_JSON: Final = canonical_bytes(_ENVELOPE_VERSION)
_INFO_CONTEXT: Final = "accord.sealed-envelope/1"
_FINGERPRINT: Final = re.compile(r"[0-9a-f]{64}")
_MAX_ID: Final = 200
_FIELDS: Final = frozenset({"v", "suite", "recipient", "agreement", "decision", "enc", "ct"})


class SealSuite(StrEnum):
    """An HPKE suite (KEM, KDF, AEAD) an envelope is sealed with."""

    HYBRID = "HPKE-MLKEM768X25519-SHAKE256-CHACHA20POLY1305"
    X25519 = "HPKE-X25519-SHA256-CHACHA20POLY1305"

    @property
    def kem_algorithm(self) -> KeyAlgorithm:
        """The recipient key algorithm this suite needs."""
        return KeyAlgorithm.MLKEM768_X25519 if self is SealSuite.HYBRID else KeyAlgorithm.X25519

    @property
    def hpke_ids(self) -> tuple[int, int, int]:
        """The IANA HPKE (KEM, KDF, AEAD) identifiers."""
        return (0x647A, 0x0011, 0x0003) if self is SealSuite.HYBRID else (0x0020, 0x0001, 0x0003)

    def hpke_suite(self) -> hpke.Suite:
        """The ``cryptography`` HPKE suite object."""
        return _hpke_suite(self)


@cache
def _hpke_suite(suite: SealSuite) -> hpke.Suite:
    if suite is SealSuite.HYBRID:
        return hpke.Suite(hpke.KEM.MLKEM768_X25519, hpke.KDF.SHAKE256, hpke.AEAD.CHACHA20_POLY1305)
    return hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.CHACHA20_POLY1305)


DEFAULT_SUITE: Final = SealSuite.HYBRID
SUPPORTED_SUITES: Final = (SealSuite.HYBRID, SealSuite.X25519)
"""Suites this node can seal and open, most preferred first."""

_ENC_LENGTH: Final = {
    SealSuite.HYBRID: hpke.KEM.MLKEM768_X25519.enc_length(),
    SealSuite.X25519: hpke.KEM.X25519.enc_length(),
}


def negotiate_suite(offered: Iterable[str], *, supported: Iterable[SealSuite] = SUPPORTED_SUITES) -> SealSuite:
    """The first of our ``supported`` suites (our preference order) that the peer offered.

    Unknown names in ``offered`` are ignored; no suite in common is a ``ValidationError``.
    """
    offers = {str(s) for s in offered}
    for suite in supported:
        if suite.value in offers:
            return suite
    msg = f"no sealing suite in common: the peer offers {sorted(offers)}"
    raise ValidationError(msg, hint=f"this node supports {[s.value for s in SUPPORTED_SUITES]}")


def _failed() -> IntegrityError:
    return IntegrityError("sealed envelope failed its integrity check")


@dataclass(frozen=True, slots=True, kw_only=True)
class SealedEnvelope:
    """An HPKE-sealed payload with its authenticated header."""

    suite: SealSuite
    recipient_key_id: KeyId
    agreement_fingerprint: str
    decision_id: str
    enc: bytes = field(repr=False)
    ciphertext: bytes = field(repr=False)
    _wire: bytes = field(default=b"", init=False, repr=False, compare=False)  # to_bytes(), once made

    def info(self) -> bytes:
        """The HPKE ``info``: canonical JSON of the header, bound into the key schedule."""
        return _info(self.suite, self.recipient_key_id, self.agreement_fingerprint, self.decision_id)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (binary fields base64url)."""
        return {
            "v": _ENVELOPE_VERSION,
            "suite": self.suite.value,
            "recipient": self.recipient_key_id,
            "agreement": self.agreement_fingerprint,
            "decision": self.decision_id,
            "enc": b64encode(self.enc),
            "ct": b64encode(self.ciphertext),
        }

    def to_bytes(self) -> bytes:
        """Canonical JSON bytes: the wire form (``canonical_bytes(self.to_dict())``, built directly, once)."""
        if not self._wire:
            object.__setattr__(self, "_wire", self._encode())
        return self._wire

    def _encode(self) -> bytes:
        return canonical_object(
            {
                "v": _VERSION_JSON,
                "suite": canonical_bytes(self.suite.value),
                "recipient": canonical_bytes(self.recipient_key_id),
                "agreement": canonical_bytes(self.agreement_fingerprint),
                "decision": canonical_bytes(self.decision_id),
                "enc": b64json(self.enc),
                "ct": b64json(self.ciphertext),
            }
        )

    @classmethod
    def from_dict(cls, data: object) -> SealedEnvelope:
        """Read the JSON form. Malformed input is the same opaque ``IntegrityError``.

        The envelope is one authenticated unit, so unknown fields are refused rather
        than kept: they could not be authenticated.
        """
        if not isinstance(data, Mapping) or set(data) != _FIELDS:
            raise _failed()
        if type(data["v"]) is not int or data["v"] != _ENVELOPE_VERSION:
            raise _failed()
        texts = [data[k] for k in ("recipient", "agreement", "decision")]
        if not all(isinstance(t, str) and 0 < len(t) <= _MAX_ID for t in texts):
            raise _failed()
        try:
            suite = SealSuite(data["suite"])
            enc, ciphertext = b64decode(data["enc"]), b64decode(data["ct"])
        except (ValueError, TypeError) as e:
            raise _failed() from e
        if len(enc) != _ENC_LENGTH[suite]:
            raise _failed()
        return cls(
            suite=suite,
            recipient_key_id=KeyId(texts[0]),
            agreement_fingerprint=texts[1],
            decision_id=texts[2],
            enc=enc,
            ciphertext=ciphertext,
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> SealedEnvelope:
        """Read the wire form; it must be exactly the canonical JSON :meth:`to_bytes` gives."""
        try:
            envelope = cls.from_dict(json.loads(data))
        except (ValueError, UnicodeDecodeError, RecursionError) as e:
            raise _failed() from e
        if envelope.to_bytes() != data:
            raise _failed()
        return envelope


def _info(suite: SealSuite, recipient: str, agreement: str, decision: str) -> bytes:
    return canonical_bytes(
        {
            "agreement": agreement,
            "context": _INFO_CONTEXT,
            "decision": decision,
            "recipient": recipient,
            "suite": suite.value,
        }
    )


def _recipient_key(recipient: NodePublicKeys | PublicKey, suite: SealSuite) -> PublicKey:
    if isinstance(recipient, NodePublicKeys):
        return recipient.kem_key(suite.kem_algorithm)
    if recipient.algorithm is not suite.kem_algorithm:
        msg = f"suite {suite.value} needs a {suite.kem_algorithm.value} key, not {recipient.algorithm.value}"
        raise ValidationError(msg)
    return recipient


def seal(
    payload: bytes,
    recipient: NodePublicKeys | PublicKey,
    *,
    agreement_fingerprint: str,
    decision_id: str,
    suite: SealSuite = DEFAULT_SUITE,
) -> SealedEnvelope:
    """Seal ``payload`` for ``recipient`` under ``suite``, binding the agreement and decision.

    ``recipient`` is the node's descriptor (its key for the suite is used) or one KEM
    public key. ``agreement_fingerprint`` is the agreement version's hex SHA-256.
    """
    suite = SealSuite(suite)
    if not _FINGERPRINT.fullmatch(agreement_fingerprint):
        msg = f"agreement fingerprint must be 64 lowercase hex digits, not {agreement_fingerprint!r}"
        raise ValidationError(msg)
    if not 0 < len(decision_id) <= _MAX_ID:
        msg = f"decision id must be 1 to {_MAX_ID} characters, not {len(decision_id)}"
        raise ValidationError(msg)
    key = _recipient_key(recipient, suite)
    if suite is SealSuite.HYBRID:
        public: Any = prim.xwing_public(key.public_bytes)
    else:
        public = prim.x25519_public(key.public_bytes)
    info = _info(suite, key.key_id, agreement_fingerprint, decision_id)
    sealed = suite.hpke_suite().encrypt(payload, public, info=info)
    split = _ENC_LENGTH[suite]
    return SealedEnvelope(
        suite=suite,
        recipient_key_id=key.key_id,
        agreement_fingerprint=agreement_fingerprint,
        decision_id=decision_id,
        enc=sealed[:split],
        ciphertext=sealed[split:],
    )


def open_sealed(
    envelope: SealedEnvelope, keys: NodeKeys | Iterable[KemPrivateKey], *, agreement_fingerprint: str
) -> bytes:
    """The payload of ``envelope``, opened with whichever of ``keys`` it was sealed for.

    ``agreement_fingerprint`` is the fingerprint the recipient expects (of its own copy
    of the agreement). Any failure is the same opaque ``IntegrityError``.
    """
    candidates = keys.kem if isinstance(keys, NodeKeys) else tuple(keys)
    key = next(
        (
            k
            for k in candidates
            if k.key_id == envelope.recipient_key_id and k.algorithm is envelope.suite.kem_algorithm
        ),
        None,
    )
    if key is None or envelope.agreement_fingerprint != agreement_fingerprint:
        raise _failed()
    if len(envelope.enc) != _ENC_LENGTH[envelope.suite]:
        raise _failed()
    info = _info(envelope.suite, key.key_id, agreement_fingerprint, envelope.decision_id)
    try:
        return envelope.suite.hpke_suite().decrypt(envelope.enc + envelope.ciphertext, key.hpke_key, info=info)
    except (InvalidTag, ValueError) as e:
        raise _failed() from e
