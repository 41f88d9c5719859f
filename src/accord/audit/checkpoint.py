"""Checkpoints (signed tree heads) and offline proof bundles, and their pure checks.

A ``Checkpoint`` names a log (its origin node), a tree size, the root hash and the time
it was made; ``signed_bytes`` is the canonical JSON a node signs. A ``ProofBundle``
carries one entry, its inclusion proof and the signed checkpoint it is proven against,
as JSON an auditor can check offline. Signing and signature checks belong to
``accord.crypto``: this module only calls the ``SignatureCheck`` it is given, and it
neither reads the clock nor does I/O.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from accord.audit._json import exact_fields, json_int, json_str
from accord.audit.entry import AuditEntry
from accord.audit.errors import PROOF_FAILED
from accord.audit.merkle import HASH_SIZE, leaf_hash, verify_consistency, verify_inclusion
from accord.canonical import canonical_bytes
from accord.errors import IntegrityError, ValidationError

__all__ = [
    "CHECKPOINT_TYPE",
    "PROOF_TYPE",
    "Checkpoint",
    "ProofBundle",
    "SignatureCheck",
    "verify_checkpoint_consistency",
    "verify_proof_bundle",
]

CHECKPOINT_TYPE: Final = "accord/audit-checkpoint"
PROOF_TYPE: Final = "accord/audit-proof"
FORMAT_VERSION: Final = 1
_HEX64: Final = re.compile(r"[0-9a-f]{64}")
_CHECKPOINT_FIELDS: Final = frozenset({"type", "v", "origin", "size", "root", "at"})
_BUNDLE_FIELDS: Final = frozenset(
    {"type", "v", "entry", "leaf_index", "tree_size", "inclusion_proof", "checkpoint", "signature"}
)

SignatureCheck = Callable[[bytes, bytes], bool]
"""``check(message, signature) -> bool``: True only for a valid signature by a trusted key."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Checkpoint:
    """A tree head: the log ``origin`` had ``size`` entries with ``root`` at time ``at``."""

    origin: str  # the node whose log this is
    size: int
    root: str  # lower-case hex of the 32-byte root hash
    at: str  # ISO 8601 time, passed in by the caller

    def __post_init__(self) -> None:
        """Check the fields."""
        json_str(self.origin, "checkpoint origin")
        json_int(self.size, "checkpoint size")
        if not _HEX64.fullmatch(self.root):
            msg = f"checkpoint root must be 64 lower-case hex digits, not {self.root!r}"
            raise ValidationError(msg)
        json_str(self.at, "checkpoint time")

    @property
    def root_hash(self) -> bytes:
        """The root hash as bytes."""
        return bytes.fromhex(self.root)

    def to_dict(self) -> dict[str, object]:
        """Return the JSON form, which is also what gets signed."""
        return {
            "type": CHECKPOINT_TYPE,
            "v": FORMAT_VERSION,
            "origin": self.origin,
            "size": self.size,
            "root": self.root,
            "at": self.at,
        }

    def signed_bytes(self) -> bytes:
        """Return the canonical JSON to sign; ``type`` keeps it apart from other signed objects."""
        return canonical_bytes(self.to_dict())

    @classmethod
    def from_dict(cls, data: object) -> Checkpoint:
        """Read the JSON form."""
        fields = exact_fields(data, _CHECKPOINT_FIELDS, "a checkpoint", kind=CHECKPOINT_TYPE, version=FORMAT_VERSION)
        return cls(
            origin=json_str(fields["origin"], "checkpoint origin"),
            size=json_int(fields["size"], "checkpoint size"),
            root=json_str(fields["root"], "checkpoint root"),
            at=json_str(fields["at"], "checkpoint time"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ProofBundle:
    """An entry with its inclusion proof against a signed checkpoint, for offline checks."""

    entry: AuditEntry
    leaf_index: int
    tree_size: int
    inclusion_proof: tuple[bytes, ...]
    checkpoint: Checkpoint
    signature: bytes  # opaque to this module: whatever accord.crypto produced

    def __post_init__(self) -> None:
        """Check the shape; whether it verifies is ``verify_proof_bundle``'s question."""
        json_int(self.leaf_index, "leaf index")
        json_int(self.tree_size, "tree size")
        proof = tuple(self.inclusion_proof)
        if not all(len(h) == HASH_SIZE for h in proof):
            msg = f"every inclusion proof hash is {HASH_SIZE} bytes"
            raise ValidationError(msg)
        object.__setattr__(self, "inclusion_proof", proof)

    def to_dict(self) -> dict[str, object]:
        """Return the JSON form: hashes in hex, the signature in base64."""
        return {
            "type": PROOF_TYPE,
            "v": FORMAT_VERSION,
            "entry": self.entry.to_dict(),
            "leaf_index": self.leaf_index,
            "tree_size": self.tree_size,
            "inclusion_proof": [h.hex() for h in self.inclusion_proof],
            "checkpoint": self.checkpoint.to_dict(),
            "signature": base64.b64encode(self.signature).decode("ascii"),
        }

    @classmethod
    def from_dict(cls, data: object) -> ProofBundle:
        """Read the JSON form; malformed input raises ``ValidationError``."""
        fields = exact_fields(data, _BUNDLE_FIELDS, "a proof bundle", kind=PROOF_TYPE, version=FORMAT_VERSION)
        proof = fields["inclusion_proof"]
        if not isinstance(proof, list) or not all(isinstance(h, str) and _HEX64.fullmatch(h) for h in proof):
            msg = "inclusion_proof must be a list of 64-digit lower-case hex hashes"
            raise ValidationError(msg)
        entry = fields["entry"]
        if not isinstance(entry, Mapping):
            msg = "entry must be a JSON object"
            raise ValidationError(msg)
        try:
            signature = base64.b64decode(json_str(fields["signature"], "signature"), validate=True)
        except binascii.Error as e:
            msg = f"signature is not base64: {e}"
            raise ValidationError(msg) from e
        return cls(
            entry=AuditEntry.from_dict(entry),
            leaf_index=json_int(fields["leaf_index"], "leaf index"),
            tree_size=json_int(fields["tree_size"], "tree size"),
            inclusion_proof=tuple(bytes.fromhex(h) for h in proof),
            checkpoint=Checkpoint.from_dict(fields["checkpoint"]),
            signature=signature,
        )


def verify_proof_bundle(bundle: ProofBundle, verify_signature: SignatureCheck) -> AuditEntry:
    """Check a bundle offline and return its entry, now proven to be in the signed log.

    The checkpoint's signature must verify, the bundle's index and size must be the
    entry's sequence number and the checkpoint's size, and the inclusion proof must
    lead from the entry's canonical bytes to the checkpoint's root.

    Raises:
        IntegrityError: any of that fails; one opaque message, whichever it was.
    """
    checkpoint = bundle.checkpoint
    if verify_signature(checkpoint.signed_bytes(), bundle.signature) is not True:
        raise IntegrityError(PROOF_FAILED)
    if bundle.leaf_index != bundle.entry.seq or bundle.tree_size != checkpoint.size:
        raise IntegrityError(PROOF_FAILED)
    verify_inclusion(
        leaf_hash(bundle.entry.to_bytes()),
        index=bundle.leaf_index,
        size=bundle.tree_size,
        proof=bundle.inclusion_proof,
        root=checkpoint.root_hash,
    )
    return bundle.entry


def verify_checkpoint_consistency(older: Checkpoint, newer: Checkpoint, proof: Sequence[bytes]) -> None:
    """Check that ``newer`` extends ``older``: same log, and ``proof`` shows the prefix.

    Both checkpoints' signatures are the caller's to check first.

    Raises:
        IntegrityError: another log, a shrinking log, or a proof that does not verify.
    """
    if older.origin != newer.origin:
        raise IntegrityError(PROOF_FAILED)
    verify_consistency(
        first_size=older.size,
        second_size=newer.size,
        first_root=older.root_hash,
        second_root=newer.root_hash,
        proof=proof,
    )
