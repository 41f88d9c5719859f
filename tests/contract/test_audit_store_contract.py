"""The AuditStore contract, the same for the memory, SQLite and PostgreSQL stores."""

from __future__ import annotations

import dataclasses

import pytest

from accord.audit.chain import AuditChain, verify_entries
from accord.audit.checkpoint import Checkpoint
from accord.audit.entry import AuditEntry, EntryKind
from accord.audit.merkle import MerkleTree, leaf_hash
from accord.errors import AuditChainBrokenError, ValidationError
from accord.storage import Signed
from tests.contract.conftest import Node
from tests.contract.holdings import AT, entry_for, signature


def append(node: Node, count: int) -> list[AuditEntry]:
    out = []
    for _ in range(count):
        with node.unit() as s:
            out.append(s.audit.append(entry_for()))
    return out


def test_an_empty_log(node: Node):
    with node.unit() as s:
        assert s.audit.count() == 0
        assert s.audit.entries() == []
        assert s.audit.leaf_hashes_packed() == b""
        assert s.audit.latest_checkpoint() is None
        assert s.audit.checkpoint_at(0) is None
        assert s.audit.checkpoints() == []


def test_entries_are_numbered_from_zero_and_read_back_as_the_same_bytes_and_tree(node: Node):
    appended = append(node, 5)

    assert [e.seq for e in appended] == [0, 1, 2, 3, 4]
    chain = AuditChain(origin="node-kor")
    for entry in appended:
        chain.append(entry)
    with node.unit() as s:
        assert s.audit.count() == 5
        assert list(s.audit.entries()) == list(chain.entries)
        assert list(s.audit.entries(1, 3)) == list(chain.entries[1:3])
        assert list(s.audit.entries(5)) == []
        packed = s.audit.leaf_hashes_packed()
        assert packed == b"".join(leaf_hash(e.to_bytes()) for e in appended)
        assert s.audit.leaf_hashes_packed(3) == packed[3 * 32 :]
        stored = MerkleTree()
        stored.extend_packed(packed)
        assert stored.root() == chain.tree.root()
        verify_entries(s.audit.entries(), [], stored=stored, decode=True)
        assert AuditEntry.from_bytes(s.audit.entries(2, 3)[0]) == appended[2]


def test_a_wrong_or_failed_entry_leaves_no_gap(node: Node):
    append(node, 2)

    def wrong(seq: int) -> AuditEntry:
        return entry_for()(seq + 1)

    def failing(seq: int) -> AuditEntry:
        return entry_for()(-1 - seq)  # AuditEntry refuses a negative number

    with node.unit() as s:
        with pytest.raises(ValidationError, match="audit entry 3 was built for sequence number 2"):
            s.audit.append(wrong)
        with pytest.raises(ValidationError, match="sequence number must be from 0"):
            s.audit.append(failing)
        assert s.audit.count() == 2
        assert s.audit.append(entry_for(EntryKind.RELEASE)).seq == 2
    with node.unit() as s:
        assert s.audit.count() == 3
        assert len(s.audit.leaf_hashes_packed()) == 3 * 32


def test_append_many_numbers_a_batch_consecutively_or_appends_nothing(node: Node):
    append(node, 1)
    with node.unit() as s:
        batch = s.audit.append_many([entry_for(EntryKind.RELEASE)] * 3)
        assert [e.seq for e in batch] == [1, 2, 3]
        assert s.audit.append_many([]) == []

    def failing(seq: int) -> AuditEntry:
        return entry_for()(-1 - seq)

    with node.unit() as s:
        with pytest.raises(ValidationError):
            s.audit.append_many([entry_for(), failing])
        assert s.audit.count() == 4
        assert s.audit.append(entry_for()).seq == 4
    with node.unit() as s:
        stored = s.audit.entries()
        assert [AuditEntry.from_bytes(b).seq for b in stored] == [0, 1, 2, 3, 4]
        assert s.audit.leaf_hashes_packed() == b"".join(leaf_hash(b) for b in stored)


def test_checkpoints_are_kept_one_per_size_and_cover_only_existing_entries(node: Node):
    appended = append(node, 5)
    chain = AuditChain(origin="node-kor")
    for entry in appended:
        chain.append(entry)
    two = Checkpoint(origin="node-kor", size=2, root=chain.tree.root(2).hex(), at=AT)
    five = chain.checkpoint(at=AT)
    with node.unit() as s:
        s.audit.add_checkpoint(five, signature("five"))
        s.audit.add_checkpoint(two, signature("two"))

    with node.unit() as s:
        assert s.audit.latest_checkpoint() == Signed(value=five, signature=signature("five"))
        assert s.audit.checkpoint_at(2) == Signed(value=two, signature=signature("two"))
        assert s.audit.checkpoint_at(3) is None
        assert [c.value.size for c in s.audit.checkpoints()] == [2, 5]
        verify_entries(s.audit.entries(), [c.value for c in s.audit.checkpoints()])
        with pytest.raises(ValidationError, match="checkpoint of size 2 is already stored"):
            s.audit.add_checkpoint(dataclasses.replace(two, at="2026-04-01T00:00:00Z"), signature("again"))
        with pytest.raises(ValidationError, match="a checkpoint of 6 entries cannot be kept for a log of 5"):
            s.audit.add_checkpoint(dataclasses.replace(five, size=6), signature("six"))
        with pytest.raises(ValidationError, match="signature must be non-empty"):
            s.audit.add_checkpoint(dataclasses.replace(five, size=4), b"")
        assert len(s.audit.checkpoints()) == 2


def test_a_checkpoint_that_does_not_match_is_caught_by_verification(node: Node):
    appended = append(node, 3)
    with node.unit() as s:
        wrong = Checkpoint(origin="node-kor", size=3, root=leaf_hash(appended[0].to_bytes()).hex(), at=AT)
        s.audit.add_checkpoint(wrong, signature("wrong"))  # the store keeps; verification judges
        with pytest.raises(AuditChainBrokenError):
            verify_entries(s.audit.entries(), [c.value for c in s.audit.checkpoints()])


def test_bad_ranges_are_refused(node: Node):
    with node.unit() as s:
        for start, stop in ((-1, None), (3, 1)):
            with pytest.raises(ValidationError, match="not a range"):
                s.audit.entries(start, stop)
        with pytest.raises(ValidationError, match="not a range"):
            s.audit.leaf_hashes_packed(-2)
