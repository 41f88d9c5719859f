"""Detached signatures over canonical JSON.

Every signed byte is RFC 8785 canonical JSON: :func:`signed_bytes` wraps the value with
the purpose it is signed for (``{"payload": value, "purpose": purpose}``), so a
signature made for one purpose (a record, a receipt, a checkpoint) never verifies for
another. A :class:`Signature` names its algorithm and key id; verifiers look the key up
among keys pinned for the signer (including retired ones, for old signatures).

Per-record signatures are Ed25519. Long-lived statements (audit checkpoints, peer
descriptors, agreement attestations) carry a :class:`CompositeSignature`: Ed25519 and
ML-DSA-65 (FIPS 204, pure mode, empty context) over the same bytes, and a verifier
requires every algorithm it was built with, so it stays sound while either holds.

Every verification failure (unknown key, wrong algorithm, bad or malformed signature)
raises the same opaque :class:`~accord.errors.IntegrityError`. Nothing here reads the
clock; pick the keys valid at a time with ``KeyRing.public_keys(at=...)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from cryptography.exceptions import InvalidSignature

from accord.canonical import canonical_bytes, canonical_object
from accord.crypto import _primitives as prim
from accord.crypto._encoding import b64decode, b64encode
from accord.crypto.keys import SIGNATURE_ALGORITHMS, KeyAlgorithm, KeyId, NodeKeys, PublicKey
from accord.errors import IntegrityError, ValidationError

__all__ = [
    "LONG_TERM_ALGORITHMS",
    "CompositeSignature",
    "CompositeSigner",
    "CompositeVerifier",
    "Ed25519Signer",
    "MlDsa65Signer",
    "PinnedKeyVerifier",
    "Signature",
    "Signer",
    "Verifier",
    "sign_value",
    "signed_bytes",
    "signed_bytes_of",
    "verify_value",
]

LONG_TERM_ALGORITHMS: Final = (KeyAlgorithm.ED25519, KeyAlgorithm.ML_DSA_65)
"""The algorithms a long-lived signature carries, all of which must verify."""

_FAILED: Final = "signature verification failed"


def _failed() -> IntegrityError:
    return IntegrityError(_FAILED)


@dataclass(frozen=True, slots=True, kw_only=True)
class Signature:
    """A detached signature: algorithm, the signing key's id, and the signature bytes."""

    algorithm: KeyAlgorithm
    key_id: KeyId
    value: bytes = field(repr=False)

    def to_dict(self) -> dict[str, str]:
        """JSON form."""
        return {"algorithm": self.algorithm.value, "key_id": self.key_id, "signature": b64encode(self.value)}

    @classmethod
    def from_dict(cls, data: object) -> Signature:
        """Read the JSON form; anything malformed is an opaque ``IntegrityError``."""
        try:
            if not isinstance(data, Mapping) or set(data) != {"algorithm", "key_id", "signature"}:
                raise _failed()
            key_id = data["key_id"]
            if not isinstance(key_id, str):
                raise _failed()
            return cls(
                algorithm=KeyAlgorithm(data["algorithm"]),
                key_id=KeyId(key_id),
                value=b64decode(data["signature"]),
            )
        except (ValueError, TypeError) as e:
            raise _failed() from e


class Signer(Protocol):
    """Signs bytes with one private key."""

    @property
    def key_id(self) -> KeyId:
        """The id of the public key that verifies these signatures."""
        ...

    def sign(self, data: bytes) -> Signature:
        """A detached signature over ``data``."""
        ...


class Verifier(Protocol):
    """Checks a signature over bytes, raising ``IntegrityError`` if it does not hold."""

    def verify(self, signature: Signature, data: bytes) -> None:
        """Return if ``signature`` is valid for ``data``; raise ``IntegrityError`` otherwise."""
        ...


class _KeySigner:
    """Signs with one private key of a node, through the library's ``sign``."""

    __slots__ = ("_algorithm", "_key_id", "_sign")

    def __init__(self, algorithm: KeyAlgorithm, public: PublicKey, sign: Callable[[bytes], bytes]) -> None:
        self._algorithm = algorithm
        self._key_id = public.key_id
        self._sign = sign

    @property
    def key_id(self) -> KeyId:
        """The public key's id."""
        return self._key_id

    def sign(self, data: bytes) -> Signature:
        """A signature over ``data``."""
        return Signature(algorithm=self._algorithm, key_id=self._key_id, value=self._sign(data))


class Ed25519Signer(_KeySigner):
    """Signs with the node's Ed25519 key (per-record signatures)."""

    __slots__ = ()

    def __init__(self, keys: NodeKeys) -> None:
        """Use the Ed25519 key of ``keys``."""
        super().__init__(KeyAlgorithm.ED25519, keys.public.signing, keys.ed25519_key.sign)


