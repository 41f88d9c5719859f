"""The tamper-evident audit log: RFC 9162 Merkle tree, entries, checkpoints and proofs.

Pure: no storage, clock or signing key is reached from here. ``merkle`` hashes and
proves, ``entry`` is what one event records, ``checkpoint`` is the signed tree head
and the offline proof bundle, ``chain`` appends and verifies a whole log.
"""

from accord.audit.chain import AuditChain, verify_entries
from accord.audit.checkpoint import (
    Checkpoint,
    ProofBundle,
    SignatureCheck,
    verify_checkpoint_consistency,
    verify_proof_bundle,
)
from accord.audit.entry import AuditEntry, EntryKind
from accord.audit.errors import AuditChainBrokenError
from accord.audit.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    leaf_hash,
    node_hash,
    root_from_inclusion_proof,
    verify_consistency,
    verify_inclusion,
)

__all__ = [
    "EMPTY_ROOT",
    "AuditChain",
    "AuditChainBrokenError",
    "AuditEntry",
    "Checkpoint",
    "EntryKind",
    "MerkleTree",
    "ProofBundle",
    "SignatureCheck",
    "leaf_hash",
    "node_hash",
    "root_from_inclusion_proof",
    "verify_checkpoint_consistency",
    "verify_consistency",
    "verify_entries",
    "verify_inclusion",
    "verify_proof_bundle",
]
