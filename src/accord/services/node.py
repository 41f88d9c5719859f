"""The node's identity: its party, its key ring encrypted at rest, and its public descriptor.

``create_identity`` generates the node's keys, saves the key ring under the node's home
encrypted with the passphrase (``accord.crypto.keystore``), keeps a random body-KEK seed
beside it, and writes ``node.json``: the party, when the identity was made and the
public descriptor, which is all a peer or an auditor needs. ``read_identity`` reads that
public file without the passphrase; ``unlock`` opens the private keys with it. An
existing identity is never overwritten. The caller passes the time (``at``); nothing
here reads the clock or the environment.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from accord.crypto import KeyRing, NodeKeys, NodePublicKeys
from accord.crypto.keystore import KEY_FILE_NAME, PASSPHRASE_VARIABLE, ScryptParams, load_keyring, save_keyring
from accord.crypto.stream import KeyEncryptionKey, WrappedKey, derive_kek, unwrap_key, wrap_key
from accord.domain.world import World
from accord.errors import Error, ValidationError

__all__ = [
    "KEK_FILE_NAME",
    "NODE_FILE_NAME",
    "NodeIdentity",
    "UnlockedNode",
    "check_new_identity",
    "create_identity",
    "identity_exists",
    "new_identity",
    "read_identity",
    "read_identity_file",
    "unlock",
    "utc_now",
    "write_atomically",
]

NODE_FILE_NAME: Final = "node.json"
"""The node's public identity file under its home."""
KEK_FILE_NAME: Final = "node-kek.json"
"""The body KEK seed, wrapped under a key derived from the node's private keys."""

_NODE_FORMAT: Final = "accord.node/1"
_KEK_FORMAT: Final = "accord.node-kek/1"
_KEK_CONTEXT: Final = b"accord.node-kek-seed/1"
_PARTY: Final = re.compile(r"[A-Z][A-Z0-9]{1,15}")
_NO_IDENTITY_HINT: Final = "give the node an identity with `accord init --party CODE`"


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeIdentity:
    """What ``node.json`` holds: the node's party, when its keys were made, its public keys."""

    party: str
    created_at: str  # ISO 8601 with a UTC offset
    public: NodePublicKeys

    def to_dict(self) -> dict[str, object]:
        """JSON form (``node.json``)."""
        return {
            "format": _NODE_FORMAT,
            "party": self.party,
            "created_at": self.created_at,
            "public_keys": self.public.to_dict(),
            "fingerprint": self.public.fingerprint,
        }

    @classmethod
    def from_dict(cls, data: object) -> NodeIdentity:
        """Read the JSON form; the stated fingerprint must match the keys."""
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
        return cls(party=party, created_at=created_at, public=public)

    def key_rows(self) -> list[dict[str, str]]:
        """Each public key's role, algorithm and key id (its fingerprint)."""
        roles = [("signing", self.public.signing), ("pq_signing", self.public.pq_signing)]
        roles += [("kem", k) for k in self.public.kem]
        return [{"role": r, "algorithm": k.algorithm.value, "key_id": k.key_id} for r, k in roles]


@dataclass(frozen=True, slots=True, kw_only=True)
class UnlockedNode:
    """The identity with its private keys and body KEK, after the passphrase opened them."""

    identity: NodeIdentity
    ring: KeyRing
    kek: KeyEncryptionKey

    @property
    def keys(self) -> NodeKeys:
        """The current private keys."""
        return self.ring.current


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


def _wrapping_kek(keys: NodeKeys) -> KeyEncryptionKey:
    # The KEK seed file is sealed under a key derived from the ML-DSA seed, so it opens
    # only with the key file. A key rotation must re-wrap it (not implemented yet).
    return derive_kek(keys.pq_signing_seed)


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


def create_identity(
    *,
    home: Path,
    party: str,
    passphrase: str | None,
    at: dt.datetime,
    scrypt: ScryptParams | None = None,
) -> NodeIdentity:
    """Generate the node's keys and write its key file, KEK file and ``node.json``.

    Nothing is written when the party or passphrase is missing or bad, or an identity
    exists already. ``scrypt`` lowers the key file's cost (tests only).

    Raises:
        ValidationError: bad party, no passphrase, or an identity exists already.
    """
    party, secret = check_new_identity(home=home, party=party, passphrase=passphrase)
    keys = NodeKeys.generate()
    ring = KeyRing.create(keys, at=at)
    identity = NodeIdentity(party=party, created_at=at.isoformat(), public=keys.public)
    kek_seed = KeyEncryptionKey.generate().secret
    wrapped = wrap_key(kek_seed, _wrapping_kek(keys), context=_KEK_CONTEXT)
    kek_doc = {"format": _KEK_FORMAT, "wrapped": base64.b64encode(wrapped.to_bytes()).decode("ascii")}
    written: list[Path] = []
    try:
        save_keyring(home / KEY_FILE_NAME, ring, secret, params=scrypt)
        written.append(home / KEY_FILE_NAME)
        write_atomically(home / KEK_FILE_NAME, json.dumps(kek_doc).encode())
        written.append(home / KEK_FILE_NAME)
        write_atomically(home / NODE_FILE_NAME, json.dumps(identity.to_dict(), indent=2).encode() + b"\n")
    except OSError as e:
        for path in written:
            path.unlink(missing_ok=True)
        msg = f"cannot write the node's identity under {home}: {e.strerror or e}"
        raise ValidationError(msg, hint="set ACCORD_HOME to a directory you can write") from e
    return identity


def utc_now() -> dt.datetime:
    """The current time in UTC, to the second (services are the only readers of the clock)."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def new_identity(*, home: Path, party: str, passphrase: str | None) -> NodeIdentity:
    """:func:`create_identity` now: what ``accord init --party`` does."""
    return create_identity(home=home, party=party, passphrase=passphrase, at=utc_now())


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


def unlock(home: Path, passphrase: str | None) -> UnlockedNode:
    """Open the node's private keys and body KEK with the passphrase.

    Raises:
        ValidationError: no identity or no passphrase.
        IntegrityError: wrong passphrase, or the key or KEK file was changed.
    """
    identity = read_identity(home)
    ring = load_keyring(home / KEY_FILE_NAME, _passphrase(passphrase))
    if ring.current.public != identity.public:
        msg = f"the key file in {home} does not belong to {NODE_FILE_NAME} (different public keys)"
        raise ValidationError(msg, hint="restore both files from the same backup")
    path = home / KEK_FILE_NAME
    try:
        doc = json.loads(path.read_bytes())
        wrapped = WrappedKey.from_bytes(base64.b64decode(doc["wrapped"], validate=True))
    except (OSError, ValueError, KeyError, TypeError, binascii.Error) as e:
        msg = f"cannot read the node's KEK file {path}: {e}"
        raise ValidationError(msg, hint="restore it from a backup made with the key file") from e
    seed = unwrap_key(wrapped, _wrapping_kek(ring.current), context=_KEK_CONTEXT)
    return UnlockedNode(identity=identity, ring=ring, kek=derive_kek(seed))
