"""Node identity: key pairs, key ids, the public descriptor and key rotation.

A node holds four private keys, each kept as a 32-byte seed:

- Ed25519, for per-record signatures (fast);
- ML-DSA-65 (FIPS 204), signed beside Ed25519 on long-lived statements (audit
  checkpoints, peer descriptors, agreement attestations);
- MLKEM768-X25519 ("X-Wing", HPKE KEM 0x647A), the default sealing KEM, which stays
  secret as long as either ML-KEM-768 or X25519 holds;
- X25519 (HPKE DHKEM 0x0020), the sealing fallback for peers without the hybrid.

A key id is the hex SHA-256 of the raw public key bytes. ``NodePublicKeys`` is the
JSON-able descriptor peers pin; its fingerprint is the SHA-256 of its canonical JSON.
``KeyRing`` keeps the current private keys and every generation of public keys with
the time span it was valid for, so signatures made before a rotation still verify.
Rotation drops the retired *signing* private keys (nothing may be signed with them
again) but keeps the retired *KEM* private keys, so envelopes sealed to the old keys
before the rotation still open (see docs/adr/0006-key-storage-and-rotation.md).

Not here: the encrypted key file (``accord.crypto.keystore``), signing, sealing, and
the clock (rotation takes the time it happens as a parameter).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final, NewType, TypeVar

from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import ed25519, mldsa, x25519

from accord.canonical import sha256_hex
from accord.crypto import _primitives as prim
from accord.crypto._encoding import b64decode, b64encode
from accord.errors import UnknownReferenceError, ValidationError

__all__ = [
    "KEM_ALGORITHMS",
    "SIGNATURE_ALGORITHMS",
    "KemPrivateKey",
    "KeyAlgorithm",
    "KeyGeneration",
    "KeyId",
    "KeyRing",
    "NodeKeys",
    "NodePublicKeys",
    "PublicKey",
    "check_key_history",
    "generations_during",
    "key_id_for",
]

KeyId = NewType("KeyId", str)
"""Hex SHA-256 of a raw public key."""

_DESCRIPTOR_FORMAT: Final = "accord.node-public-keys/1"


class KeyAlgorithm(StrEnum):
    """The key algorithms a node holds."""

    ED25519 = "Ed25519"
    ML_DSA_65 = "ML-DSA-65"
    MLKEM768_X25519 = "MLKEM768-X25519"
    X25519 = "X25519"


SIGNATURE_ALGORITHMS: Final = frozenset({KeyAlgorithm.ED25519, KeyAlgorithm.ML_DSA_65})
KEM_ALGORITHMS: Final = (KeyAlgorithm.MLKEM768_X25519, KeyAlgorithm.X25519)
"""KEM algorithms in the order a node prefers them."""

_PARSERS: Final[Mapping[KeyAlgorithm, Any]] = {
    KeyAlgorithm.ED25519: prim.ed25519_public,
    KeyAlgorithm.ML_DSA_65: prim.mldsa65_public,
    KeyAlgorithm.MLKEM768_X25519: prim.xwing_public,
    KeyAlgorithm.X25519: prim.x25519_public,
}


def key_id_for(public_bytes: bytes) -> KeyId:
    """The key id of a raw public key: its hex SHA-256."""
    return KeyId(hashlib.sha256(public_bytes).hexdigest())


def _algorithm(value: object, what: str) -> KeyAlgorithm:
    try:
        return KeyAlgorithm(str(value))
    except ValueError:
        known = ", ".join(a.value for a in KeyAlgorithm)
        msg = f"{what}: unknown key algorithm {value!r} (known: {known})"
        raise ValidationError(msg) from None


def _mapping(value: object, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        msg = f"{what} must be a JSON object, not {type(value).__name__}"
        raise ValidationError(msg)
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class PublicKey:
    """One public key: its algorithm and raw bytes; the key id is derived from them."""

    algorithm: KeyAlgorithm
    public_bytes: bytes = field(repr=False)
    key_id: KeyId = field(init=False)

    def __post_init__(self) -> None:
        """Check the bytes are a valid key of that algorithm and derive the key id."""
        algorithm = _algorithm(self.algorithm, "public key")
        try:
            _PARSERS[algorithm](bytes(self.public_bytes))
        except ValueError as e:
            msg = f"not a valid {algorithm.value} public key: {e}"
            raise ValidationError(msg) from e
        object.__setattr__(self, "algorithm", algorithm)
        object.__setattr__(self, "public_bytes", bytes(self.public_bytes))
        object.__setattr__(self, "key_id", key_id_for(self.public_bytes))

    def to_dict(self) -> dict[str, str]:
        """JSON form: algorithm, key id and base64url key bytes."""
        return {
            "algorithm": self.algorithm.value,
            "key_id": self.key_id,
            "public_key": b64encode(self.public_bytes),
        }

    @classmethod
    def from_dict(cls, data: object) -> PublicKey:
        """Read the JSON form; the stated key id must match the key bytes."""
        d = _mapping(data, "public key")
        try:
            raw = b64decode(d.get("public_key"))
        except ValueError as e:
            msg = f"public key: 'public_key' is not base64url ({e})"
            raise ValidationError(msg) from e
        key = cls(algorithm=_algorithm(d.get("algorithm"), "public key"), public_bytes=raw)
        if d.get("key_id") != key.key_id:
            msg = f"public key: key_id {d.get('key_id')!r} does not match the key (expected {key.key_id})"
            raise ValidationError(msg)
        return key


def _seed(value: bytes | None, what: str) -> bytes:
    if value is None:
        return os.urandom(prim.SEED_LENGTH)
    if len(value) != prim.SEED_LENGTH:
        msg = f"{what} seed must be {prim.SEED_LENGTH} bytes, not {len(value)}"
        raise ValidationError(msg)
    return bytes(value)


HpkePrivateKey = hpke.MLKEM768X25519PrivateKey | x25519.X25519PrivateKey


@dataclass(frozen=True, slots=True)
class KemPrivateKey:
    """A key-encapsulation private key (X-Wing or X25519), kept as its 32-byte seed."""

    algorithm: KeyAlgorithm
    seed: bytes = field(repr=False)
    public_key: PublicKey = field(init=False)
    hpke_key: HpkePrivateKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Derive the HPKE key object and the public key from the seed."""
        algorithm = _algorithm(self.algorithm, "KEM key")
        seed = _seed(self.seed, f"{algorithm.value} KEM key")
        hpke_key: HpkePrivateKey
        if algorithm is KeyAlgorithm.MLKEM768_X25519:
            hpke_key, public = prim.xwing_private(seed)
        elif algorithm is KeyAlgorithm.X25519:
            hpke_key = x25519.X25519PrivateKey.from_private_bytes(seed)
            public = hpke_key.public_key().public_bytes_raw()
        else:
            msg = f"{algorithm.value} is not a key-encapsulation algorithm"
            raise ValidationError(msg)
        object.__setattr__(self, "algorithm", algorithm)
        object.__setattr__(self, "seed", seed)
        object.__setattr__(self, "hpke_key", hpke_key)
        object.__setattr__(self, "public_key", PublicKey(algorithm=algorithm, public_bytes=public))

    @classmethod
    def generate(cls, algorithm: KeyAlgorithm) -> KemPrivateKey:
        """A fresh random key of the given KEM algorithm."""
        return cls(algorithm, os.urandom(prim.SEED_LENGTH))

    @property
    def key_id(self) -> KeyId:
        """The key id of the public key."""
        return self.public_key.key_id


