"""Appending to an audit log and verifying it: the first bad entry is named."""

from __future__ import annotations

import pytest

from accord.audit.chain import AuditChain, verify_entries
from accord.audit.checkpoint import Checkpoint
from accord.audit.errors import AuditChainBrokenError
from accord.audit.merkle import MerkleTree, leaf_hash
from accord.errors import IntegrityError, ValidationError
from tests.unit.audit._make import chain, entry

AT = "2026-03-02T00:00:00Z"


def _checkpoints(log: AuditChain, *sizes: int) -> list[Checkpoint]:
    return [Checkpoint(origin=log.origin, size=n, root=log.tree.root(n).hex(), at=AT) for n in sizes]


def _broken(entries, checkpoints, **kwargs) -> AuditChainBrokenError:
    with pytest.raises(AuditChainBrokenError) as caught:
        verify_entries(entries, checkpoints, **kwargs)
    return caught.value


def test_append_numbers_entries_without_gaps():
    log = chain(3)
    assert log.size == 3
    assert log.entry(1) == entry(1)
    assert log.tree.leaf(2) == leaf_hash(entry(2).to_bytes())
    with pytest.raises(ValidationError, match="entry 5 cannot be appended as entry 3"):
        log.append(entry(5))
    with pytest.raises(ValidationError, match="entry 2 cannot be appended as entry 3"):
        log.append(entry(2))
    assert log.size == 3
    with pytest.raises(ValidationError, match="entry 3 is not in a log of 3 entries"):
        log.entry(3)


def test_a_log_needs_an_origin():
    with pytest.raises(ValidationError, match="origin"):
        AuditChain(origin="")


def test_a_good_log_verifies_against_all_its_checkpoints():
    log = chain(40)
    checkpoints = _checkpoints(log, 0, 1, 17, 32, 40)
    tree = verify_entries(log.entries, checkpoints, stored=log.tree, decode=True)
    assert tree.root() == log.tree.root()
    log.verify(checkpoints, decode=True)
    verify_entries(log.entries[:35], _checkpoints(log, 17, 32))  # entries after the last checkpoint: pending


def test_a_changed_entry_is_named_by_its_stored_leaf_hash():
    log = chain(20)
    entries = list(log.entries)
    entries[11] = entry(11, actor="KOR/intruder").to_bytes()
    error = _broken(entries, _checkpoints(log, 8, 20), stored=log.tree)
    assert error.seq == 11
    assert "entry 11 does not match its stored leaf hash" in error.reason
    assert "first bad entry is 11" in error.diagnostics()
    assert isinstance(error, IntegrityError)


def test_without_stored_hashes_the_checkpoints_bound_the_damage():
    log = chain(20)
    entries = list(log.entries)
    entries[11] = entry(11, actor="KOR/intruder").to_bytes()
    error = _broken(entries, _checkpoints(log, 4, 8, 16, 20))
    assert error.seq == 8
    assert "entries 8..15 do not match the checkpoint of size 16" in error.reason
    # With a checkpoint at every size the checkpoints alone name the entry.
    assert _broken(entries, _checkpoints(log, *range(21))).seq == 11


def test_entries_rewritten_with_their_stored_hashes_are_caught_by_the_checkpoint():
    log = chain(20)
    forged = AuditChain(origin=log.origin)
    for seq in range(20):
        forged.append(entry(seq, actor="KOR/intruder") if seq == 13 else entry(seq))
    error = _broken(forged.entries, _checkpoints(log, 10, 20), stored=forged.tree)
    assert error.seq == 10
    assert "do not match the checkpoint of size 20" in error.reason


def test_a_changed_stored_hash_under_a_good_checkpoint_is_named_as_such():
    log = chain(20)
    packed = bytearray(log.tree.packed_leaf_hashes())
    packed[5 * 32] ^= 1
    stored = MerkleTree()
    stored.extend_packed(bytes(packed))
    error = _broken(log.entries, _checkpoints(log, 20), stored=stored)
    assert error.seq == 5
    assert "its stored hash is what changed" in error.reason


def test_missing_entries_are_named():
    log = chain(20)
    error = _broken(log.entries[:15], _checkpoints(log, 10, 20))
    assert error.seq == 15
    assert "entry 15 is missing" in error.reason
    assert _broken(log.entries[:15], [], stored=log.tree).seq == 15
    shorter = MerkleTree.from_leaf_hashes(log.tree.leaf(i) for i in range(12))
    error = _broken(log.entries, [], stored=shorter)
    assert (error.seq, error.reason) == (12, "entry 12 has no stored leaf hash")


def test_decoding_names_an_entry_out_of_place_or_not_canonical():
    log = AuditChain(origin="node:KOR")
    entries = [entry(0).to_bytes(), entry(2).to_bytes(), entry(1).to_bytes()]
    stored = MerkleTree.from_leaves(entries)
    verify_entries(entries, [], stored=stored)  # the hashes agree: only decoding sees it
    error = _broken(entries, [], stored=stored, decode=True)
    assert (error.seq, error.reason) == (1, "entry 1 says it is entry 2")
    entries[0] = entries[0].replace(b"{", b"{ ", 1)
    error = _broken(entries, [], stored=MerkleTree.from_leaves(entries), decode=True)
    assert error.seq == 0
    assert "canonical JSON" in error.reason
    assert log.size == 0


def test_checkpoints_of_two_logs_cannot_verify_one():
    log = chain(5)
    checkpoints = [*_checkpoints(log, 5), Checkpoint(origin="node:JPN", size=5, root=log.tree.root().hex(), at=AT)]
    with pytest.raises(ValidationError, match="different logs"):
        verify_entries(log.entries, checkpoints)


def test_prove_refuses_checkpoints_of_another_log_or_entries_they_do_not_cover():
    log = chain(10)
    (good,) = _checkpoints(log, 6)
    bad = [
        Checkpoint(origin="node:JPN", size=6, root=good.root, at=AT),
        Checkpoint(origin=log.origin, size=11, root=good.root, at=AT),
        Checkpoint(origin=log.origin, size=6, root=log.tree.root(7).hex(), at=AT),
    ]
    for checkpoint in bad:
        with pytest.raises(IntegrityError, match=r"^audit proof does not verify$"):
            log.prove(2, checkpoint=checkpoint, signature=b"")
    with pytest.raises(ValidationError, match="entry 6 is not covered by the checkpoint of size 6"):
        log.prove(6, checkpoint=good, signature=b"")


@pytest.mark.parametrize("seq", [0, 4095, 4096, 4500, 9999])
def test_a_changed_entry_is_found_in_a_large_log(seq):
    entries = [b"entry %d" % i for i in range(10_000)]
    stored = MerkleTree.from_leaves(entries)
    entries[seq] = b"entry %d!" % seq
    error = _broken(entries, [], stored=stored)
    assert error.seq == seq


def test_decoding_names_the_exact_entry_inside_a_failed_checkpoint_range():
    log = chain(20)
    entries = list(log.entries)
    entries[15] = entries[15].replace(b'{"actor"', b'{ "actor"')  # same JSON, not canonical
    error = _broken(entries, _checkpoints(log, 8, 16, 20))
    assert error.seq == 8  # the checkpoints alone only bound it
    error = _broken(entries, _checkpoints(log, 8, 16, 20), decode=True)
    assert error.seq == 15
    assert "canonical JSON" in error.reason
