"""The node's key file: its private keys and body KEK seed, encrypted at rest under a passphrase.

The file is JSON. Its header (format, KDF and its parameters, salt, AEAD, nonce, and the
public key history) is in clear text; the secrets are the AES-256-GCM ciphertext of their
canonical JSON under a key derived from the passphrase with scrypt (RFC 7914), and the
canonical JSON of the header is the associated data, so changing any byte of the file
(a retired key, a date, a KDF parameter) makes it fail to open. A wrong passphrase and
a changed file fail the same way, with an :class:`~accord.errors.IntegrityError` that
says what to check.

Format ``accord.node-keys/2`` (what is written) seals the current private seeds, the
retired KEM private keys (so envelopes sealed before a rotation still open) and the
body KEK seed (so record bodies stay readable across rotations); ``accord.node-keys/1``
(still read) sealed the current seeds only, with the KEK seed in a file of its own
that the node service migrates (docs/adr/0006-key-storage-and-rotation.md).

scrypt cost: the default is N=2^17, r=8, p=1 (OWASP). The floor is N=2^14, r=8 (16 MiB
per guess, RFC 7914's interactive setting): a key file below it is neither written nor
opened unless the caller passes ``unsafe_fast_kdf=True``, a test-only switch (entry
points turn it on from ``ACCORD_UNSAFE_FAST_KDF``) that logs a warning each time.

The passphrase is passed in: entry points read ``ACCORD_KEY_PASSPHRASE``; this module
never reads the environment. Files are written atomically with mode 0600.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from accord.canonical import canonical_bytes
from accord.crypto._encoding import b64decode, b64encode
from accord.crypto._files import atomic_file
from accord.crypto.keys import KemPrivateKey, KeyAlgorithm, KeyGeneration, KeyRing, NodeKeys
from accord.errors import Error, IntegrityError, ValidationError

__all__ = [
    "BODY_KEK_SEED_LENGTH",
    "KEY_FILE_NAME",
    "PASSPHRASE_VARIABLE",
    "SCRYPT_FLOOR",
    "UNSAFE_FAST_KDF_VARIABLE",
    "UNSAFE_FAST_SCRYPT",
    "KeyFile",
    "ScryptParams",
    "decrypt_key_file",
    "decrypt_keyring",
    "encrypt_key_file",
    "encrypt_keyring",
    "load_key_file",
    "load_keyring",
    "save_key_file",
    "save_keyring",
]

KEY_FILE_NAME: Final = "node-keys.json"
"""The key file's name under the node's home (``ACCORD_HOME``)."""

PASSPHRASE_VARIABLE: Final = "ACCORD_KEY_PASSPHRASE"  # noqa: S105 - a variable name, not a secret
"""Where entry points read the passphrase from; named here for error hints only."""

UNSAFE_FAST_KDF_VARIABLE: Final = "ACCORD_UNSAFE_FAST_KDF"
"""Where entry points read the test-only fast-KDF switch from; named here for hints only."""

BODY_KEK_SEED_LENGTH: Final = 32

_FORMAT: Final = "accord.node-keys/2"
_LEGACY_FORMAT: Final = "accord.node-keys/1"
_KDF: Final = "scrypt"
_AEAD: Final = "AES-256-GCM"
_SALT_LENGTH: Final = 16
_NONCE_LENGTH: Final = 12
_KEY_LENGTH: Final = 32
_MAX_LOG2_N: Final = 20
_FLOOR_LOG2_N: Final = 14
_FLOOR_R: Final = 8

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class ScryptParams:
    """scrypt cost parameters. The default (N=2^17, r=8, p=1: 128 MiB, ~0.3 s) follows OWASP.

    Any N that is a power of two up to 2^20, r in 1..32 and p in 1..16 is a valid value,
    so a key file cannot ask for an absurd cost; whether a cost is strong enough to use
    is :attr:`below_floor` (see :data:`SCRYPT_FLOOR`).
    """

    n: int = 2**17
    r: int = 8
    p: int = 1

    def __post_init__(self) -> None:
        """Keep the parameters in the valid range."""
        values: tuple[object, ...] = (self.n, self.r, self.p)
        ints = all(isinstance(v, int) and not isinstance(v, bool) for v in values)
        power = self.n.bit_length() - 1 if ints else 0
        if (
            not ints
            or self.n != 1 << power
            or not 1 <= power <= _MAX_LOG2_N
            or not 1 <= self.r <= 32  # noqa: PLR2004 - scrypt's usual bounds
            or not 1 <= self.p <= 16  # noqa: PLR2004
        ):
            msg = (
                f"scrypt parameters out of range: n={self.n} r={self.r} p={self.p} "
                f"(n a power of two up to 2^{_MAX_LOG2_N}, r 1..32, p 1..16)"
            )
            raise ValidationError(msg)

    @property
    def below_floor(self) -> bool:
        """Whether this cost is weaker than :data:`SCRYPT_FLOOR` (usable only by tests)."""
        return self.n < 1 << _FLOOR_LOG2_N or self.r < _FLOOR_R

    def to_dict(self) -> dict[str, int]:
        """JSON form."""
        return {"n": self.n, "r": self.r, "p": self.p}


SCRYPT_FLOOR: Final = ScryptParams(n=1 << _FLOOR_LOG2_N, r=_FLOOR_R, p=1)
"""The weakest cost a key file may have: N=2^14, r=8 (16 MiB and ~30 ms per guess here)."""

UNSAFE_FAST_SCRYPT: Final = ScryptParams(n=2**4, r=8, p=1)
"""UNSAFE, tests only: a cost of well under a millisecond, far below the floor."""


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyFile:
    """What the key file holds: the key ring, the body KEK seed, and the cost it is sealed with.

    ``body_kek_seed`` is ``None`` only for a file that predates it (its seed is in the
    node's legacy KEK file until the node service migrates it).
    """

    ring: KeyRing
    body_kek_seed: bytes | None = field(default=None, repr=False)
    params: ScryptParams = field(default_factory=ScryptParams)

    def __post_init__(self) -> None:
        """Check the seed's length."""
        if self.body_kek_seed is not None and len(self.body_kek_seed) != BODY_KEK_SEED_LENGTH:
            msg = f"the body KEK seed must be {BODY_KEK_SEED_LENGTH} bytes, not {len(self.body_kek_seed)}"
            raise ValidationError(msg)


def _passphrase(passphrase: str | None) -> bytes:
    if not passphrase:
        msg = "no passphrase for the node's private keys"
        raise ValidationError(msg, hint=f"set {PASSPHRASE_VARIABLE} to the node's key passphrase")
    return passphrase.encode("utf-8")


def _check_cost(params: ScryptParams, *, unsafe_fast_kdf: bool, action: str, where: str) -> None:
    """Refuse a cost below the floor, unless the test-only switch is on (then warn)."""
    if not params.below_floor:
        return
    cost = f"n=2^{params.n.bit_length() - 1} r={params.r}"
    if not unsafe_fast_kdf:
        msg = (
            f"refusing to {action} the key file {where}: its scrypt cost ({cost}) is below the "
            f"floor (n=2^{_FLOOR_LOG2_N} r={_FLOOR_R}); such files are for tests only"
        )
        hint = f"a real node's keys use the default cost; {UNSAFE_FAST_KDF_VARIABLE}=1 allows this, for tests only"
        raise ValidationError(msg, hint=hint)
    _log.warning(
        "UNSAFE: %s the key file %s with a test-only scrypt cost (%s, below the floor); never do this with real keys",
        "writing" if action == "write" else "opening",
        where,
        cost,
    )


def _derive(passphrase: bytes, salt: bytes, params: ScryptParams) -> bytes:
    return Scrypt(salt=salt, length=_KEY_LENGTH, n=params.n, r=params.r, p=params.p).derive(passphrase)


def _secrets_to_dict(contents: KeyFile) -> dict[str, Any]:
    secrets: dict[str, Any] = {
        "current": contents.ring.current.seeds_to_dict(),
        "retired_kem": [{"algorithm": k.algorithm.value, "seed": b64encode(k.seed)} for k in contents.ring.retired_kem],
    }
    if contents.body_kek_seed is not None:
        secrets["body_kek_seed"] = b64encode(contents.body_kek_seed)
    return secrets


def encrypt_key_file(
    contents: KeyFile, passphrase: str | None, *, unsafe_fast_kdf: bool = False, where: str = ""
) -> bytes:
    """The key file's bytes: public history in clear; private seeds and KEK seed encrypted.

    ``where`` names the file in messages.

    Raises:
        ValidationError: no passphrase, or a cost below the floor without ``unsafe_fast_kdf``.
    """
    secret = _passphrase(passphrase)
    params = contents.params
    _check_cost(params, unsafe_fast_kdf=unsafe_fast_kdf, action="write", where=where or "(in memory)")
    salt = os.urandom(_SALT_LENGTH)
    nonce = os.urandom(_NONCE_LENGTH)
    header: dict[str, Any] = {
        "format": _FORMAT,
        "kdf": {"name": _KDF, "salt": b64encode(salt), **params.to_dict()},
        "aead": {"name": _AEAD, "nonce": b64encode(nonce)},
        "history": contents.ring.history_to_dict(),
    }
    plaintext = canonical_bytes(_secrets_to_dict(contents))
    ciphertext = AESGCM(_derive(secret, salt, params)).encrypt(nonce, plaintext, canonical_bytes(header))
    return canonical_bytes({**header, "ciphertext": b64encode(ciphertext)})


def encrypt_keyring(
    ring: KeyRing, passphrase: str | None, *, params: ScryptParams | None = None, unsafe_fast_kdf: bool = False
) -> bytes:
    """:func:`encrypt_key_file` of a key ring alone (no body KEK seed)."""
    contents = KeyFile(ring=ring, params=params or ScryptParams())
    return encrypt_key_file(contents, passphrase, unsafe_fast_kdf=unsafe_fast_kdf)


def _unreadable(where: str, problem: str) -> ValidationError:
    return ValidationError(f"the key file {where} is not a readable Accord key file: {problem}")


def _seed(value: object, what: str) -> bytes:
    try:
        return b64decode(value)
    except ValueError as e:
        msg = f"{what} is missing or malformed"
        raise ValidationError(msg) from e


def _secrets_from(plaintext: bytes, *, legacy: bool) -> tuple[NodeKeys, tuple[KemPrivateKey, ...], bytes | None]:
    """The current keys, retired KEM keys and KEK seed from the decrypted payload."""
    secrets = json.loads(plaintext)
    if legacy:  # accord.node-keys/1 sealed the current seeds only
        return NodeKeys.seeds_from_dict(secrets), (), None
    if not isinstance(secrets, dict) or not isinstance(secrets.get("retired_kem"), list):
        msg = "the sealed payload is not a JSON object with 'current' and 'retired_kem'"
        raise ValidationError(msg)
    current = NodeKeys.seeds_from_dict(secrets.get("current"))
    retired = []
    for item in secrets["retired_kem"]:
        if not isinstance(item, dict):
            msg = "each retired KEM key must be a JSON object"
            raise ValidationError(msg)
        algorithm = KeyAlgorithm(str(item.get("algorithm")))
        retired.append(KemPrivateKey(algorithm, _seed(item.get("seed"), f"the retired {algorithm.value} seed")))
    seed = secrets.get("body_kek_seed")
    return current, tuple(retired), None if seed is None else _seed(seed, "the body KEK seed")


def decrypt_key_file(data: bytes, passphrase: str | None, *, where: str = "", unsafe_fast_kdf: bool = False) -> KeyFile:
    """Open key file bytes (``accord.node-keys/2`` or ``/1``) with the passphrase.

    Raises:
        ValidationError: no passphrase, the bytes are not an Accord key file, or their
            scrypt cost is below the floor and ``unsafe_fast_kdf`` is off.
        IntegrityError: wrong passphrase, or the file was changed.
    """
    secret = _passphrase(passphrase)
    where = where or "(in memory)"
    try:
        document = json.loads(data)
        header = {k: document[k] for k in ("format", "kdf", "aead", "history")}
        kdf, aead = header["kdf"], header["aead"]
        if header["format"] not in {_FORMAT, _LEGACY_FORMAT} or kdf["name"] != _KDF or aead["name"] != _AEAD:
            raise _unreadable(where, f"format {header['format']!r}, expected {_FORMAT!r}")
        params = ScryptParams(n=kdf["n"], r=kdf["r"], p=kdf["p"])
        salt, nonce = b64decode(kdf["salt"]), b64decode(aead["nonce"])
        ciphertext = b64decode(document["ciphertext"])
        aad = canonical_bytes(header)
    except (ValueError, KeyError, TypeError) as e:
        raise _unreadable(where, str(e) or type(e).__name__) from e
    if len(nonce) != _NONCE_LENGTH:
        raise _unreadable(where, "bad nonce length")
    _check_cost(params, unsafe_fast_kdf=unsafe_fast_kdf, action="open", where=where)
    try:
        plaintext = AESGCM(_derive(secret, salt, params)).decrypt(nonce, ciphertext, aad)
    except InvalidTag:
        msg = f"cannot unlock the node's private keys in {where}: wrong passphrase, or the key file was changed"
        raise IntegrityError(msg, hint=f"check {PASSPHRASE_VARIABLE}; restore the key file from a backup") from None
    history = header["history"]
    if not isinstance(history, list):
        raise _unreadable(where, "'history' must be a list")
    try:
        current, retired, seed = _secrets_from(plaintext, legacy=header["format"] == _LEGACY_FORMAT)
        ring = KeyRing(
            current=current, generations=tuple(KeyGeneration.from_dict(g) for g in history), retired_kem=retired
        )
        return KeyFile(ring=ring, body_kek_seed=seed, params=params)
    except (Error, ValueError) as e:
        raise _unreadable(where, str(e)) from e


def decrypt_keyring(data: bytes, passphrase: str | None, *, where: str = "", unsafe_fast_kdf: bool = False) -> KeyRing:
    """The key ring of :func:`decrypt_key_file`."""
    return decrypt_key_file(data, passphrase, where=where, unsafe_fast_kdf=unsafe_fast_kdf).ring


def save_key_file(path: Path, contents: KeyFile, passphrase: str | None, *, unsafe_fast_kdf: bool = False) -> bytes:
    """Write the key file atomically (temporary file, fsync, rename), owner-only; return its bytes.

    Nothing is written if the contents cannot be sealed (no passphrase, cost below floor).
    """
    data = encrypt_key_file(contents, passphrase, unsafe_fast_kdf=unsafe_fast_kdf, where=str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path) as f:
        f.write(data)
    return data


def save_keyring(
    path: Path,
    ring: KeyRing,
    passphrase: str | None,
    *,
    params: ScryptParams | None = None,
    unsafe_fast_kdf: bool = False,
) -> None:
    """:func:`save_key_file` of a key ring alone; it replaces a file holding a body KEK seed without it."""
    save_key_file(
        path, KeyFile(ring=ring, params=params or ScryptParams()), passphrase, unsafe_fast_kdf=unsafe_fast_kdf
    )


def load_key_file(path: Path, passphrase: str | None, *, unsafe_fast_kdf: bool = False) -> KeyFile:
    """Read and open the key file at ``path``."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        msg = f"no key file at {path}"
        raise ValidationError(msg, hint="initialise the node first (`accord init`)") from None
    except OSError as e:
        msg = f"cannot read the key file {path}: {e.strerror}"
        raise ValidationError(msg) from e
    return decrypt_key_file(data, passphrase, where=str(path), unsafe_fast_kdf=unsafe_fast_kdf)


def load_keyring(path: Path, passphrase: str | None, *, unsafe_fast_kdf: bool = False) -> KeyRing:
    """The key ring of :func:`load_key_file`."""
    return load_key_file(path, passphrase, unsafe_fast_kdf=unsafe_fast_kdf).ring
