"""Appending to an audit log and verifying one, naming the first bad entry.

``verify_entries`` recomputes every leaf hash and the tree from the entries' stored
bytes and checks the signed checkpoints against it; when something is wrong it raises
``AuditChainBrokenError`` with the first bad sequence number. A stored leaf hash per
entry (the tree the node keeps for its proofs) lets it name the exact entry whose bytes
changed; signed checkpoints alone bound the damage to the entries after the last
checkpoint that still verifies. ``AuditChain`` is the pure in-memory log: entries'
canonical bytes and their ``MerkleTree``. Storage, signing and the clock belong to the
services that drive it; none of them is reached from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from accord.audit.checkpoint import Checkpoint, ProofBundle
from accord.audit.entry import AuditEntry
from accord.audit.errors import PROOF_FAILED, AuditChainBrokenError
from accord.audit.merkle import HASH_SIZE, MerkleTree, leaf_hash
from accord.errors import IntegrityError, ValidationError

__all__ = ["AuditChain", "verify_entries"]


def _first_difference(ours: bytes, stored: bytes) -> int:
    """Index of the first 32-byte hash that differs between two packings (block by block)."""
    block = HASH_SIZE * 4096
    for start in range(0, min(len(ours), len(stored)), block):
        if ours[start : start + block] != stored[start : start + block]:
            for i in range(start, start + block, HASH_SIZE):
                if ours[i : i + HASH_SIZE] != stored[i : i + HASH_SIZE]:
                    return i // HASH_SIZE
    return min(len(ours), len(stored)) // HASH_SIZE


class _Problem(NamedTuple):
    seq: int  # the first entry known or suspected bad
    before: int  # the first bad entry lies in seq..before-1 (seq + 1 when it is exactly seq)
    reason: str

    @property
    def is_exact(self) -> bool:
        return self.before == self.seq + 1


def _exact(seq: int, reason: str) -> _Problem:
    return _Problem(seq, seq + 1, reason)


def _stored_problem(tree: MerkleTree, stored: MerkleTree) -> _Problem | None:
    seq = _first_difference(tree.packed_leaf_hashes(), stored.packed_leaf_hashes())
    if seq < min(tree.size, stored.size):
        return _exact(seq, f"entry {seq} does not match its stored leaf hash")
    if tree.size > stored.size:
        return _exact(stored.size, f"entry {stored.size} has no stored leaf hash")
    if tree.size < stored.size:
        return _exact(tree.size, f"entry {tree.size} is missing: {stored.size} leaf hashes are stored")
    return None


def _checkpoint_problem(tree: MerkleTree, checkpoints: Sequence[Checkpoint]) -> tuple[int, _Problem | None]:
    """The number of entries the checkpoints vouch for, and the first problem found."""
    if len({c.origin for c in checkpoints}) > 1:
        msg = "checkpoints of different logs cannot verify one log"
        raise ValidationError(msg)
    verified = 0
    for checkpoint in sorted(checkpoints, key=lambda c: c.size):
        if checkpoint.size > tree.size:
            reason = f"entry {tree.size} is missing: a checkpoint covers {checkpoint.size} entries"
            return verified, _exact(tree.size, reason)
        if tree.root(checkpoint.size) != checkpoint.root_hash:
            reason = (
                f"entries {verified}..{checkpoint.size - 1} do not match the checkpoint of size {checkpoint.size}"
                f" signed at {checkpoint.at}; entry {verified} is the first not covered by a good checkpoint"
            )
            return verified, _Problem(verified, checkpoint.size, reason)
        verified = checkpoint.size
    return verified, None


def _decode_problem(entries: Sequence[bytes], stop: int) -> _Problem | None:
    for seq in range(stop):
        try:
            entry = AuditEntry.from_bytes(entries[seq])
        except ValidationError as e:
            return _exact(seq, f"entry {seq} does not decode: {e.message}")
        if entry.seq != seq:
            return _exact(seq, f"entry {seq} says it is entry {entry.seq}")
    return None


def verify_entries(
    entries: Sequence[bytes],
    checkpoints: Sequence[Checkpoint],
    *,
    stored: MerkleTree | None = None,
    decode: bool = False,
) -> MerkleTree:
    """Recompute the log's tree from its entries' bytes and check it; return the tree.

    Args:
        entries: every entry's stored bytes, entry 0 first.
        checkpoints: checkpoints of this log whose signatures the caller has checked;
            each must match the tree of the first ``size`` entries.
        stored: the tree the node keeps (its stored leaf hashes); each entry's
            recomputed leaf hash must equal the stored one, which names the exact entry
            whose bytes (or stored hash) changed.
        decode: also decode each entry, check it is canonical JSON and that its
            sequence number is its position (about 30 times slower than hashing).

    Raises:
        AuditChainBrokenError: naming the first bad entry and what is wrong with it.
    """
    tree = MerkleTree.from_leaves(entries)
    verified, first = _checkpoint_problem(tree, checkpoints)
    if stored is not None and (exact := _stored_problem(tree, stored)):
        if exact.seq < verified:
            note = "the entry matches a signed checkpoint: its stored hash is what changed"
            exact = exact._replace(reason=f"{exact.reason} ({note})")
        # A failed checkpoint only bounds the first bad entry; a stored hash names it.
        if first is None or exact.seq < first.before:
            first = exact
    if decode:
        # Decode only where an earlier (or, inside a failed checkpoint's range, a more
        # exact) first bad entry can still be found.
        stop = len(entries) if first is None else first.seq if first.is_exact else first.before
        if exact := _decode_problem(entries, stop):
            first = exact
    if first is not None:
        raise AuditChainBrokenError(seq=first.seq, reason=first.reason)
    return tree


class AuditChain:
    """A pure in-memory audit log for one origin: entry bytes and their Merkle tree."""

    __slots__ = ("_entries", "_tree", "origin")

    def __init__(self, *, origin: str) -> None:
        """Start an empty log for the node ``origin``."""
        if not origin:
            msg = "an audit log needs its origin node id"
            raise ValidationError(msg)
        self.origin = origin
        self._entries: list[bytes] = []
        self._tree = MerkleTree()

    @property
    def size(self) -> int:
        """The number of entries, which is also the next entry's sequence number."""
        return len(self._entries)

    @property
    def entries(self) -> Sequence[bytes]:
        """Every entry's canonical bytes, in order (a read-only view)."""
        return tuple(self._entries)

    @property
    def tree(self) -> MerkleTree:
        """The log's Merkle tree (do not append to it directly)."""
        return self._tree

    def append(self, entry: AuditEntry) -> bytes:
        """Append an entry numbered ``size``; return its leaf hash."""
        if entry.seq != self.size:
            msg = f"entry {entry.seq} cannot be appended as entry {self.size}: sequence numbers have no gaps"
            raise ValidationError(msg)
        data = entry.to_bytes()
        leaf = leaf_hash(data)
        self._tree.append(leaf)
        self._entries.append(data)
        return leaf

    def entry(self, seq: int) -> AuditEntry:
        """Decode entry ``seq``."""
        if not 0 <= seq < self.size:
            msg = f"entry {seq} is not in a log of {self.size} entries"
            raise ValidationError(msg)
        return AuditEntry.from_bytes(self._entries[seq])

    def checkpoint(self, *, at: str) -> Checkpoint:
        """Return the unsigned checkpoint of the log as it is now, stamped ``at``."""
        return Checkpoint(origin=self.origin, size=self.size, root=self._tree.root().hex(), at=at)

    def prove(self, seq: int, *, checkpoint: Checkpoint, signature: bytes) -> ProofBundle:
        """Return the offline proof that entry ``seq`` is in the log ``checkpoint`` signs.

        Raises:
            IntegrityError: the checkpoint is not one of this log's.
            ValidationError: entry ``seq`` is not covered by the checkpoint.
        """
        if (
            checkpoint.origin != self.origin
            or checkpoint.size > self.size
            or self._tree.root(checkpoint.size) != checkpoint.root_hash
        ):
            raise IntegrityError(PROOF_FAILED)
        if not 0 <= seq < checkpoint.size:
            msg = f"entry {seq} is not covered by the checkpoint of size {checkpoint.size}"
            raise ValidationError(msg)
        return ProofBundle(
            entry=self.entry(seq),
            leaf_index=seq,
            tree_size=checkpoint.size,
            inclusion_proof=tuple(self._tree.inclusion_proof(seq, checkpoint.size)),
            checkpoint=checkpoint,
            signature=signature,
        )

    def verify(self, checkpoints: Sequence[Checkpoint], *, decode: bool = False) -> None:
        """Verify the log's entries against its own tree and the given checkpoints."""
        verify_entries(self._entries, checkpoints, stored=self._tree, decode=decode)
