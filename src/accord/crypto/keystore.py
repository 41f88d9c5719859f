"""The node's key file: private keys encrypted at rest under a passphrase.

The file is JSON. Its header (format, KDF and its parameters, salt, AEAD, nonce, and the
public key history) is in clear text; the private seeds are the AES-256-GCM ciphertext
of their canonical JSON under a key derived from the passphrase with scrypt
(RFC 7914), and the canonical JSON of the header is the associated data, so changing
any byte of the file (a retired key, a date, a KDF parameter) makes it fail to open.
A wrong passphrase and a changed file fail the same way, with an
:class:`~accord.errors.IntegrityError` that says what to check.

The passphrase is passed in: entry points read ``ACCORD_KEY_PASSPHRASE``; this module
never reads the environment. Files are written atomically with mode 0600.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from accord.canonical import canonical_bytes
from accord.crypto._encoding import b64decode, b64encode
from accord.crypto._files import atomic_file
from accord.crypto.keys import KeyGeneration, KeyRing, NodeKeys
from accord.errors import IntegrityError, ValidationError

__all__ = [
    "KEY_FILE_NAME",
    "PASSPHRASE_VARIABLE",
    "ScryptParams",
    "decrypt_keyring",
    "encrypt_keyring",
    "load_keyring",
    "save_keyring",
]

KEY_FILE_NAME: Final = "node-keys.json"
"""The key file's name under the node's home (``ACCORD_HOME``)."""

PASSPHRASE_VARIABLE: Final = "ACCORD_KEY_PASSPHRASE"  # noqa: S105 - a variable name, not a secret
"""Where entry points read the passphrase from; named here for error hints only."""

_FORMAT: Final = "accord.node-keys/1"
_KDF: Final = "scrypt"
_AEAD: Final = "AES-256-GCM"
_SALT_LENGTH: Final = 16
_NONCE_LENGTH: Final = 12
_KEY_LENGTH: Final = 32
_MIN_LOG2_N: Final = 14
_MAX_LOG2_N: Final = 20


@dataclass(frozen=True, slots=True, kw_only=True)
class ScryptParams:
    """scrypt cost parameters. The default (N=2^17, r=8, p=1: 128 MiB, ~0.5 s) follows OWASP.

    N between 2^14 and 2^20 is accepted, so a key file cannot ask for an absurd cost.
    """

    n: int = 2**17
    r: int = 8
    p: int = 1

    def __post_init__(self) -> None:
        """Keep the parameters in the accepted range."""
        values: tuple[object, ...] = (self.n, self.r, self.p)
        ints = all(isinstance(v, int) and not isinstance(v, bool) for v in values)
        power = self.n.bit_length() - 1 if ints else 0
        if (
            not ints
            or self.n != 1 << power
            or not _MIN_LOG2_N <= power <= _MAX_LOG2_N
            or not 1 <= self.r <= 32  # noqa: PLR2004 - scrypt's usual bounds
            or not 1 <= self.p <= 16  # noqa: PLR2004
        ):
            msg = f"scrypt parameters out of range: n={self.n} r={self.r} p={self.p} (n a power of two in 2^14..2^20)"
            raise ValidationError(msg)

    def to_dict(self) -> dict[str, int]:
        """JSON form."""
        return {"n": self.n, "r": self.r, "p": self.p}


def _passphrase(passphrase: str | None) -> bytes:
    if not passphrase:
        msg = "no passphrase for the node's private keys"
        raise ValidationError(msg, hint=f"set {PASSPHRASE_VARIABLE} to the node's key passphrase")
    return passphrase.encode("utf-8")


def _derive(passphrase: bytes, salt: bytes, params: ScryptParams) -> bytes:
    return Scrypt(salt=salt, length=_KEY_LENGTH, n=params.n, r=params.r, p=params.p).derive(passphrase)


def encrypt_keyring(ring: KeyRing, passphrase: str | None, *, params: ScryptParams | None = None) -> bytes:
    """The key file's bytes for ``ring``: public history in clear, private seeds encrypted."""
    secret = _passphrase(passphrase)
    params = params or ScryptParams()
    salt = os.urandom(_SALT_LENGTH)
    nonce = os.urandom(_NONCE_LENGTH)
    header: dict[str, Any] = {
        "format": _FORMAT,
        "kdf": {"name": _KDF, "salt": b64encode(salt), **params.to_dict()},
        "aead": {"name": _AEAD, "nonce": b64encode(nonce)},
        "history": ring.history_to_dict(),
    }
    plaintext = canonical_bytes(ring.current.seeds_to_dict())
    ciphertext = AESGCM(_derive(secret, salt, params)).encrypt(nonce, plaintext, canonical_bytes(header))
    return canonical_bytes({**header, "ciphertext": b64encode(ciphertext)})


def _unreadable(where: str, problem: str) -> ValidationError:
    return ValidationError(f"the key file {where} is not a readable Accord key file: {problem}")


def decrypt_keyring(data: bytes, passphrase: str | None, *, where: str = "") -> KeyRing:
    """Open key file bytes with the passphrase.

    Raises:
        ValidationError: no passphrase, or the bytes are not an Accord key file.
        IntegrityError: wrong passphrase, or the file was changed.
    """
    secret = _passphrase(passphrase)
    where = where or "(in memory)"
    try:
        document = json.loads(data)
        header = {k: document[k] for k in ("format", "kdf", "aead", "history")}
        kdf, aead = header["kdf"], header["aead"]
        if header["format"] != _FORMAT or kdf["name"] != _KDF or aead["name"] != _AEAD:
            raise _unreadable(where, f"format {header['format']!r}, expected {_FORMAT!r}")
        params = ScryptParams(n=kdf["n"], r=kdf["r"], p=kdf["p"])
        salt, nonce = b64decode(kdf["salt"]), b64decode(aead["nonce"])
        ciphertext = b64decode(document["ciphertext"])
        aad = canonical_bytes(header)
    except (ValueError, KeyError, TypeError) as e:
        raise _unreadable(where, str(e) or type(e).__name__) from e
    if len(nonce) != _NONCE_LENGTH:
        raise _unreadable(where, "bad nonce length")
    try:
        plaintext = AESGCM(_derive(secret, salt, params)).decrypt(nonce, ciphertext, aad)
    except InvalidTag:
        msg = f"cannot unlock the node's private keys in {where}: wrong passphrase, or the key file was changed"
        raise IntegrityError(msg, hint=f"check {PASSPHRASE_VARIABLE}; restore the key file from a backup") from None
    current = NodeKeys.seeds_from_dict(json.loads(plaintext))
    history = header["history"]
    if not isinstance(history, list):
        raise _unreadable(where, "'history' must be a list")
    return KeyRing(current=current, generations=tuple(KeyGeneration.from_dict(g) for g in history))


def save_keyring(path: Path, ring: KeyRing, passphrase: str | None, *, params: ScryptParams | None = None) -> None:
    """Write the key file atomically (temporary file, fsync, rename), readable by the owner only."""
    data = encrypt_keyring(ring, passphrase, params=params)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path) as f:
        f.write(data)


def load_keyring(path: Path, passphrase: str | None) -> KeyRing:
    """Read and open the key file at ``path``."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        msg = f"no key file at {path}"
        raise ValidationError(msg, hint="initialise the node first (`accord init`)") from None
    except OSError as e:
        msg = f"cannot read the key file {path}: {e.strerror}"
        raise ValidationError(msg) from e
    return decrypt_keyring(data, passphrase, where=str(path))
