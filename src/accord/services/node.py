"""The node's identity: its party, its key file encrypted at rest, its public descriptor, rotation.

``create_identity`` generates the node's keys and a random body-KEK seed, seals both in
the key file under the node's home with the passphrase (``accord.crypto.keystore``),
and writes ``node.json``: the party, when the identity was made, the current public
descriptor, and the key history (each generation of public keys with the window it was
valid for), which is all a peer or an auditor needs to check the node's signatures, old
ones included. ``read_identity`` reads that public file without the passphrase;
``unlock`` opens the private keys and the KEK with it; ``rotate_keys`` makes new signing
and KEM keys current, keeping the retired public keys (``node.json``, key file) and the
retired KEM private keys (key file) and leaving the body KEK as it was.

Files: the key file is the source of truth and is always written first; ``node.json``
is derived from it. A rotation that fails between the two writes puts the old key file
back; one killed between them is completed by the next ``unlock``. Homes made before
ADR 0006 kept the KEK seed in ``node-kek.json``, wrapped under a key derived from the
ML-DSA seed (which a rotation retires); ``unlock`` and ``rotate_keys`` move it into the
key file and delete the old file only once the new key file is on disk. Whoever writes
the key files holds a lock file in the home. An existing identity is never overwritten.
Callers pass the time (``at``) and the passphrase; nothing here reads the environment.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import fcntl
import json
import logging
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final

from accord.crypto import KeyRing, NodeKeys, NodePublicKeys
from accord.crypto.keys import KemPrivateKey, KeyGeneration, check_key_history, generations_during
from accord.crypto.keystore import (
    KEY_FILE_NAME,
    PASSPHRASE_VARIABLE,
    UNSAFE_FAST_SCRYPT,
    KeyFile,
    ScryptParams,
    decrypt_key_file,
    save_key_file,
)
from accord.crypto.stream import KeyEncryptionKey, WrappedKey, derive_kek, unwrap_key
from accord.domain.world import World
from accord.errors import Error, StorageError, ValidationError

__all__ = [
    "KEK_FILE_NAME",
    "LOCK_FILE_NAME",
    "NODE_FILE_NAME",
    "KeyRotation",
    "NodeIdentity",
    "UnlockedNode",
    "check_new_identity",
    "create_identity",
    "identity_exists",
    "new_identity",
    "read_identity",
    "read_identity_file",
    "rotate_keys",
    "rotate_keys_now",
    "unlock",
    "utc_now",
    "write_atomically",
]

NODE_FILE_NAME: Final = "node.json"
"""The node's public identity file under its home."""
KEK_FILE_NAME: Final = "node-kek.json"
"""Legacy (before ADR 0006): the body KEK seed, wrapped under a key derived from the ML-DSA seed."""
LOCK_FILE_NAME: Final = ".node-keys.lock"
"""Held (``flock``) by whoever writes the key file or ``node.json``."""

_NODE_FORMAT: Final = "accord.node/1"
_KEK_FORMAT: Final = "accord.node-kek/1"
_KEK_CONTEXT: Final = b"accord.node-kek-seed/1"
_PARTY: Final = re.compile(r"[A-Z][A-Z0-9]{1,15}")
_NO_IDENTITY_HINT: Final = "give the node an identity with `accord init --party CODE`"
_RESTORE_HINT: Final = "restore the key file and node.json from the same backup"

_log = logging.getLogger(__name__)


