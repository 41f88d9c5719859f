"""RFC 9162 Merkle tree hashing (section 2.1) over SHA-256, with proofs and their checks.

``MerkleTree`` keeps every level of the tree as one contiguous ``bytearray`` of 32-byte
hashes of *complete* subtrees (about 2 x 32 bytes per leaf), so an append costs
amortised O(1) hashes and the root, an inclusion proof or a consistency proof for any
size up to the current one costs O(log n) look-ups and at most O(log n) hashes.
The module-level ``verify_*`` functions need only hashes, indices and sizes, so an
auditor checks a proof without the tree. All of it is pure: no I/O, no clock. What a
leaf *is* (an audit entry's canonical bytes) belongs to ``accord.audit.entry``.

The hashing is implemented here rather than taken from a library: it is short, and the
packed levels are what the store (which keeps and reloads leaf hashes) and a
10-million-entry log need. The published transparency-dev vectors in
``tests/unit/audit/test_merkle.py`` pin it to RFC 9162.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from itertools import islice
from typing import Final

from accord.audit.errors import PROOF_FAILED
from accord.errors import IntegrityError, ValidationError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "MerkleTree",
    "leaf_hash",
    "node_hash",
    "root_from_inclusion_proof",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE: Final = 32
EMPTY_ROOT: Final = hashlib.sha256(b"").digest()
"""MTH({}) = SHA-256 of the empty string (RFC 9162 2.1.1)."""

_LEAF: Final = b"\x00"
_NODE: Final = b"\x01"
_PAIR: Final = 2 * HASH_SIZE
_BATCH: Final = 1 << 16  # leaves taken at a time by ``extend`` and ``from_leaves``
_sha256 = hashlib.sha256


def leaf_hash(data: bytes) -> bytes:
    """Return the RFC 9162 leaf hash ``SHA-256(0x00 || data)``."""
    return _sha256(_LEAF + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the RFC 9162 interior node hash ``SHA-256(0x01 || left || right)``."""
    return _sha256(_NODE + left + right).digest()


def _hashes_up(lower: bytearray | bytes, start: int, stop: int) -> bytes:
    """Hash the pairs ``start..stop-1`` of a level into the next level up, packed."""
    return b"".join([_sha256(_NODE + lower[i : i + _PAIR]).digest() for i in range(start * _PAIR, stop * _PAIR, _PAIR)])


