"""Checkpoints, offline proof bundles and their checks."""

from __future__ import annotations

import json

import pytest

from accord.audit.checkpoint import Checkpoint, ProofBundle, verify_checkpoint_consistency, verify_proof_bundle
from accord.errors import IntegrityError, ValidationError
from tests.unit.audit._make import chain, check_signature, entry, sign

AT = "2026-03-02T00:00:00Z"


def _bundle(seq=3, size=10):
    log = chain(size)
    checkpoint = log.checkpoint(at=AT)
    return log, log.prove(seq, checkpoint=checkpoint, signature=sign(checkpoint.signed_bytes()))


def test_checkpoint_signed_bytes_are_typed_canonical_json():
    cp = Checkpoint(origin="node:KOR", size=2, root="ab" * 32, at=AT)
    assert cp.signed_bytes() == (
        b'{"at":"2026-03-02T00:00:00Z","origin":"node:KOR","root":"' + b"ab" * 32 + b'","size":2,'
        b'"type":"accord/audit-checkpoint","v":1}'
    )
    assert Checkpoint.from_dict(json.loads(cp.signed_bytes())) == cp
    assert cp.root_hash == bytes.fromhex("ab" * 32)


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"root": "AB" * 32}, "root must be 64 lower-case hex digits"),
        ({"root": "ab"}, "root must be 64 lower-case hex digits"),
        ({"size": -1}, "size must be a non-negative integer"),
        ({"origin": ""}, "origin must be non-empty text"),
        ({"at": ""}, "time must be non-empty text"),
    ],
)
def test_invalid_checkpoints_are_refused(fields, match):
    values = {"origin": "node:KOR", "size": 2, "root": "ab" * 32, "at": AT} | fields
    with pytest.raises(ValidationError, match=match):
        Checkpoint(**values)


@pytest.mark.parametrize(
    "changes",
    [{"type": "accord/audit-proof"}, {"v": 2}, {"extra": 1}, {"size": "2"}],
)
def test_checkpoint_from_dict_refuses_other_shapes(changes):
    data = Checkpoint(origin="node:KOR", size=2, root="ab" * 32, at=AT).to_dict() | changes
    with pytest.raises(ValidationError):
        Checkpoint.from_dict(data)


@pytest.mark.parametrize("seq", [0, 3, 9])
def test_a_bundle_verifies_offline_after_a_json_round_trip(seq):
    _, bundle = _bundle(seq)
    text = json.dumps(bundle.to_dict())
    again = ProofBundle.from_dict(json.loads(text))
    assert again == bundle
    assert verify_proof_bundle(again, check_signature) == entry(seq)


def test_a_bundle_fails_with_a_bad_signature():
    _, bundle = _bundle()
    forged = ProofBundle(**{**_fields(bundle), "signature": b"\x00" * 32})
    with pytest.raises(IntegrityError, match=r"^audit proof does not verify$"):
        verify_proof_bundle(forged, check_signature)
    with pytest.raises(IntegrityError):
        verify_proof_bundle(bundle, lambda _message, _signature: False)


def _fields(bundle):
    return {
        "entry": bundle.entry,
        "leaf_index": bundle.leaf_index,
        "tree_size": bundle.tree_size,
        "inclusion_proof": bundle.inclusion_proof,
        "checkpoint": bundle.checkpoint,
        "signature": bundle.signature,
    }


@pytest.mark.parametrize(
    "change",
    [
        {"leaf_index": 4},
        {"tree_size": 9},
        {"entry": entry(3, actor="JPN/someone-else")},
        {"entry": entry(4)},
        {"inclusion_proof": ()},
    ],
    ids=["index", "size", "entry", "other-entry", "no-proof"],
)
def test_a_tampered_bundle_fails(change):
    _, bundle = _bundle()
    with pytest.raises(IntegrityError, match=r"^audit proof does not verify$"):
        verify_proof_bundle(ProofBundle(**(_fields(bundle) | change)), check_signature)


def test_a_bundle_against_a_checkpoint_signed_for_another_tree_fails():
    _, bundle = _bundle()
    for other in (chain(12).checkpoint(at=AT), chain(3, origin="node:JPN").checkpoint(at=AT)):
        fields = _fields(bundle) | {"checkpoint": other, "tree_size": other.size}
        moved = ProofBundle(**(fields | {"signature": sign(other.signed_bytes())}))
        with pytest.raises(IntegrityError):
            verify_proof_bundle(moved, check_signature)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"type": "accord/audit-checkpoint"}, "must be of type 'accord/audit-proof'"),
        ({"v": 0}, "a proof bundle must be format version 1, not 0"),
        ({"inclusion_proof": ["zz"]}, "inclusion_proof must be a list"),
        ({"inclusion_proof": "ab"}, "inclusion_proof must be a list"),
        ({"signature": "***"}, "signature is not base64"),
        ({"entry": "{}"}, "entry must be a JSON object"),
        ({"leaf_index": -1}, "leaf index must be a non-negative integer"),
        ({"extra": True}, "must have exactly the fields"),
    ],
)
def test_bundle_from_dict_refuses_malformed_json(changes, match):
    _, bundle = _bundle()
    with pytest.raises(ValidationError, match=match):
        ProofBundle.from_dict(bundle.to_dict() | changes)


def test_a_bundle_holds_only_whole_hashes():
    _, bundle = _bundle()
    with pytest.raises(ValidationError, match="every inclusion proof hash is 32 bytes"):
        ProofBundle(**(_fields(bundle) | {"inclusion_proof": (b"short",)}))


def test_checkpoints_of_one_growing_log_are_consistent():
    log = chain(6)
    older = log.checkpoint(at=AT)
    for seq in range(6, 13):
        log.append(entry(seq))
    newer = log.checkpoint(at="2026-03-03T00:00:00Z")
    verify_checkpoint_consistency(older, newer, log.tree.consistency_proof(6, 13))


def test_checkpoints_of_a_rewritten_log_or_another_log_are_not():
    log = chain(13)
    rewritten = Checkpoint(origin="node:KOR", size=6, root=chain(5).tree.root().hex(), at=AT)
    newer = log.checkpoint(at=AT)
    proof = log.tree.consistency_proof(6, 13)
    verify_checkpoint_consistency(chain(6).checkpoint(at=AT), newer, proof)
    with pytest.raises(IntegrityError):
        verify_checkpoint_consistency(rewritten, newer, proof)
    with pytest.raises(IntegrityError):
        verify_checkpoint_consistency(chain(6, origin="node:JPN").checkpoint(at=AT), newer, proof)