def _time(value: str, what: str) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError as e:
        msg = f"{what}: {value!r} is not an ISO 8601 time"
        raise ValidationError(msg) from e
    if parsed.utcoffset() is None:
        msg = f"{what}: {value!r} has no UTC offset"
        raise ValidationError(msg)
    return parsed


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeIdentity:
    """What ``node.json`` holds: the node's party, when its keys were made, its public keys.

    ``history`` lists every generation of the node's public keys, oldest first, each
    with its validity window; the last is ``public`` (open-ended). It defaults to one
    generation from ``created_at``, which is what a node file from before rotation means.
    """

    party: str
    created_at: str  # ISO 8601 with a UTC offset
    public: NodePublicKeys
    history: tuple[KeyGeneration, ...] = ()

    def __post_init__(self) -> None:
        """Fill in the one-generation history, or check the given one ends with ``public``."""
        history = tuple(self.history) or (
            KeyGeneration(public=self.public, valid_from=_time(self.created_at, "created_at")),
        )
        if history[-1].public != self.public:
            msg = "the key history must end with the current public keys"
            raise ValidationError(msg)
        object.__setattr__(self, "history", check_key_history(history))

    def to_dict(self) -> dict[str, object]:
        """JSON form (``node.json``)."""
        return {
            "format": _NODE_FORMAT,
            "party": self.party,
            "created_at": self.created_at,
            "public_keys": self.public.to_dict(),
            "fingerprint": self.public.fingerprint,
            "key_history": [g.to_dict() for g in self.history],
        }

    @classmethod
    def from_dict(cls, data: object) -> NodeIdentity:
        """Read the JSON form; the stated fingerprint must match the keys.

        ``key_history`` is optional (node files from before rotation have none).
        """
        if not isinstance(data, dict) or data.get("format") != _NODE_FORMAT:
            msg = f"not an Accord node file (expected format {_NODE_FORMAT!r})"
            raise ValidationError(msg)
        party, created_at = data.get("party"), data.get("created_at")
        if not isinstance(party, str) or not isinstance(created_at, str):
            msg = "node file: 'party' and 'created_at' must be text"
            raise ValidationError(msg)
        public = NodePublicKeys.from_dict(data.get("public_keys"))
        if data.get("fingerprint") != public.fingerprint:
            msg = "node file: the fingerprint does not match the public keys"
            raise ValidationError(msg)
        if "key_history" not in data:
            return cls(party=party, created_at=created_at, public=public)
        history = data["key_history"]
        if not isinstance(history, list):
            msg = "node file: 'key_history' must be a list"
            raise ValidationError(msg)
        generations = check_key_history(KeyGeneration.from_dict(g) for g in history)
        return cls(party=party, created_at=created_at, public=public, history=generations)

    @property
    def retired(self) -> tuple[KeyGeneration, ...]:
        """The retired generations, oldest first."""
        return self.history[:-1]

    def generations_during(self, start: dt.datetime, end: dt.datetime) -> tuple[KeyGeneration, ...]:
        """The generations valid at some time in ``[start, end)``, newest first."""
        return generations_during(self.history, start, end)

    def key_rows(self) -> list[dict[str, str]]:
        """Each current public key's role, algorithm and key id (its fingerprint)."""
        return _key_rows(self.public)

    def history_rows(self) -> list[dict[str, object]]:
        """Each generation: its window, descriptor fingerprint and key rows (JSON-able)."""
        return [
            {
                "valid_from": g.valid_from.isoformat(),
                "valid_until": None if g.valid_until is None else g.valid_until.isoformat(),
                "fingerprint": g.public.fingerprint,
                "keys": _key_rows(g.public),
            }
            for g in self.history
        ]


def _key_rows(public: NodePublicKeys) -> list[dict[str, str]]:
    roles = [("signing", public.signing), ("pq_signing", public.pq_signing)]
    roles += [("kem", k) for k in public.kem]
    return [{"role": r, "algorithm": k.algorithm.value, "key_id": k.key_id} for r, k in roles]


@dataclass(frozen=True, slots=True, kw_only=True)
class UnlockedNode:
    """The identity with its private keys and body KEK, after the passphrase opened them."""

    identity: NodeIdentity
    ring: KeyRing
    kek: KeyEncryptionKey

    @property
    def keys(self) -> NodeKeys:
        """The current private keys (the only ones that sign)."""
        return self.ring.current

    def kem_private_keys(self) -> tuple[KemPrivateKey, ...]:
        """Every KEM private key, current first then retired: pass these to ``open_sealed``.

        Envelopes sealed to the node's keys before a rotation open only with the retired ones.
        """
        return self.ring.kem_private_keys()


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyRotation:
    """What a rotation did: the identity after it, and the generation it retired."""

    identity: NodeIdentity
    retired: KeyGeneration