class MerkleTree:
    """An append-only RFC 9162 tree of leaf hashes that answers for any past size.

    ``levels[k]`` holds, packed, the hashes of the complete subtrees of ``2**k``
    leaves in order; a subtree never changes once complete, so the nodes the tree
    had at size ``m`` are all still there at any later size.
    """

    __slots__ = ("_levels",)

    def __init__(self) -> None:
        """Start an empty tree."""
        self._levels: list[bytearray] = [bytearray()]

    @classmethod
    def from_leaf_hashes(cls, hashes: Iterable[bytes]) -> MerkleTree:
        """Build a tree from leaf hashes (``leaf_hash`` of each entry), in order."""
        tree = cls()
        tree.extend(hashes)
        return tree

    @classmethod
    def from_leaves(cls, leaves: Iterable[bytes]) -> MerkleTree:
        """Build a tree over the given leaf data, hashing each with ``leaf_hash``.

        This is the hot path of verifying a whole log: one list comprehension per
        batch (faster here than ``map``), then the levels a batch at a time.
        """
        tree, it = cls(), iter(leaves)
        while batch := list(islice(it, _BATCH)):
            tree.extend_packed(b"".join([_sha256(_LEAF + data).digest() for data in batch]))
        return tree

    # -- size and content -------------------------------------------------------------

    @property
    def size(self) -> int:
        """The number of leaves."""
        return len(self._levels[0]) // HASH_SIZE

    def leaf(self, index: int) -> bytes:
        """Return the leaf hash at ``index``."""
        self._check_index(index, self.size)
        return bytes(self._levels[0][index * HASH_SIZE : (index + 1) * HASH_SIZE])

    def packed_leaf_hashes(self) -> bytes:
        """Return all leaf hashes concatenated, 32 bytes each (what a store keeps)."""
        return bytes(self._levels[0])

    # -- appending --------------------------------------------------------------------

    def append(self, leaf: bytes) -> int:
        """Append one leaf hash and return its index; amortised O(1) hashes."""
        if len(leaf) != HASH_SIZE:
            msg = f"a leaf hash is {HASH_SIZE} bytes, not {len(leaf)}"
            raise ValidationError(msg)
        levels = self._levels
        levels[0] += leaf
        index = len(levels[0]) // HASH_SIZE - 1
        count, level, node = index + 1, 0, bytes(leaf)
        # Each time a level's count turns even, its last two nodes complete a parent.
        while count % 2 == 0:
            node = _sha256(_NODE + levels[level][-_PAIR:-HASH_SIZE] + node).digest()
            level += 1
            if level == len(levels):
                levels.append(bytearray())
            levels[level] += node
            count = len(levels[level]) // HASH_SIZE
        return index

    def extend(self, hashes: Iterable[bytes]) -> None:
        """Append many leaf hashes, in order; all of them or, if one is malformed, none."""
        it = iter(hashes)
        packed = bytearray()
        while batch := list(islice(it, _BATCH)):
            joined = b"".join(batch)
            if len(joined) != HASH_SIZE * len(batch) or any(len(h) != HASH_SIZE for h in batch):
                msg = f"every leaf hash is {HASH_SIZE} bytes"
                raise ValidationError(msg)
            packed += joined
        self.extend_packed(packed)

    def extend_packed(self, packed: bytes | bytearray) -> None:
        """Append leaf hashes given concatenated, 32 bytes each, as a store returns them."""
        if len(packed) % HASH_SIZE:
            msg = f"packed leaf hashes must be a multiple of {HASH_SIZE} bytes, not {len(packed)}"
            raise ValidationError(msg)
        levels = self._levels
        levels[0] += packed
        level = 0
        while len(levels[level]) >= _PAIR:
            if level + 1 == len(levels):
                levels.append(bytearray())
            lower, upper = levels[level], levels[level + 1]
            done, ready = len(upper) // HASH_SIZE, len(lower) // _PAIR
            if ready > done:
                upper += _hashes_up(lower, done, ready)
            level += 1

    # -- hashes of subtrees -----------------------------------------------------------

    def _node(self, level: int, index: int) -> bytes:
        """The hash of complete subtree ``index`` of ``2**level`` leaves."""
        return bytes(self._levels[level][index * HASH_SIZE : (index + 1) * HASH_SIZE])

    def _subtree(self, lo: int, hi: int) -> bytes:
        """MTH(D[lo:hi]) for a subtree of RFC shape: ``lo`` a multiple of 2**k >= hi - lo.

        Such a range splits into complete subtrees, largest first, one per set bit of
        its width; MTH folds them from the right.
        """
        width = hi - lo
        if width & (width - 1) == 0:  # complete: one stored node
            level = width.bit_length() - 1
            return self._node(level, lo >> level)
        parts: list[bytes] = []
        for level in range(width.bit_length() - 1, -1, -1):
            if width >> level & 1:
                parts.append(self._node(level, lo >> level))
                lo += 1 << level
        result = parts.pop()
        while parts:
            result = _sha256(_NODE + parts.pop() + result).digest()
        return result

    def root(self, size: int | None = None) -> bytes:
        """Return MTH of the first ``size`` leaves (default: all of them)."""
        size = self._check_size(size)
        if size == 0:
            return EMPTY_ROOT
        return self._subtree(0, size)

    # -- proofs -----------------------------------------------------------------------

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """Return PATH(index, D[0:size]) of RFC 9162 2.1.3.1, leaf level first.

        The RFC tree equals the tree in which a level's last node, when it has no
        sibling, moves up unchanged: walk up, taking each level's sibling when there is
        one. Only the sibling on the tree's right edge can be incomplete (at most one
        per proof), and it costs at most log2(size) hashes.
        """
        size = self._check_size(size)
        self._check_index(index, size)
        proof: list[bytes] = []
        level, node, last = 0, index, size - 1
        while last:
            lo = (node ^ 1) << level
            if lo < size:
                proof.append(self._subtree(lo, min(lo + (1 << level), size)))
            level, node, last = level + 1, node >> 1, last >> 1
        return proof

    def consistency_proof(self, first: int, second: int | None = None) -> list[bytes]:
        """Return PROOF(first, D[0:second]) of RFC 9162 2.1.4.1 (empty when trivial)."""
        second = self._check_size(second)
        if not 0 <= first <= second:
            msg = f"a consistency proof goes from a smaller size to a larger one, not {first} to {second}"
            raise ValidationError(msg)
        if first in {0, second}:
            return []
        # SUBPROOF(m, D[lo:hi], whole) recurses into one half and appends the other
        # half's hash after it: walk down, collect those hashes, then reverse them.
        lo, hi, m, whole = 0, second, first, True
        tail: list[bytes] = []
        while m != hi - lo:
            k = 1 << ((hi - lo - 1).bit_length() - 1)  # largest power of two < hi - lo
            if m <= k:
                tail.append(self._subtree(lo + k, hi))
                hi = lo + k
            else:
                tail.append(self._subtree(lo, lo + k))
                lo, m, whole = lo + k, m - k, False
        head = [] if whole else [self._subtree(lo, hi)]
        return head + tail[::-1]

    # -- argument checks --------------------------------------------------------------

    def _check_size(self, size: int | None) -> int:
        if size is None:
            return self.size
        if not 0 <= size <= self.size:
            msg = f"tree size {size} is outside 0..{self.size}"
            raise ValidationError(msg)
        return size

    @staticmethod
    def _check_index(index: int, size: int) -> None:
        if not 0 <= index < size:
            msg = f"leaf index {index} is outside a tree of {size} leaves"
            raise ValidationError(msg)


