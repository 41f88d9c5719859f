"""RFC 9162 tree hashing and proofs against the published vectors and the literal RFC."""

from __future__ import annotations

import hashlib

import pytest

from accord.audit.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    leaf_hash,
    node_hash,
    root_from_inclusion_proof,
    verify_consistency,
    verify_inclusion,
)
from accord.errors import IntegrityError, ValidationError
from tests.unit.audit import _rfc

# Published RFC 6962/9162 vectors: transparency-dev/merkle, proof/verify_test.go
# (`leaves`, `roots`, `inclusionProofs`, `consistencyProofs`; the same values are in
# its testdata/ JSON files and in google/certificate-transparency-go), and
# rfc6962/rfc6962_test.go for the hasher. Only the data is copied. Indices in
# inclusionProofs there count leaves from 1; here they count from 0.
LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
]
ROOTS = [  # ROOTS[n - 1] is the root of the first n leaves
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
INCLUSION = [  # (leaf index from 0, tree size, proof)
    (0, 1, []),
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
CONSISTENCY = [  # (first size, second size, proof)
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]
SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")

TREE = MerkleTree.from_leaves(LEAVES)


def _holds(check, *args, **kwargs):
    """Whether a verify_* call accepts, or refuses with more than the one opaque message."""
    try:
        check(*args, **kwargs)
    except IntegrityError as e:
        return str(e) != "audit proof does not verify"
    return True


def _hex(hashes):
    return [h.hex() for h in hashes]


def _unhex(hashes):
    return [bytes.fromhex(h) for h in hashes]


# -- the hashes -----------------------------------------------------------------------


def test_hasher_vectors():
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert leaf_hash(b"").hex() == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    assert leaf_hash(b"L123456").hex() == "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56"
    assert node_hash(b"N123", b"N456").hex() == "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb"


def test_leaf_and_node_hashes_are_domain_separated():
    a, b = leaf_hash(b"Hello"), leaf_hash(b"World")
    assert a != b
    assert node_hash(a, b) != leaf_hash(a + b)
    assert node_hash(a, b) != node_hash(b, a)


@pytest.mark.parametrize("size", range(1, 9))
def test_roots_match_the_published_vectors(size):
    assert TREE.root(size).hex() == ROOTS[size - 1]
    assert MerkleTree.from_leaves(LEAVES[:size]).root().hex() == ROOTS[size - 1]


def test_the_empty_tree_has_the_hash_of_the_empty_string():
    assert MerkleTree().root() == EMPTY_ROOT == hashlib.sha256(b"").digest()
    assert TREE.root(0) == EMPTY_ROOT


def test_append_one_by_one_builds_the_same_tree_as_a_batch():
    tree = MerkleTree()
    for i, data in enumerate(LEAVES):
        assert tree.append(leaf_hash(data)) == i
        assert tree.root().hex() == ROOTS[i]
    assert tree.packed_leaf_hashes() == TREE.packed_leaf_hashes()
    assert tree.size == 8


def test_appends_and_batches_mix():
    data = [i.to_bytes(2, "big") * (i % 5) for i in range(300)]
    tree = MerkleTree()
    tree.extend(leaf_hash(d) for d in data[:37])
    for d in data[37:100]:
        tree.append(leaf_hash(d))
    tree.extend_packed(b"".join(leaf_hash(d) for d in data[100:]))
    for size in (0, 1, 37, 64, 99, 100, 255, 256, 300):
        assert tree.root(size) == _rfc.mth(data[:size])
    assert tree.leaf(299) == leaf_hash(data[299])


# -- inclusion proofs -----------------------------------------------------------------


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION, ids=lambda v: str(v)[:12])
def test_inclusion_proofs_match_the_published_vectors(index, size, proof):
    assert _hex(TREE.inclusion_proof(index, size)) == proof
    leaf = leaf_hash(LEAVES[index])
    root = bytes.fromhex(ROOTS[size - 1])
    assert root_from_inclusion_proof(leaf, index=index, size=size, proof=_unhex(proof)) == root
    verify_inclusion(leaf, index=index, size=size, proof=_unhex(proof), root=root)


def _corrupted_inclusions(index, size, proof, root, leaf):
    """The probes of transparency-dev's corruptInclusionProof, restated."""
    yield "index - 1", index - 1, size, proof, root, leaf
    yield "index + 1", index + 1, size, proof, root, leaf
    yield "index ^ 2", index ^ 2, size, proof, root, leaf
    yield "size * 2", index, size * 2, proof, root, leaf
    yield "size // 2", index, size // 2, proof, root, leaf
    yield "wrong leaf", index, size, proof, root, b"WrongLeaf"
    yield "empty root", index, size, proof, EMPTY_ROOT, leaf
    yield "random root", index, size, proof, SOME_HASH, leaf
    yield "trailing garbage", index, size, [*proof, b""], root, leaf
    yield "trailing root", index, size, [*proof, root], root, leaf
    yield "preceding garbage", index, size, [b"", *proof], root, leaf
    yield "preceding root", index, size, [root, *proof], root, leaf
    for i in range(len(proof)):
        flipped = bytearray(proof[i])
        flipped[0] ^= 8
        yield f"proof[{i}] bit flipped", index, size, [*proof[:i], bytes(flipped), *proof[i + 1 :]], root, leaf
    if proof:
        yield "removed component", index, size, proof[:-1], root, leaf
    if len(proof) > 1:
        yield "inserted component", index, size, [proof[0], SOME_HASH, *proof[1:]], root, leaf


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION[1:], ids=lambda v: str(v)[:12])
def test_corrupted_inclusion_proofs_fail(index, size, proof):
    leaf, root = leaf_hash(LEAVES[index]), bytes.fromhex(ROOTS[size - 1])
    verified = [
        desc
        for desc, i, n, p, r, lf in _corrupted_inclusions(index, size, _unhex(proof), root, leaf)
        if _holds(verify_inclusion, lf, index=i, size=n, proof=p, root=r)
    ]
    assert verified == []


