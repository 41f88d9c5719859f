"""Checkpoint witnessing, pure: the message body, the head's signature, the verdict, cosignatures.

A forked log is built for real: the same first entries, then different ones, so the
fork's own consistency proofs are valid for its tree and fail against the original's.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from accord.audit.checkpoint import Checkpoint
from accord.audit.merkle import MerkleTree, leaf_hash
from accord.crypto import CompositeSigner
from accord.crypto.keys import KeyAlgorithm, NodeKeys
from accord.federation.messages import RejectedError
from accord.federation.witness import (
    MAX_PROOFS,
    AlarmKind,
    CheckpointClaim,
    Cosignature,
    Head,
    checkpoint_body,
    cosign,
    judge,
    read_checkpoint_body,
    verify_checkpoint,
    verify_cosignature,
)
from tests.unit.federation.conftest import T0

AT = "2026-03-02T09:00:00Z"
LATER = T0 + dt.timedelta(days=1)


def log(*names: str) -> MerkleTree:
    return MerkleTree.from_leaf_hashes(leaf_hash(n.encode()) for n in names)


ORIGINAL = [f"entry {i}" for i in range(20)]
FORK = ORIGINAL[:6] + [f"rewritten {i}" for i in range(6, 20)]


def claim(tree: MerkleTree, size: int, keys: NodeKeys, *, proofs_from=(), origin="KOR", at=AT) -> CheckpointClaim:
    checkpoint = Checkpoint(origin=origin, size=size, root=tree.root(size).hex(), at=at)
    signature = CompositeSigner(keys).sign(checkpoint.signed_bytes())
    proofs = {m: tree.consistency_proof(m, size) for m in proofs_from}
    return read_checkpoint_body(checkpoint_body(checkpoint, signature, proofs))


def head_of(tree: MerkleTree, size: int) -> Head:
    return Head(size=size, root=tree.root(size).hex(), at=AT)


def test_the_body_round_trips_and_the_head_verifies_with_the_pinned_keys(kor, kor_keys):
    original = log(*ORIGINAL)
    read = claim(original, 12, kor_keys, proofs_from=(5, 8))
    assert read.checkpoint.size == 12
    assert set(read.proofs) == {5, 8}
    verify_checkpoint(read, kor)


def test_a_head_signed_by_other_keys_by_ed25519_alone_or_for_another_log_is_refused(kor, kor_keys, jpn_keys):
    original = log(*ORIGINAL)
    with pytest.raises(RejectedError) as e:
        verify_checkpoint(claim(original, 12, jpn_keys), kor)
    assert "pinned keys" in e.value.reason
    good = claim(original, 12, kor_keys)
    only_ed25519 = dataclasses.replace(
        good, signature=dataclasses.replace(good.signature, parts=good.signature.parts[:1])
    )
    with pytest.raises(RejectedError):
        verify_checkpoint(only_ed25519, kor)
    with pytest.raises(RejectedError, match="refused") as e:
        verify_checkpoint(claim(original, 12, kor_keys, origin="JPN"), kor)
    assert "sent by KOR" in e.value.reason
    # a head stamped before the pinned keys existed is not theirs
    with pytest.raises(RejectedError):
        verify_checkpoint(claim(original, 12, kor_keys, at="2020-01-01T00:00:00Z"), kor)


def test_a_signature_over_a_changed_root_does_not_verify(kor, kor_keys):
    good = claim(log(*ORIGINAL), 12, kor_keys)
    moved = dataclasses.replace(good, checkpoint=dataclasses.replace(good.checkpoint, root="0" * 64))
    with pytest.raises(RejectedError):
        verify_checkpoint(moved, kor)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"checkpoint": {"type": "accord/audit-checkpoint"}, "signature": {"signatures": []}},
        "proofs-not-a-list",
        [{"from_size": 12, "hashes": []}],  # not below the head's size
        [{"from_size": -1, "hashes": []}],
        [{"from_size": True, "hashes": []}],
        [{"from_size": 3, "hashes": ["zz"]}],
        [{"from_size": 3, "hashes": []}, {"from_size": 3, "hashes": []}],
        [{"from_size": s, "hashes": []} for s in range(MAX_PROOFS + 1)],
    ],
    ids=[
        "empty",
        "bad-checkpoint",
        "proofs-not-list",
        "proof-too-large",
        "negative",
        "bool",
        "bad-hash",
        "twice",
        "too-many",
    ],
)
def test_malformed_bodies_are_refused(kor_keys, body):
    good = checkpoint_body(*_signed(log(*ORIGINAL), 12, kor_keys), {})
    doc = body if isinstance(body, dict) else good | {"proofs": body}
    with pytest.raises(RejectedError):
        read_checkpoint_body(doc)


def _signed(tree, size, keys):
    checkpoint = Checkpoint(origin="KOR", size=size, root=tree.root(size).hex(), at=AT)
    return checkpoint, CompositeSigner(keys).sign(checkpoint.signed_bytes())


def test_the_first_head_is_accepted_and_an_extension_advances(kor_keys):
    original = log(*ORIGINAL)
    first = judge(None, claim(original, 6, kor_keys))
    assert (first.cosign, first.advance, first.alarm) == (True, True, None)
    grown = judge(head_of(original, 6), claim(original, 20, kor_keys, proofs_from=(6,)))
    assert (grown.cosign, grown.advance, grown.alarm) == (True, True, None)
    again = judge(head_of(original, 20), claim(original, 20, kor_keys))
    assert (again.cosign, again.advance, again.alarm) == (True, False, None)


def test_a_rewritten_log_raises_an_alarm_whatever_its_size(kor_keys):
    original, fork = log(*ORIGINAL), log(*FORK)
    seen = head_of(original, 10)
    # Larger: the fork proves consistency with its own size 10, not with the one seen.
    inconsistent = judge(seen, claim(fork, 20, kor_keys, proofs_from=(10,)))
    assert (inconsistent.cosign, inconsistent.advance, inconsistent.alarm) == (False, False, AlarmKind.INCONSISTENT)
    # The same size with another root: two signed heads for one size.
    forked = judge(seen, claim(fork, 10, kor_keys))
    assert forked.alarm is AlarmKind.FORKED
    # Smaller, even an honest prefix: a log never shrinks.
    shrank = judge(seen, claim(original, 8, kor_keys))
    assert shrank.alarm is AlarmKind.SHRANK
    assert "10 to 8" in shrank.reason
    # The shared prefix is still consistent: forking after what was seen is caught later.
    assert judge(head_of(original, 6), claim(fork, 20, kor_keys, proofs_from=(6,))).advance


def test_a_proof_from_another_size_or_a_corrupted_one_is_not_an_extension(kor_keys):
    original = log(*ORIGINAL)
    unproven = judge(head_of(original, 10), claim(original, 20, kor_keys, proofs_from=(6, 12)))
    assert (unproven.cosign, unproven.advance, unproven.alarm) == (False, False, AlarmKind.UNPROVEN)
    assert "without a consistency proof from the 10 seen" in unproven.reason
    good = claim(original, 20, kor_keys, proofs_from=(10,))
    bent = dataclasses.replace(good, proofs={10: (b"\x00" * 32, *good.proofs[10][1:])})
    assert judge(head_of(original, 10), bent).alarm is AlarmKind.INCONSISTENT


def test_a_cosignature_verifies_with_the_witness_pinned_keys_only(jpn, jpn_keys, kor_keys):
    checkpoint, _ = _signed(log(*ORIGINAL), 12, kor_keys)
    made = cosign(checkpoint, witness="JPN", at=LATER, keys=jpn_keys)
    read = Cosignature.from_dict(made.to_dict())
    assert read == made
    verify_cosignature(read, jpn)
    assert [p.algorithm for p in made.signature.parts] == [KeyAlgorithm.ED25519, KeyAlgorithm.ML_DSA_65]
    with pytest.raises(RejectedError):  # another head under the same signature
        verify_cosignature(dataclasses.replace(read, checkpoint=dataclasses.replace(checkpoint, size=13)), jpn)
    with pytest.raises(RejectedError):  # signed by someone else
        verify_cosignature(cosign(checkpoint, witness="JPN", at=LATER, keys=kor_keys), jpn)
    with pytest.raises(RejectedError, match="refused"):  # claims another witness
        verify_cosignature(cosign(checkpoint, witness="USA", at=LATER, keys=jpn_keys), jpn)
    ed_only = dataclasses.replace(made, signature=dataclasses.replace(made.signature, parts=made.signature.parts[:1]))
    with pytest.raises(RejectedError):
        verify_cosignature(ed_only, jpn)


@pytest.mark.parametrize(
    "change",
    [
        {"format": "accord.cosignature/2"},
        {"witness": 7},
        {"cosigned_at": "yesterday"},
        {"cosigned_at": "2026-03-02T09:00:00"},
        {"checkpoint": {}},
        {"signature": {"signatures": "x"}},
        {"extra": 1},
    ],
    ids=["format", "witness", "time", "naive-time", "checkpoint", "signature", "extra-field"],
)
def test_malformed_cosignatures_are_refused(jpn_keys, kor_keys, change):
    checkpoint, _ = _signed(log(*ORIGINAL), 12, kor_keys)
    doc = cosign(checkpoint, witness="JPN", at=LATER, keys=jpn_keys).to_dict() | change
    with pytest.raises(RejectedError):
        Cosignature.from_dict(doc)
