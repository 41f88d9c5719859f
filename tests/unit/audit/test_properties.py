"""Properties of the audit log: proofs hold for every entry and for no other tree,
and any one-byte change to an entry is detected and named."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accord.audit.chain import verify_entries
from accord.audit.checkpoint import Checkpoint, ProofBundle, verify_proof_bundle
from accord.audit.entry import AuditEntry, EntryKind
from accord.audit.errors import AuditChainBrokenError
from accord.audit.merkle import MerkleTree, leaf_hash, verify_consistency, verify_inclusion
from accord.errors import IntegrityError
from tests.unit.audit import _rfc
from tests.unit.audit._make import chain, check_signature, sign

leaves = st.lists(st.binary(max_size=12), min_size=1, max_size=80)
AT = "2026-03-02T00:00:00Z"
LOG = chain(48)
LOG_CHECKPOINTS = [
    Checkpoint(origin=LOG.origin, size=n, root=LOG.tree.root(n).hex(), at=AT) for n in range(LOG.size + 1)
]


def _rejects(check, *args, **kwargs) -> bool:
    try:
        check(*args, **kwargs)
    except IntegrityError:
        return True
    return False


@st.composite
def tree_and_other(draw: st.DrawFn) -> tuple[list[bytes], list[bytes]]:
    """Leaves, and the leaves of another tree: one leaf changed, added or removed."""
    data = draw(leaves)
    other = list(data)
    how = draw(st.sampled_from(["change", "append", "drop"] if len(data) > 1 else ["change", "append"]))
    if how == "change":
        i = draw(st.integers(0, len(data) - 1))
        other[i] = draw(st.binary(max_size=12).filter(lambda b: b != data[i]))
    elif how == "append":
        other.append(draw(st.binary(max_size=12)))
    else:
        other.pop(draw(st.integers(0, len(data) - 1)))
    return data, other


@given(tree_and_other())
def test_inclusion_proofs_hold_for_every_leaf_and_for_no_other_tree(trees):
    data, other = trees
    tree, root = MerkleTree.from_leaves(data), _rfc.mth(data)
    other_root = _rfc.mth(other)
    assert tree.root() == root
    for index, item in enumerate(data):
        proof = tree.inclusion_proof(index)
        verify_inclusion(leaf_hash(item), index=index, size=len(data), proof=proof, root=root)
        assert _rejects(verify_inclusion, leaf_hash(item), index=index, size=len(data), proof=proof, root=other_root)


@given(st.lists(st.binary(max_size=12), min_size=1, max_size=80, unique=True), st.data())
def test_an_inclusion_proof_fails_for_another_leaf_index_or_size(data, draw):
    tree, size = MerkleTree.from_leaves(data), len(data)
    index = draw.draw(st.integers(0, size - 1))
    proof, root, leaf = tree.inclusion_proof(index), tree.root(), leaf_hash(data[index])
    other_leaf = leaf_hash(draw.draw(st.binary(max_size=12).filter(lambda b: b != data[index])))
    assert _rejects(verify_inclusion, other_leaf, index=index, size=size, proof=proof, root=root)
    other_index = draw.draw(st.integers(0, 2 * size).filter(lambda i: i != index))
    assert _rejects(verify_inclusion, leaf, index=other_index, size=size, proof=proof, root=root)
    # The root does not commit to the size (the signed checkpoint does): a proof for
    # index 0 of 3 leaves also "fits" 4 leaves. Sizes off by a level must fail.
    for other_size in {size * 2, size // 2} - {size}:
        assert _rejects(verify_inclusion, leaf, index=index, size=other_size, proof=proof, root=root)


@given(st.integers(1, 300), st.data())
def test_proofs_for_any_past_size_match_the_rfc(size, draw):
    data = [i.to_bytes(2, "big") for i in range(size)]
    tree = MerkleTree.from_leaves(data)
    past = draw.draw(st.integers(1, size))
    index = draw.draw(st.integers(0, past - 1))
    assert tree.root(past) == _rfc.mth(data[:past])
    assert tree.inclusion_proof(index, past) == _rfc.path(index, data[:past])
    first = draw.draw(st.integers(0, past))
    assert tree.consistency_proof(first, past) == _rfc.proof(first, data[:past])


@given(leaves, st.data())
def test_consistency_proofs_hold_between_any_two_sizes(data, draw):
    tree = MerkleTree.from_leaves(data)
    second = draw.draw(st.integers(0, len(data)))
    first = draw.draw(st.integers(0, second))
    verify_consistency(
        first_size=first,
        second_size=second,
        first_root=tree.root(first),
        second_root=tree.root(second),
        proof=tree.consistency_proof(first, second),
    )


@given(leaves, st.data())
def test_consistency_proofs_fail_when_an_earlier_leaf_changed(data, draw):
    second = draw.draw(st.integers(2, len(data) + 1)) if len(data) > 1 else 2
    data = (data * 2)[:second]
    first = draw.draw(st.integers(1, second - 1))
    changed = list(data)
    i = draw.draw(st.integers(0, first - 1))
    changed[i] = draw.draw(st.binary(max_size=12).filter(lambda b: b != data[i]))
    rewritten = MerkleTree.from_leaves(changed)  # the log as it is now, with history rewritten
    old_root = MerkleTree.from_leaves(data[:first]).root()  # what a witness saw then
    proof = rewritten.consistency_proof(first, second)
    assert _rejects(
        verify_consistency,
        first_size=first,
        second_size=second,
        first_root=old_root,
        second_root=rewritten.root(),
        proof=proof,
    )


@given(leaves, st.lists(st.integers(0, 80), max_size=4))
def test_appending_one_by_one_or_in_batches_builds_the_same_tree(data, cuts):
    one_by_one = MerkleTree()
    for item in data:
        one_by_one.append(leaf_hash(item))
    batches, start = MerkleTree(), 0
    for cut in [*sorted(c for c in cuts if c <= len(data)), len(data)]:
        batches.extend(leaf_hash(item) for item in data[start:cut])
        start = max(start, cut)
    assert one_by_one.packed_leaf_hashes() == batches.packed_leaf_hashes()
    for size in range(len(data) + 1):
        assert one_by_one.root(size) == batches.root(size) == _rfc.mth(data[:size])


@given(st.integers(0, LOG.size - 1), st.data())
@settings(max_examples=150)
def test_any_one_byte_change_to_an_entry_is_detected_and_named(seq, draw):
    entries = list(LOG.entries)
    data = bytearray(entries[seq])
    position = draw.draw(st.integers(0, len(data) - 1))
    data[position] ^= draw.draw(st.integers(1, 255))
    entries[seq] = bytes(data)
    checkpoint = LOG_CHECKPOINTS[-1]
    with pytest.raises(AuditChainBrokenError) as by_stored_hash:
        verify_entries(entries, [checkpoint], stored=LOG.tree)
    assert by_stored_hash.value.seq == seq
    with pytest.raises(AuditChainBrokenError) as by_checkpoints:
        verify_entries(entries, LOG_CHECKPOINTS)
    assert by_checkpoints.value.seq == seq


@given(st.integers(1, 40), st.data())
@settings(max_examples=30)
def test_bundles_verify_for_every_entry_and_fail_for_another_log(size, draw):
    log = chain(size)
    checkpoint = log.checkpoint(at=AT)
    signature = sign(checkpoint.signed_bytes())
    other_size = draw.draw(st.integers(1, 41).filter(lambda n: n != size))
    other = chain(other_size).checkpoint(at=AT)
    for seq in range(size):
        bundle = log.prove(seq, checkpoint=checkpoint, signature=signature)
        assert verify_proof_bundle(ProofBundle.from_dict(json.loads(json.dumps(bundle.to_dict()))), check_signature)
        moved = ProofBundle(
            entry=bundle.entry,
            leaf_index=seq,
            tree_size=other.size,
            inclusion_proof=bundle.inclusion_proof,
            checkpoint=other,
            signature=sign(other.signed_bytes()),
        )
        assert _rejects(verify_proof_bundle, moved, check_signature)


names = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
ids = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=20)


@given(
    seq=st.integers(0, 2**53 - 1),
    kind=st.sampled_from(EntryKind),
    at=st.datetimes(timezones=st.timezones()).map(lambda t: t.isoformat()),
    actor=ids,
    subjects=st.lists(ids, max_size=3).map(tuple),
    digests=st.dictionaries(names, st.binary(min_size=32, max_size=32).map(bytes.hex), max_size=3),
    meta=st.dictionaries(names, st.one_of(ids, st.booleans(), st.integers(-(2**53) + 1, 2**53 - 1)), max_size=4),
)
def test_entries_round_trip_through_their_canonical_bytes(**fields):
    entry = AuditEntry(**fields)
    assert AuditEntry.from_bytes(entry.to_bytes()) == entry