@pytest.mark.parametrize(("index", "size"), [(0, 0), (0, 1), (1, 0), (2, 1)])
def test_inclusion_with_an_empty_proof_fails_where_it_must(index, size):
    for leaf, root in [(SOME_HASH, b""), (b"", EMPTY_ROOT), (SOME_HASH, EMPTY_ROOT)]:
        with pytest.raises(IntegrityError):
            verify_inclusion(leaf, index=index, size=size, proof=[], root=root)


def test_a_single_entry_tree_is_its_leaf_hash():
    leaf = leaf_hash(b"data")
    verify_inclusion(leaf, index=0, size=1, proof=[], root=leaf)
    for bad_leaf, bad_root in [(leaf, b""), (b"", leaf), (b"", b"")]:
        with pytest.raises(IntegrityError):
            verify_inclusion(bad_leaf, index=0, size=1, proof=[], root=bad_root)


def test_every_inclusion_proof_up_to_64_leaves_matches_the_rfc():
    data = [i.to_bytes(2, "big") for i in range(64)]
    tree = MerkleTree.from_leaves(data)
    for size in range(1, 65):
        root = tree.root(size)
        assert root == _rfc.mth(data[:size])
        for index in range(size):
            proof = tree.inclusion_proof(index, size)
            assert proof == _rfc.path(index, data[:size])
            verify_inclusion(leaf_hash(data[index]), index=index, size=size, proof=proof, root=root)


# -- consistency proofs ---------------------------------------------------------------


@pytest.mark.parametrize(("first", "second", "proof"), CONSISTENCY, ids=lambda v: str(v)[:12])
def test_consistency_proofs_match_the_published_vectors(first, second, proof):
    assert _hex(TREE.consistency_proof(first, second)) == proof
    verify_consistency(
        first_size=first,
        second_size=second,
        first_root=bytes.fromhex(ROOTS[first - 1]),
        second_root=bytes.fromhex(ROOTS[second - 1]),
        proof=_unhex(proof),
    )


def _corrupted_consistencies(first, second, root1, root2, proof):
    """The probes of transparency-dev's corruptConsistencyProof, restated."""
    yield "first - 1", first - 1, second, root1, root2, proof
    yield "first + 1", first + 1, second, root1, root2, proof
    yield "first ^ 2", first ^ 2, second, root1, root2, proof
    yield "second * 2", first, second * 2, root1, root2, proof
    yield "second // 2", first, second // 2, root1, root2, proof
    yield "wrong root1", first, second, b"WrongRoot", root2, proof
    yield "wrong root2", first, second, root1, b"WrongRoot", proof
    yield "swapped roots", first, second, root2, root1, proof
    yield "empty proof", first, second, root1, root2, []
    yield "trailing garbage", first, second, root1, root2, [*proof, b""]
    yield "trailing root1", first, second, root1, root2, [*proof, root1]
    yield "trailing root2", first, second, root1, root2, [*proof, root2]
    yield "preceding garbage", first, second, root1, root2, [b"", *proof]
    yield "preceding root1", first, second, root1, root2, [root1, *proof]
    yield "preceding root2", first, second, root1, root2, [root2, *proof]
    yield "preceding proof[0]", first, second, root1, root2, [proof[0], *proof]
    yield "truncated proof", first, second, root1, root2, proof[:-1]
    for i in range(len(proof)):
        flipped = bytearray(proof[i])
        flipped[0] ^= 16
        yield f"proof[{i}] bit flipped", first, second, root1, root2, [*proof[:i], bytes(flipped), *proof[i + 1 :]]