def _check_party(party: str) -> str:
    if not _PARTY.fullmatch(party):
        msg = f"party code {party!r} must be 2 to 16 upper-case letters or digits, e.g. KOR"
        raise ValidationError(msg)
    return party


def _passphrase(passphrase: str | None) -> str:
    if not passphrase:
        msg = "no passphrase for the node's private keys"
        raise ValidationError(msg, hint=f"set {PASSPHRASE_VARIABLE} to the node's key passphrase")
    return passphrase


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file, fsync and rename (owner-only)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _node_file_bytes(identity: NodeIdentity) -> bytes:
    return json.dumps(identity.to_dict(), indent=2).encode() + b"\n"


def _write_node_file(home: Path, identity: NodeIdentity) -> None:
    write_atomically(home / NODE_FILE_NAME, _node_file_bytes(identity))


def _write_key_file(home: Path, contents: KeyFile, passphrase: str, *, unsafe_fast_kdf: bool) -> None:
    """Write the key file and check the bytes on disk are the ones sealed (no KDF needed)."""
    path = home / KEY_FILE_NAME
    data = save_key_file(path, contents, passphrase, unsafe_fast_kdf=unsafe_fast_kdf)
    if path.read_bytes() != data:
        msg = f"{path} does not hold what was just written to it"
        raise OSError(msg)