class MlDsa65Signer(_KeySigner):
    """Signs with the node's ML-DSA-65 key (pure mode, empty context)."""

    __slots__ = ()

    def __init__(self, keys: NodeKeys) -> None:
        """Use the ML-DSA-65 key of ``keys``."""
        super().__init__(KeyAlgorithm.ML_DSA_65, keys.public.pq_signing, keys.mldsa65_key.sign)


class PinnedKeyVerifier:
    """Verifies signatures made by any of a fixed set of public keys, found by key id."""

    __slots__ = ("_keys",)

    def __init__(self, keys: Iterable[PublicKey]) -> None:
        """Pin these keys; keys that cannot sign are refused."""
        pinned: dict[KeyId, PublicKey] = {}
        for key in keys:
            if key.algorithm not in SIGNATURE_ALGORITHMS:
                msg = f"a {key.algorithm.value} key cannot verify signatures"
                raise ValidationError(msg)
            pinned[key.key_id] = key
        self._keys = pinned

    def verify(self, signature: Signature, data: bytes) -> None:
        """Raise ``IntegrityError`` unless a pinned key of that algorithm made ``signature``."""
        key = self._keys.get(signature.key_id)
        if key is None or key.algorithm is not signature.algorithm:
            raise _failed()
        try:
            if key.algorithm is KeyAlgorithm.ED25519:
                prim.ed25519_public(key.public_bytes).verify(signature.value, data)
            else:
                prim.mldsa65_public(key.public_bytes).verify(signature.value, data)
        except (InvalidSignature, ValueError) as e:
            raise _failed() from e


@dataclass(frozen=True, slots=True)
class CompositeSignature:
    """Signatures by several algorithms over the same bytes (Ed25519 and ML-DSA-65)."""

    parts: tuple[Signature, ...]

    def to_dict(self) -> dict[str, list[dict[str, str]]]:
        """JSON form."""
        return {"signatures": [p.to_dict() for p in self.parts]}

    @classmethod
    def from_dict(cls, data: object) -> CompositeSignature:
        """Read the JSON form; anything malformed is an opaque ``IntegrityError``."""
        if not isinstance(data, Mapping) or set(data) != {"signatures"} or not isinstance(data["signatures"], list):
            raise _failed()
        return cls(tuple(Signature.from_dict(p) for p in data["signatures"]))


class CompositeSigner:
    """Signs long-lived statements with every key of :data:`LONG_TERM_ALGORITHMS`."""

    __slots__ = ("_signers",)

    def __init__(self, keys: NodeKeys) -> None:
        """Use the Ed25519 and ML-DSA-65 keys of ``keys``."""
        self._signers: tuple[Signer, ...] = (Ed25519Signer(keys), MlDsa65Signer(keys))

    def sign(self, data: bytes) -> CompositeSignature:
        """One signature per algorithm over ``data``."""
        return CompositeSignature(tuple(s.sign(data) for s in self._signers))


class CompositeVerifier:
    """Requires one valid signature per required algorithm, each by a pinned key.

    An empty requirement fails closed, and so does a signature part of an algorithm
    that was not required (nothing unchecked rides along).
    """

    __slots__ = ("_pinned", "_required")

    def __init__(self, keys: Iterable[PublicKey], *, required: Iterable[KeyAlgorithm] = LONG_TERM_ALGORITHMS) -> None:
        """Pin ``keys`` and require signatures by each of ``required``."""
        self._pinned = PinnedKeyVerifier(keys)
        self._required = frozenset(required)

    def verify(self, signature: CompositeSignature, data: bytes) -> None:
        """Raise ``IntegrityError`` unless every required algorithm signed ``data``."""
        algorithms = [p.algorithm for p in signature.parts]
        if not self._required or len(set(algorithms)) != len(algorithms) or set(algorithms) != self._required:
            raise _failed()
        for part in signature.parts:
            self._pinned.verify(part, data)


def signed_bytes(value: Any, *, purpose: str) -> bytes:  # noqa: ANN401 - any JSON value
    """The bytes a signature covers: canonical JSON of the value and its purpose."""
    return signed_bytes_of(canonical_bytes(value), purpose=purpose)


def signed_bytes_of(encoded: bytes, *, purpose: str) -> bytes:
    """:func:`signed_bytes` of a value given as its canonical JSON (``canonical_bytes``).

    For a value that is also sealed or stored: it is encoded once, not once per use.
    """
    if not purpose:
        msg = "a signature needs a purpose (for example 'accord.record/1')"
        raise ValidationError(msg)
    return canonical_object({"payload": encoded, "purpose": canonical_bytes(purpose)})


def sign_value(signer: Signer, value: Any, *, purpose: str) -> Signature:  # noqa: ANN401 - any JSON value
    """Sign the canonical JSON of ``value`` for ``purpose``."""
    return signer.sign(signed_bytes(value, purpose=purpose))


def verify_value(verifier: Verifier, signature: Signature, value: Any, *, purpose: str) -> None:  # noqa: ANN401
    """Raise ``IntegrityError`` unless ``signature`` covers ``value`` for ``purpose``."""
    verifier.verify(signature, signed_bytes(value, purpose=purpose))