_Kem = TypeVar("_Kem", PublicKey, KemPrivateKey)


def _kem_of(keys: tuple[_Kem, ...], algorithm: KeyAlgorithm) -> _Kem:
    for key in keys:
        if key.algorithm is algorithm:
            return key
    msg = f"the node has no {algorithm.value} key (it has {[k.algorithm.value for k in keys]})"
    raise ValidationError(msg)


@dataclass(frozen=True, slots=True, kw_only=True)
class NodePublicKeys:
    """A node's public keys, as peers pin them: signing, post-quantum signing, KEM keys."""

    signing: PublicKey
    pq_signing: PublicKey
    kem: tuple[PublicKey, ...]

    def __post_init__(self) -> None:
        """Check each key has the algorithm its role needs."""
        if self.signing.algorithm is not KeyAlgorithm.ED25519:
            msg = f"the signing key must be Ed25519, not {self.signing.algorithm.value}"
            raise ValidationError(msg)
        if self.pq_signing.algorithm is not KeyAlgorithm.ML_DSA_65:
            msg = f"the post-quantum signing key must be ML-DSA-65, not {self.pq_signing.algorithm.value}"
            raise ValidationError(msg)
        kem = tuple(self.kem)
        algorithms = [k.algorithm for k in kem]
        if not kem or any(a not in KEM_ALGORITHMS for a in algorithms) or len(set(algorithms)) != len(algorithms):
            msg = f"KEM keys must be one or more distinct KEM algorithms, not {[a.value for a in algorithms]}"
            raise ValidationError(msg)
        object.__setattr__(self, "kem", kem)

    @property
    def fingerprint(self) -> str:
        """Hex SHA-256 of the canonical JSON of the descriptor: what a peer pins."""
        return sha256_hex(self.to_dict())

    @property
    def keys(self) -> tuple[PublicKey, ...]:
        """Every public key in the descriptor."""
        return (self.signing, self.pq_signing, *self.kem)

    def kem_key(self, algorithm: KeyAlgorithm) -> PublicKey:
        """The KEM public key of that algorithm; ``ValidationError`` if the node has none."""
        return _kem_of(self.kem, algorithm)

    def to_dict(self) -> dict[str, Any]:
        """JSON form of the descriptor."""
        return {
            "format": _DESCRIPTOR_FORMAT,
            "signing": self.signing.to_dict(),
            "pq_signing": self.pq_signing.to_dict(),
            "kem": [k.to_dict() for k in self.kem],
        }

    @classmethod
    def from_dict(cls, data: object) -> NodePublicKeys:
        """Read the JSON form of a descriptor."""
        d = _mapping(data, "node public keys")
        if d.get("format") != _DESCRIPTOR_FORMAT:
            msg = f"node public keys: format must be {_DESCRIPTOR_FORMAT!r}, not {d.get('format')!r}"
            raise ValidationError(msg)
        kem = d.get("kem")
        if not isinstance(kem, list):
            msg = "node public keys: 'kem' must be a list"
            raise ValidationError(msg)
        return cls(
            signing=PublicKey.from_dict(d.get("signing")),
            pq_signing=PublicKey.from_dict(d.get("pq_signing")),
            kem=tuple(PublicKey.from_dict(k) for k in kem),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeKeys:
    """A node's private keys (never leave the node); ``public`` is what peers get."""

    signing_seed: bytes = field(repr=False)
    pq_signing_seed: bytes = field(repr=False)
    kem: tuple[KemPrivateKey, ...]
    ed25519_key: ed25519.Ed25519PrivateKey = field(init=False, repr=False, compare=False)
    mldsa65_key: mldsa.MLDSA65PrivateKey = field(init=False, repr=False, compare=False)
    public: NodePublicKeys = field(init=False)

    def __post_init__(self) -> None:
        """Derive the key objects and the public descriptor from the seeds."""
        signing_seed = _seed(self.signing_seed, "Ed25519")
        pq_seed = _seed(self.pq_signing_seed, "ML-DSA-65")
        ed_key = ed25519.Ed25519PrivateKey.from_private_bytes(signing_seed)
        pq_key = mldsa.MLDSA65PrivateKey.from_seed_bytes(pq_seed)
        kem = tuple(self.kem)
        object.__setattr__(self, "signing_seed", signing_seed)
        object.__setattr__(self, "pq_signing_seed", pq_seed)
        object.__setattr__(self, "kem", kem)
        object.__setattr__(self, "ed25519_key", ed_key)
        object.__setattr__(self, "mldsa65_key", pq_key)
        public = NodePublicKeys(
            signing=PublicKey(algorithm=KeyAlgorithm.ED25519, public_bytes=ed_key.public_key().public_bytes_raw()),
            pq_signing=PublicKey(algorithm=KeyAlgorithm.ML_DSA_65, public_bytes=pq_key.public_key().public_bytes_raw()),
            kem=tuple(k.public_key for k in kem),
        )
        object.__setattr__(self, "public", public)

    @classmethod
    def generate(cls) -> NodeKeys:
        """Fresh random keys: Ed25519, ML-DSA-65, and both KEM keys (hybrid first)."""
        return cls(
            signing_seed=os.urandom(prim.SEED_LENGTH),
            pq_signing_seed=os.urandom(prim.SEED_LENGTH),
            kem=tuple(KemPrivateKey.generate(a) for a in KEM_ALGORITHMS),
        )

    def kem_key(self, algorithm: KeyAlgorithm) -> KemPrivateKey:
        """The KEM private key of that algorithm; ``ValidationError`` if there is none."""
        return _kem_of(self.kem, algorithm)

    def seeds_to_dict(self) -> dict[str, str]:
        """The private seeds as JSON (base64url); only the key store may write this out."""
        out = {
            KeyAlgorithm.ED25519.value: b64encode(self.signing_seed),
            KeyAlgorithm.ML_DSA_65.value: b64encode(self.pq_signing_seed),
        }
        out.update({k.algorithm.value: b64encode(k.seed) for k in self.kem})
        return out

    @classmethod
    def seeds_from_dict(cls, data: object) -> NodeKeys:
        """Rebuild the keys from :meth:`seeds_to_dict` output."""
        d = _mapping(data, "private keys")

        def seed(algorithm: KeyAlgorithm) -> bytes:
            try:
                return b64decode(d.get(algorithm.value))
            except ValueError as e:
                msg = f"private keys: the {algorithm.value} seed is missing or malformed"
                raise ValidationError(msg) from e

        return cls(
            signing_seed=seed(KeyAlgorithm.ED25519),
            pq_signing_seed=seed(KeyAlgorithm.ML_DSA_65),
            kem=tuple(KemPrivateKey(a, seed(a)) for a in KEM_ALGORITHMS if a.value in d),
        )


def _aware(value: object, what: str) -> dt.datetime:
    if not isinstance(value, dt.datetime) or value.tzinfo is None or value.utcoffset() is None:
        msg = f"{what} must be a timezone-aware datetime, not {value!r}"
        raise ValidationError(msg)
    return value


def _time(value: object, what: str) -> dt.datetime:
    if not isinstance(value, str):
        msg = f"{what} must be an ISO 8601 timestamp, not {value!r}"
        raise ValidationError(msg)
    try:
        return _aware(dt.datetime.fromisoformat(value), what)
    except ValueError as e:
        msg = f"{what}: {value!r} is not an ISO 8601 timestamp"
        raise ValidationError(msg) from e


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyGeneration:
    """One generation of a node's public keys and when it was valid: [from, until)."""

    public: NodePublicKeys
    valid_from: dt.datetime
    valid_until: dt.datetime | None = None

    def __post_init__(self) -> None:
        """Times are timezone-aware and the span is not empty."""
        _aware(self.valid_from, "valid_from")
        if self.valid_until is not None and _aware(self.valid_until, "valid_until") <= self.valid_from:
            msg = f"a key generation must end after it starts ({self.valid_from} .. {self.valid_until})"
            raise ValidationError(msg)

    def valid_at(self, at: dt.datetime) -> bool:
        """Whether these keys were the node's keys at ``at``."""
        at = _aware(at, "at")
        return self.valid_from <= at and (self.valid_until is None or at < self.valid_until)

    def overlaps(self, start: dt.datetime, end: dt.datetime) -> bool:
        """Whether these keys were the node's keys at some time in ``[start, end)``.

        For a time stamped to a coarser precision than the rotation (a checkpoint stamped
        to the second, ``end = start + 1 s``) either generation of that second may have
        signed.
        """
        start, end = _aware(start, "start"), _aware(end, "end")
        return self.valid_from < end and (self.valid_until is None or start < self.valid_until)

    def to_dict(self) -> dict[str, Any]:
        """JSON form: the descriptor and its validity span."""
        return {
            "public": self.public.to_dict(),
            "valid_from": self.valid_from.isoformat(),
            "valid_until": None if self.valid_until is None else self.valid_until.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: object) -> KeyGeneration:
        """Read the JSON form."""
        d = _mapping(data, "key generation")
        until = d.get("valid_until")
        return cls(
            public=NodePublicKeys.from_dict(d.get("public")),
            valid_from=_time(d.get("valid_from"), "valid_from"),
            valid_until=None if until is None else _time(until, "valid_until"),
        )


def check_key_history(generations: Iterable[KeyGeneration]) -> tuple[KeyGeneration, ...]:
    """Check a key history (oldest first): not empty, contiguous, the last one open-ended.

    Returns it as a tuple; raises ``ValidationError`` naming the first problem.
    """
    history = tuple(generations)
    if not history:
        msg = "a key history needs at least one generation"
        raise ValidationError(msg)
    if history[-1].valid_until is not None:
        msg = "the current key generation must be open-ended"
        raise ValidationError(msg)
    for before, after in itertools.pairwise(history):
        if before.valid_until != after.valid_from:
            msg = (
                "key generations must follow each other: "
                f"one ends {before.valid_until}, the next starts {after.valid_from}"
            )
            raise ValidationError(msg)
    return history


def generations_during(
    generations: Iterable[KeyGeneration], start: dt.datetime, end: dt.datetime
) -> tuple[KeyGeneration, ...]:
    """The generations that were valid at some time in ``[start, end)``, newest first."""
    return tuple(g for g in reversed(tuple(generations)) if g.overlaps(start, end))


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyRing:
    """The current private keys, the retired KEM private keys, and every key generation.

    ``generations`` is oldest first: the last is the current one (open-ended); the ones
    before it are retired and each ended when the next began. ``retired_kem`` keeps the
    KEM private keys of retired generations, so what was sealed to them still opens;
    retired signing private keys are not kept.
    """

    current: NodeKeys
    generations: tuple[KeyGeneration, ...]
    retired_kem: tuple[KemPrivateKey, ...] = ()

    def __post_init__(self) -> None:
        """Check the history is contiguous, ends with the current keys, and owns the retired KEM keys."""
        generations = tuple(self.generations)
        if not generations or generations[-1].public != self.current.public:
            msg = "the last key generation must be the current keys"
            raise ValidationError(msg)
        check_key_history(generations)
        retired_ids = {k.key_id for g in generations[:-1] for k in g.public.kem}
        retired_kem = tuple(self.retired_kem)
        ids = [k.key_id for k in retired_kem]
        if len(set(ids)) != len(ids) or not set(ids) <= retired_ids:
            msg = "each retired KEM private key must be the key of a retired generation, listed once"
            raise ValidationError(msg)
        object.__setattr__(self, "generations", generations)
        object.__setattr__(self, "retired_kem", retired_kem)

    @classmethod
    def create(cls, keys: NodeKeys, *, at: dt.datetime) -> KeyRing:
        """A key ring whose first generation starts at ``at``."""
        return cls(current=keys, generations=(KeyGeneration(public=keys.public, valid_from=at),))

    def rotate(self, *, at: dt.datetime, new: NodeKeys | None = None) -> KeyRing:
        """Retire the current keys at ``at`` and make ``new`` (fresh keys by default) current.

        The retired public keys stay, so what they signed still verifies; the retired
        KEM private keys stay, so what was sealed to them still opens; the retired
        signing private keys are dropped.
        """
        head = self.generations[-1]
        if _aware(at, "at") <= head.valid_from:
            msg = f"a rotation at {at} must come after the current keys' start ({head.valid_from})"
            raise ValidationError(msg)
        keys = new if new is not None else NodeKeys.generate()
        retired = KeyGeneration(public=head.public, valid_from=head.valid_from, valid_until=at)
        return KeyRing(
            current=keys,
            generations=(*self.generations[:-1], retired, KeyGeneration(public=keys.public, valid_from=at)),
            retired_kem=(*self.retired_kem, *self.current.kem),
        )

    def kem_private_keys(self) -> tuple[KemPrivateKey, ...]:
        """Every KEM private key the node holds: the current ones, then the retired ones by generation, newest first."""
        by_id = {k.key_id: k for k in self.retired_kem}
        retired = (by_id[k.key_id] for g in reversed(self.generations[:-1]) for k in g.public.kem if k.key_id in by_id)
        return (*self.current.kem, *retired)

    def find(self, key_id: str) -> tuple[PublicKey, KeyGeneration]:
        """The public key with that id and the generation it belongs to."""
        for generation in reversed(self.generations):
            for key in generation.public.keys:
                if key.key_id == key_id:
                    return key, generation
        msg = f"no key {key_id!r} in this node's key history"
        raise UnknownReferenceError(msg)

    def public_keys(self, *, at: dt.datetime | None = None) -> tuple[PublicKey, ...]:
        """Every public key in the history, or only those valid at ``at``."""
        return tuple(key for g in self.generations if at is None or g.valid_at(at) for key in g.public.keys)

    def history_to_dict(self) -> list[dict[str, Any]]:
        """The public history as JSON, oldest first."""
        return [g.to_dict() for g in self.generations]