@contextlib.contextmanager
def _key_lock(home: Path) -> Iterator[bool]:
    """Hold the home's lock file (one writer of the key file and ``node.json`` at a time).

    Yields ``False`` without a lock when the home cannot be written (read-only).
    """
    try:
        fd = os.open(home / LOCK_FILE_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as e:
        _log.warning("cannot lock %s (%s): the node's files are left as they are", home, e)
        yield False
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield True
    finally:
        os.close(fd)  # releases the lock


def identity_exists(home: Path) -> bool:
    """Whether this home already holds a node identity (either of its files)."""
    return (home / NODE_FILE_NAME).exists() or (home / KEY_FILE_NAME).exists()


def check_new_identity(
    *, home: Path, party: str, passphrase: str | None, world: World | None = None
) -> tuple[str, str]:
    """Refuse, before anything is written, what :func:`create_identity` would refuse.

    With ``world``, the party must also be one of its parties. Returns the party and
    the passphrase.
    """
    party = _check_party(party)
    if world is not None:
        world.party(party)
    secret = _passphrase(passphrase)
    if identity_exists(home):
        msg = f"the node at {home} already has an identity; refusing to overwrite its keys"
        raise ValidationError(msg, hint="use another ACCORD_HOME, or move the old identity away first")
    return party, secret


def create_identity(  # noqa: PLR0913 - keyword-only settings of a new identity
    *,
    home: Path,
    party: str,
    passphrase: str | None,
    at: dt.datetime,
    scrypt: ScryptParams | None = None,
    unsafe_fast_kdf: bool = False,
) -> NodeIdentity:
    """Generate the node's keys and body-KEK seed; write its key file and ``node.json``.

    Nothing is written when the party or passphrase is missing or bad, an identity
    exists already, or ``scrypt`` is below the floor without ``unsafe_fast_kdf``.
    ``unsafe_fast_kdf`` (tests only, logs a warning) defaults ``scrypt`` to a cost far
    below the floor; such a key file opens only with the same switch.

    Raises:
        ValidationError: bad party, no passphrase, a cost below the floor, or an
            identity exists already.
    """
    party, secret = check_new_identity(home=home, party=party, passphrase=passphrase)
    params = scrypt or (UNSAFE_FAST_SCRYPT if unsafe_fast_kdf else ScryptParams())
    keys = NodeKeys.generate()
    ring = KeyRing.create(keys, at=at)
    identity = NodeIdentity(party=party, created_at=at.isoformat(), public=keys.public, history=ring.generations)
    contents = KeyFile(ring=ring, body_kek_seed=KeyEncryptionKey.generate().secret, params=params)
    written: list[Path] = []
    try:
        _write_key_file(home, contents, secret, unsafe_fast_kdf=unsafe_fast_kdf)
        written.append(home / KEY_FILE_NAME)
        _write_node_file(home, identity)
    except OSError as e:
        for path in written:
            path.unlink(missing_ok=True)
        msg = f"cannot write the node's identity under {home}: {e.strerror or e}"
        raise ValidationError(msg, hint="set ACCORD_HOME to a directory you can write") from e
    return identity


def utc_now() -> dt.datetime:
    """The current time in UTC, to the second (services are the only readers of the clock)."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def new_identity(*, home: Path, party: str, passphrase: str | None, unsafe_fast_kdf: bool = False) -> NodeIdentity:
    """:func:`create_identity` now: what ``accord init --party`` does."""
    return create_identity(home=home, party=party, passphrase=passphrase, at=utc_now(), unsafe_fast_kdf=unsafe_fast_kdf)


def read_identity(home: Path) -> NodeIdentity:
    """The node's public identity from ``node.json`` (no passphrase needed).

    Raises:
        ValidationError: the node has no identity, or the file is not readable.
    """
    return read_identity_file(home / NODE_FILE_NAME)


def read_identity_file(path: Path) -> NodeIdentity:
    """A node's public identity from a ``node.json`` anywhere (e.g. a peer's, offline)."""
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        msg = f"the node has no identity: no {path}"
        raise ValidationError(msg, hint=_NO_IDENTITY_HINT) from None
    except (OSError, ValueError) as e:
        msg = f"cannot read the node file {path}: {e}"
        raise ValidationError(msg) from e
    try:
        return NodeIdentity.from_dict(data)
    except Error as e:
        msg = f"{path}: {e.message}"
        raise ValidationError(msg) from e


def _key_file_bytes(home: Path) -> bytes:
    path = home / KEY_FILE_NAME
    try:
        return path.read_bytes()
    except FileNotFoundError:
        msg = f"no key file at {path}"
        raise ValidationError(msg, hint=_RESTORE_HINT) from None
    except OSError as e:
        msg = f"cannot read the key file {path}: {e.strerror}"
        raise ValidationError(msg) from e


def _read_key_file(home: Path, passphrase: str, *, unsafe_fast_kdf: bool) -> tuple[bytes, KeyFile]:
    data = _key_file_bytes(home)
    where = str(home / KEY_FILE_NAME)
    return data, decrypt_key_file(data, passphrase, where=where, unsafe_fast_kdf=unsafe_fast_kdf)


def _settled(identity: NodeIdentity, contents: KeyFile) -> bool:
    """Whether ``node.json`` matches the key file and the KEK seed is in the key file."""
    return contents.body_kek_seed is not None and contents.ring.generations == identity.history


def _reconciled(home: Path, identity: NodeIdentity, ring: KeyRing, *, write: bool) -> NodeIdentity:
    """``node.json``'s identity matching the key file; a node file behind it is brought forward.

    The key file is written first, so a rotation killed between its two writes leaves
    the key file ahead: its history holds ``node.json``'s current keys as retired ones.
    """
    if ring.generations == identity.history:
        return identity
    if all(g.public != identity.public for g in ring.generations):
        msg = f"the key file in {home} does not belong to {NODE_FILE_NAME} (different public keys)"
        raise ValidationError(msg, hint=_RESTORE_HINT)
    forward = replace(identity, public=ring.current.public, history=ring.generations)
    if write:
        try:
            _write_node_file(home, forward)
        except OSError as e:
            _log.warning("could not bring %s up to date with the key file: %s", home / NODE_FILE_NAME, e)
    return forward


def _legacy_kek_seed(home: Path, ring: KeyRing) -> bytes:
    """The KEK seed from a home made before ADR 0006 (``node-kek.json``)."""
    path = home / KEK_FILE_NAME
    hint = "restore the key file and node-kek.json from the same backup"
    try:
        doc = json.loads(path.read_bytes())
        wrapped = WrappedKey.from_bytes(base64.b64decode(doc["wrapped"], validate=True))
    except (OSError, ValueError, KeyError, TypeError, binascii.Error) as e:
        msg = f"the key file holds no body KEK seed and the node's KEK file {path} cannot be read: {e}"
        raise ValidationError(msg, hint=hint) from e
    if doc.get("format") != _KEK_FORMAT:
        msg = f"{path} is not an Accord KEK file (format {doc.get('format')!r}, expected {_KEK_FORMAT!r})"
        raise ValidationError(msg, hint=hint)
    # Wrapped under a key derived from the ML-DSA seed it was made with: the current one,
    # since homes of that layout were never rotated (a rotation moves the seed first).
    return unwrap_key(wrapped, derive_kek(ring.current.pq_signing_seed), context=_KEK_CONTEXT)


def _remove_legacy_kek_file(home: Path, ring: KeyRing, seed: bytes) -> None:
    """Delete ``node-kek.json`` once the key file on disk holds ``seed``, if it holds the same seed.

    ``ring`` is the key ring the file was wrapped with. A file that does not open with it
    to ``seed`` (from another backup, say) is left where it is: it may be the only copy
    of a KEK some bodies need.
    """
    path = home / KEK_FILE_NAME
    if not path.exists():
        return
    try:
        same = _legacy_kek_seed(home, ring) == seed
    except Error:
        same = False
    if not same:
        _log.warning("%s does not hold the KEK seed of the key file; left in place, keep it with your backups", path)
        return
    try:
        path.unlink(missing_ok=True)
    except OSError as e:
        _log.warning("could not remove the old KEK file %s: %s", path, e)


def _migrated(home: Path, contents: KeyFile, passphrase: str, *, write: bool, unsafe_fast_kdf: bool) -> KeyFile:
    """The key file with the KEK seed in it, moved there from ``node-kek.json`` if needed."""
    if contents.body_kek_seed is not None:
        return contents
    seed = _legacy_kek_seed(home, contents.ring)
    migrated = replace(contents, body_kek_seed=seed)
    if not write:
        return migrated
    try:
        _write_key_file(home, migrated, passphrase, unsafe_fast_kdf=unsafe_fast_kdf)
    except OSError as e:
        # The seed is still safe in node-kek.json; the next unlock tries again.
        _log.warning("could not move the body KEK seed into the key file in %s: %s", home, e)
        return migrated
    _remove_legacy_kek_file(home, migrated.ring, seed)
    return migrated


def _unlocked(identity: NodeIdentity, contents: KeyFile) -> UnlockedNode:
    if contents.body_kek_seed is None:  # pragma: no cover - callers migrate first
        msg = "the key file holds no body KEK seed"
        raise ValidationError(msg, hint=_RESTORE_HINT)
    return UnlockedNode(identity=identity, ring=contents.ring, kek=derive_kek(contents.body_kek_seed))


def unlock(home: Path, passphrase: str | None, *, unsafe_fast_kdf: bool = False) -> UnlockedNode:
    """Open the node's private keys and body KEK with the passphrase.

    Also finishes what an interruption left: a rotation killed between its two writes
    (``node.json`` is brought forward), a home from before ADR 0006 (the KEK seed moves
    into the key file). ``unsafe_fast_kdf`` (tests only) lets a key file below the
    scrypt floor open.

    Raises:
        ValidationError: no identity or no passphrase, a key file that does not belong
            to ``node.json``, or a key file below the scrypt floor.
        IntegrityError: wrong passphrase, or the key or KEK file was changed.
    """
    secret = _passphrase(passphrase)
    identity = read_identity(home)
    data, contents = _read_key_file(home, secret, unsafe_fast_kdf=unsafe_fast_kdf)
    if _settled(identity, contents) and contents.body_kek_seed is not None:
        # A node-kek.json here was left by a migration cut short before removing it.
        _remove_legacy_kek_file(home, contents.ring, contents.body_kek_seed)
        return _unlocked(identity, contents)
    with _key_lock(home) as locked:
        if locked:  # read again under the lock: another process may have done the work
            identity = read_identity(home)
            if _key_file_bytes(home) != data:
                data, contents = _read_key_file(home, secret, unsafe_fast_kdf=unsafe_fast_kdf)
        identity = _reconciled(home, identity, contents.ring, write=locked)
        contents = _migrated(home, contents, secret, write=locked, unsafe_fast_kdf=unsafe_fast_kdf)
    return _unlocked(identity, contents)


def rotate_keys(home: Path, passphrase: str | None, *, at: dt.datetime, unsafe_fast_kdf: bool = False) -> KeyRotation:
    """Retire the node's keys at ``at`` and make fresh signing and KEM keys current.

    The retired public keys stay in ``node.json`` and the key file with their validity
    window, so what they signed still verifies; the retired KEM private keys stay in
    the key file, so what was sealed to them still opens; the body KEK does not change.
    The key file is written first (with the KEK seed, for a home from before ADR 0006),
    then ``node.json``; if that second write fails the old key file is put back.

    Raises:
        ValidationError: no identity or passphrase, ``at`` not after the current keys'
            start, or a key file below the scrypt floor.
        IntegrityError: wrong passphrase.
        StorageError: the home cannot be locked or written (the old identity stays).
    """
    secret = _passphrase(passphrase)
    read_identity(home)  # a clear error when there is no identity
    with _key_lock(home) as locked:
        if not locked:
            msg = f"cannot rotate the keys of the node at {home}: its home cannot be written"
            raise StorageError(msg, hint="run it as the user that owns ACCORD_HOME")
        identity = read_identity(home)
        before, contents = _read_key_file(home, secret, unsafe_fast_kdf=unsafe_fast_kdf)
        identity = _reconciled(home, identity, contents.ring, write=True)
        seed = contents.body_kek_seed or _legacy_kek_seed(home, contents.ring)
        ring = contents.ring.rotate(at=at)
        rotated = KeyFile(ring=ring, body_kek_seed=seed, params=contents.params)
        after = replace(identity, public=ring.current.public, history=ring.generations)
        _commit_rotation(home, rotated, after, before, secret, unsafe_fast_kdf=unsafe_fast_kdf)
        _remove_legacy_kek_file(home, contents.ring, seed)
    return KeyRotation(identity=after, retired=ring.generations[-2])


def _commit_rotation(  # noqa: PLR0913 - the two files and what to put back
    home: Path,
    rotated: KeyFile,
    identity: NodeIdentity,
    before: bytes,
    passphrase: str,
    *,
    unsafe_fast_kdf: bool,
) -> None:
    """Write the rotated key file, then ``node.json``; put the old key file back if that fails."""
    try:
        _write_key_file(home, rotated, passphrase, unsafe_fast_kdf=unsafe_fast_kdf)
    except OSError as e:
        # An atomic write leaves the old file whole; a mismatch found after it is put back.
        with contextlib.suppress(OSError):
            write_atomically(home / KEY_FILE_NAME, before)
        msg = f"cannot write the key file under {home}: {e.strerror or e}; the keys were not rotated"
        raise StorageError(msg) from e
    try:
        _write_node_file(home, identity)
    except BaseException as e:
        outcome = "the keys were not rotated"
        try:
            write_atomically(home / KEY_FILE_NAME, before)
        except OSError:
            # The new key file stays; the next unlock brings node.json forward to it.
            outcome = "the new key file is in place and the next unlock completes the rotation"
            _log.warning("could not put the old key file back in %s: %s", home, outcome)
        if isinstance(e, OSError):
            msg = f"cannot write {NODE_FILE_NAME} under {home}: {e.strerror or e}; {outcome}"
            raise StorageError(msg) from e
        raise


def rotate_keys_now(home: Path, passphrase: str | None, *, unsafe_fast_kdf: bool = False) -> KeyRotation:
    """:func:`rotate_keys` now: what ``accord node rotate-keys`` does.

    The rotation time keeps its microseconds, so it falls after an identity made in the
    same second; verifiers allow for checkpoints stamped to the second.
    """
    return rotate_keys(home, passphrase, at=dt.datetime.now(dt.UTC), unsafe_fast_kdf=unsafe_fast_kdf)