# -- verification (RFC 9162 2.1.3.2 and 2.1.4.2) ----------------------------------------


def _fail() -> IntegrityError:
    # One message for every failed proof: the caller (or its peer) learns that the proof
    # does not hold, never which step failed (no oracle).
    return IntegrityError(PROOF_FAILED)


def _is_hash(value: object) -> bool:
    return isinstance(value, bytes | bytearray) and len(value) == HASH_SIZE


def root_from_inclusion_proof(leaf: bytes, *, index: int, size: int, proof: Sequence[bytes]) -> bytes:
    """Return the root that ``proof`` gives for ``leaf`` at ``index`` of ``size`` leaves.

    Raises:
        IntegrityError: the proof is malformed for that index and size.
    """
    if not 0 <= index < size or not _is_hash(leaf) or not all(_is_hash(p) for p in proof):
        raise _fail()
    fn, sn, r = index, size - 1, bytes(leaf)
    for p in proof:
        if sn == 0:
            raise _fail()
        if fn & 1 or fn == sn:
            r = _sha256(_NODE + p + r).digest()
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = _sha256(_NODE + r + p).digest()
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise _fail()
    return r


def verify_inclusion(leaf: bytes, *, index: int, size: int, proof: Sequence[bytes], root: bytes) -> None:
    """Check that ``leaf`` is at ``index`` in the tree of ``size`` leaves with ``root``.

    Raises:
        IntegrityError: the proof does not verify (one opaque message).
    """
    computed = root_from_inclusion_proof(leaf, index=index, size=size, proof=proof)
    if not _is_hash(root) or not hmac.compare_digest(computed, root):
        raise _fail()


def verify_consistency(
    *,
    first_size: int,
    second_size: int,
    first_root: bytes,
    second_root: bytes,
    proof: Sequence[bytes],
) -> None:
    """Check that the tree of ``first_size`` leaves is a prefix of the ``second_size`` one.

    Equal sizes need an empty proof and equal roots; size 0 needs an empty proof and
    the empty-tree root as ``first_root``.

    Raises:
        IntegrityError: the proof does not verify (one opaque message).
    """
    if not 0 <= first_size <= second_size or not _is_hash(first_root) or not _is_hash(second_root):
        raise _fail()
    if not all(_is_hash(c) for c in proof):
        raise _fail()
    if first_size in {second_size, 0}:
        expected = second_root if first_size == second_size else EMPTY_ROOT
        if proof or not hmac.compare_digest(first_root, expected):
            raise _fail()
        return
    fr, sr = _roots_from_consistency_proof(first_size, second_size, first_root, proof)
    if not hmac.compare_digest(fr, first_root) or not hmac.compare_digest(sr, second_root):
        raise _fail()


def _roots_from_consistency_proof(
    first_size: int, second_size: int, first_root: bytes, proof: Sequence[bytes]
) -> tuple[bytes, bytes]:
    """The two roots a consistency proof gives, 0 < first_size < second_size (2.1.4.2)."""
    if not proof:
        raise _fail()
    path = list(proof)
    if first_size & (first_size - 1) == 0:
        path.insert(0, bytes(first_root))
    fn, sn = first_size - 1, second_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = bytes(path[0])
    for c in path[1:]:
        if sn == 0:
            raise _fail()
        if fn & 1 or fn == sn:
            fr = _sha256(_NODE + c + fr).digest()
            sr = _sha256(_NODE + c + sr).digest()
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = _sha256(_NODE + sr + c).digest()
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise _fail()
    return fr, sr
