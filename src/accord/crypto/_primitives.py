"""The one place that turns raw key bytes into ``cryptography`` key objects.

Public keys arrive as bytes (descriptors, pinned peers); sealing and verification need
library objects. Parsing an ML-KEM or ML-DSA public key is not free, so parsed public
keys are cached by their bytes (public data only; private keys are never cached here).

The X-Wing private key is its 32-byte seed, expanded with SHAKE-256 into the ML-KEM-768
seed (64 bytes) and the X25519 private key (32 bytes), exactly as
draft-connolly-cfrg-xwing-kem and draft-ietf-hpke-pq (KEM 0x647A) specify; the
published HPKE vectors in ``tests/vectors`` check this. The public key is the ML-KEM
public key followed by the X25519 one (1184 + 32 bytes).

Nothing here signs, seals or decides which key to use.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Final

from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import ed25519, mldsa, mlkem, x25519

__all__ = [
    "ED25519_PUBLIC_LENGTH",
    "MLDSA65_PUBLIC_LENGTH",
    "SEED_LENGTH",
    "X25519_PUBLIC_LENGTH",
    "XWING_PUBLIC_LENGTH",
    "ed25519_public",
    "mldsa65_public",
    "x25519_public",
    "xwing_private",
    "xwing_public",
]

SEED_LENGTH: Final = 32
ED25519_PUBLIC_LENGTH: Final = 32
MLDSA65_PUBLIC_LENGTH: Final = 1952
X25519_PUBLIC_LENGTH: Final = 32
_MLKEM768_PUBLIC_LENGTH: Final = 1184
XWING_PUBLIC_LENGTH: Final = _MLKEM768_PUBLIC_LENGTH + X25519_PUBLIC_LENGTH
_CACHE: Final = 1024


def _check_length(raw: bytes, length: int, what: str) -> None:
    if len(raw) != length:
        msg = f"{what} public key must be {length} bytes, not {len(raw)}"
        raise ValueError(msg)


@lru_cache(maxsize=_CACHE)
def ed25519_public(raw: bytes) -> ed25519.Ed25519PublicKey:
    """Parse a raw Ed25519 public key; ``ValueError`` if it is not one."""
    _check_length(raw, ED25519_PUBLIC_LENGTH, "an Ed25519")
    return ed25519.Ed25519PublicKey.from_public_bytes(raw)


@lru_cache(maxsize=_CACHE)
def mldsa65_public(raw: bytes) -> mldsa.MLDSA65PublicKey:
    """Parse a raw ML-DSA-65 public key; ``ValueError`` if it is not one."""
    _check_length(raw, MLDSA65_PUBLIC_LENGTH, "an ML-DSA-65")
    return mldsa.MLDSA65PublicKey.from_public_bytes(raw)


@lru_cache(maxsize=_CACHE)
def x25519_public(raw: bytes) -> x25519.X25519PublicKey:
    """Parse a raw X25519 public key; ``ValueError`` if it is not one."""
    _check_length(raw, X25519_PUBLIC_LENGTH, "an X25519")
    return x25519.X25519PublicKey.from_public_bytes(raw)


@lru_cache(maxsize=_CACHE)
def xwing_public(raw: bytes) -> hpke.MLKEM768X25519PublicKey:
    """Parse an X-Wing public key (ML-KEM-768 key then X25519 key); ``ValueError`` if not one."""
    _check_length(raw, XWING_PUBLIC_LENGTH, "an MLKEM768-X25519")
    return hpke.MLKEM768X25519PublicKey(
        mlkem.MLKEM768PublicKey.from_public_bytes(raw[:_MLKEM768_PUBLIC_LENGTH]),
        x25519.X25519PublicKey.from_public_bytes(raw[_MLKEM768_PUBLIC_LENGTH:]),
    )


def xwing_private(seed: bytes) -> tuple[hpke.MLKEM768X25519PrivateKey, bytes]:
    """Expand a 32-byte X-Wing seed into the HPKE private key and its public key bytes."""
    if len(seed) != SEED_LENGTH:
        msg = f"an MLKEM768-X25519 seed must be {SEED_LENGTH} bytes, not {len(seed)}"
        raise ValueError(msg)
    expanded = hashlib.shake_256(seed).digest(96)
    mlkem_key = mlkem.MLKEM768PrivateKey.from_seed_bytes(expanded[:64])
    x25519_key = x25519.X25519PrivateKey.from_private_bytes(expanded[64:])
    public = mlkem_key.public_key().public_bytes_raw() + x25519_key.public_key().public_bytes_raw()
    return hpke.MLKEM768X25519PrivateKey(mlkem_key, x25519_key), public