@pytest.mark.parametrize(("first", "second", "proof"), CONSISTENCY[1:], ids=lambda v: str(v)[:12])
def test_corrupted_consistency_proofs_fail(first, second, proof):
    root1, root2 = bytes.fromhex(ROOTS[first - 1]), bytes.fromhex(ROOTS[second - 1])
    verified = [
        desc
        for desc, m, n, r1, r2, p in _corrupted_consistencies(first, second, root1, root2, _unhex(proof))
        if _holds(verify_consistency, first_size=m, second_size=n, first_root=r1, second_root=r2, proof=p)
    ]
    assert verified == []


ROOT1, ROOT2 = hashlib.sha256(b"one").digest(), hashlib.sha256(b"two").digest()


@pytest.mark.parametrize(
    ("first", "second", "root1", "root2", "proof", "ok"),
    [
        (0, 0, EMPTY_ROOT, EMPTY_ROOT, [], True),
        (0, 1, EMPTY_ROOT, ROOT2, [], True),
        (1, 1, ROOT2, ROOT2, [], True),
        (0, 0, ROOT1, ROOT2, [], False),
        (1, 1, ROOT1, ROOT2, [], False),
        (0, 5, ROOT1, ROOT2, [], False),  # size 0 has one root: the empty tree's
        (1, 0, ROOT1, ROOT2, [], False),  # time travel to the past
        (2, 1, ROOT1, ROOT2, [], False),
        (1, 2, ROOT1, ROOT2, [], False),  # a non-trivial proof cannot be empty
        (0, 0, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT], False),  # trivial proofs must be empty
        (0, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT], False),
        (1, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT], False),
    ],
)
def test_trivial_consistency_cases(first, second, root1, root2, proof, ok):
    def check():
        verify_consistency(first_size=first, second_size=second, first_root=root1, second_root=root2, proof=proof)

    if ok:
        check()
    else:
        with pytest.raises(IntegrityError):
            check()


def test_every_consistency_proof_up_to_40_leaves_matches_the_rfc():
    data = [i.to_bytes(2, "big") for i in range(40)]
    tree = MerkleTree.from_leaves(data)
    for second in range(41):
        for first in range(second + 1):
            proof = tree.consistency_proof(first, second)
            assert proof == _rfc.proof(first, data[:second])
            verify_consistency(
                first_size=first,
                second_size=second,
                first_root=tree.root(first),
                second_root=tree.root(second),
                proof=proof,
            )


# -- bad arguments --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda t: t.root(9), "tree size 9 is outside 0..8"),
        (lambda t: t.root(-1), "tree size -1"),
        (lambda t: t.inclusion_proof(8), "leaf index 8 is outside a tree of 8 leaves"),
        (lambda t: t.inclusion_proof(3, 3), "leaf index 3 is outside a tree of 3 leaves"),
        (lambda t: t.inclusion_proof(0, 9), "tree size 9"),
        (lambda t: t.consistency_proof(5, 4), "from a smaller size to a larger one, not 5 to 4"),
        (lambda t: t.consistency_proof(1, 9), "tree size 9"),
        (lambda t: t.leaf(8), "leaf index 8"),
        (lambda t: t.append(b"short"), "a leaf hash is 32 bytes, not 5"),
        (lambda t: t.extend([b"x" * 32, b"y" * 31]), "every leaf hash is 32 bytes"),
        (lambda t: t.extend([b"x" * 30, b"y" * 34]), "every leaf hash is 32 bytes"),
        (lambda t: t.extend_packed(b"z" * 33), "multiple of 32 bytes, not 33"),
    ],
)
def test_bad_arguments_are_refused_and_change_nothing(call, match):
    tree = MerkleTree.from_leaves(LEAVES)
    with pytest.raises(ValidationError, match=match):
        call(tree)
    assert tree.size == 8
    assert tree.root().hex() == ROOTS[7]
