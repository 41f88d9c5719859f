"""The node's audit log: append inside a service's transaction, checkpoint, verify, prove.

Other services record what they did with :func:`append`, inside their own transaction
and as its *last* statement: the store holds the log's head from the append until the
commit, so appending last keeps that lock short, and an entry is kept exactly when the
work it records is. :class:`AuditLog` signs checkpoints (signed tree heads) with the
node's Ed25519 and ML-DSA-65 keys, verifies the whole log (stored bytes, stored leaf
hashes, and every checkpoint's root and its signature by the keys the node had when it
signed, so checkpoints from before a key rotation still verify) and exports proof
bundles. :func:`verify_bundle` checks a bundle offline with only the node's public
descriptor.
The clock is read here (``utc_now``) or passed in; passphrases are passed in.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from sqlalchemy.orm import Session

from accord.audit.chain import verify_entries
from accord.audit.checkpoint import Checkpoint, ProofBundle, SignatureCheck, verify_proof_bundle
from accord.audit.entry import AuditEntry, EntryKind, MetaValue
from accord.audit.merkle import HASH_SIZE, MerkleTree
from accord.canonical import canonical_bytes
from accord.crypto import CompositeSignature, CompositeSigner, CompositeVerifier, NodePublicKeys
from accord.errors import Error, IntegrityError, ValidationError
from accord.services._database import NodeService
from accord.services.node import NodeIdentity, UnlockedNode, read_identity, utc_now
from accord.storage.sql import SqlAuditStore
from accord.storage.values import Signed

__all__ = ["AuditLog", "VerifyReport", "append", "append_many", "entry", "iso", "verify_bundle", "verify_proof_file"]

_CHECKPOINT_HINT = "run `accord audit checkpoint` first"
_SECOND = dt.timedelta(seconds=1)
_MICROSECOND = dt.timedelta(microseconds=1)


def iso(at: dt.datetime) -> str:
    """An aware time as the ISO 8601 text audit entries carry (``Z`` for UTC)."""
    offset = at.utcoffset()
    if offset is None:
        msg = f"audit times must carry a UTC offset, not {at!r}"
        raise ValidationError(msg)
    return _iso(at, offset)


# A batch stamps every entry with the same time. Equal times with equal offsets print
# the same; the offset is in the key because equal times may have different offsets.
@lru_cache(maxsize=64)
def _iso(at: dt.datetime, _offset: dt.timedelta) -> str:
    return at.isoformat().replace("+00:00", "Z")


def append(  # noqa: PLR0913 - the fields of an audit entry
    session: Session,
    *,
    kind: EntryKind,
    actor: str,
    at: dt.datetime,
    subjects: Sequence[str] = (),
    digests: Mapping[str, str] | None = None,
    meta: Mapping[str, MetaValue] | None = None,
) -> AuditEntry:
    """Append an entry to the log inside the caller's transaction; call it last.

    The caller's transaction commits (or rolls back) the entry with its own work.
    """
    return SqlAuditStore(session).append(
        entry(kind=kind, actor=actor, at=at, subjects=subjects, digests=digests, meta=meta)
    )


def entry(  # noqa: PLR0913 - the fields of an audit entry
    *,
    kind: EntryKind,
    actor: str,
    at: dt.datetime,
    subjects: Sequence[str] = (),
    digests: Mapping[str, str] | None = None,
    meta: Mapping[str, MetaValue] | None = None,
) -> Callable[[int], AuditEntry]:
    """The entry these fields make, once the log gives it its number (for :func:`append_many`)."""
    when = iso(at)
    return lambda seq: AuditEntry(
        seq=seq,
        kind=kind,
        at=when,
        actor=actor,
        subjects=tuple(subjects),
        digests=dict(digests or {}),
        meta=dict(meta or {}),
    )


def append_many(session: Session, entries: Sequence[Callable[[int], AuditEntry]]) -> list[AuditEntry]:
    """Append a batch of entries (see :func:`entry`) inside the caller's transaction; call it last."""
    return SqlAuditStore(session).append_many(entries)


def _signature_bytes(signature: CompositeSignature) -> bytes:
    return canonical_bytes(signature.to_dict())


def _signature_check(public: NodePublicKeys) -> SignatureCheck:
    verifier = CompositeVerifier((public.signing, public.pq_signing))

    def check(message: bytes, signature: bytes) -> bool:
        try:
            verifier.verify(CompositeSignature.from_dict(json.loads(signature)), message)
        except (Error, ValueError):
            return False
        return True

    return check


def _never(_message: bytes, _signature: bytes) -> bool:
    return False


def _signature_check_at(identity: NodeIdentity, at: str) -> SignatureCheck:
    """Checks a signature the node made at ``at``, with the keys it had then (ADR 0006).

    Keys rotate: each generation in the node's key history verifies only what is stamped
    inside its validity window. Checkpoints are stamped to the second and a rotation to
    the microsecond, so a stamp without a fraction stands for that whole second, and
    either generation of the second a rotation happened in may have signed.
    """
    try:
        when = dt.datetime.fromisoformat(at)
    except ValueError:
        return _never
    if when.utcoffset() is None:
        return _never
    end = when + (_SECOND if when.microsecond == 0 else _MICROSECOND)
    checks = [_signature_check(g.public) for g in identity.generations_during(when, end)]

    def check(message: bytes, signature: bytes) -> bool:
        return any(c(message, signature) for c in checks)

    return check


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifyReport:
    """What ``verify`` checked: the entries, and the checkpoints with their sizes."""

    entries: int
    checkpoints: tuple[int, ...]
    root: str

    def to_dict(self) -> dict[str, object]:
        """JSON form."""
        return {"ok": True, "entries": self.entries, "checkpoints": list(self.checkpoints), "root": self.root}


class AuditLog(NodeService):
    """The node's audit log in its database, with the node's identity under ``home``."""

    def checkpoint(
        self, *, passphrase: str | None, at: dt.datetime | None = None, node: UnlockedNode | None = None
    ) -> Checkpoint:
        """Sign a checkpoint of the whole log now (or ``at``) and keep it (``node``: already unlocked).

        Raises:
            ValidationError: no identity or passphrase, an empty log, or no entry since
                the last checkpoint.
            IntegrityError: wrong passphrase.
        """
        node = node or self._unlock(passphrase)
        when = iso(at or utc_now())
        with self._db.transaction("checkpoint the audit log") as session:
            store = SqlAuditStore(session)
            tree = MerkleTree()
            tree.extend_packed(store.leaf_hashes_packed())
            if tree.size == 0:
                msg = "the audit log is empty: there is nothing to checkpoint"
                raise ValidationError(msg)
            latest = store.latest_checkpoint()
            if latest is not None and latest.value.size == tree.size:
                msg = f"no new entries since the checkpoint of {tree.size} entries"
                raise ValidationError(msg)
            checkpoint = Checkpoint(origin=node.identity.party, size=tree.size, root=tree.root().hex(), at=when)
            signature = CompositeSigner(node.keys).sign(checkpoint.signed_bytes())
            store.add_checkpoint(checkpoint, _signature_bytes(signature))
        return checkpoint

    def verify(self) -> VerifyReport:
        """Check every entry's bytes, stored leaf hash and every signed checkpoint.

        Raises:
            AuditChainBrokenError: naming the first bad entry.
            IntegrityError: a checkpoint whose signature or origin does not verify.
        """
        identity = read_identity(self._home)
        with self._db.reading("read the audit log") as session:
            store = SqlAuditStore(session)
            entries = store.entries()
            packed = store.leaf_hashes_packed()
            checkpoints = store.checkpoints()
        self._check_signatures(identity, checkpoints)
        stored = MerkleTree()
        stored.extend_packed(packed)
        tree = verify_entries(entries, [c.value for c in checkpoints], stored=stored, decode=True)
        return VerifyReport(
            entries=tree.size,
            checkpoints=tuple(c.value.size for c in checkpoints),
            root=tree.root().hex(),
        )

    def about(self, subject: str) -> list[AuditEntry]:
        """The entries naming ``subject`` (a record, release or obligation id), oldest first.

        It reads the whole log: for tools and small logs (``accord demo``), not a hot path.
        """
        with self._db.reading("read the audit log") as session:
            entries = SqlAuditStore(session).entries()
        decoded = (AuditEntry.from_bytes(data) for data in entries)
        return [e for e in decoded if subject in e.subjects]

    @staticmethod
    def _check_signatures(identity: NodeIdentity, checkpoints: Sequence[Signed[Checkpoint]]) -> None:
        for signed in checkpoints:
            checkpoint = signed.value
            check = _signature_check_at(identity, checkpoint.at)
            if checkpoint.origin != identity.party or not check(checkpoint.signed_bytes(), signed.signature):
                msg = f"the audit checkpoint of {checkpoint.size} entries does not verify with this node's keys"
                raise IntegrityError(msg, hint="the checkpoint or the node's identity was changed")

    def prove(self, seq: int) -> ProofBundle:
        """A proof bundle for entry ``seq`` against the latest checkpoint.

        Raises:
            ValidationError: no checkpoint yet, or it does not cover ``seq``.
            IntegrityError: the stored log no longer matches the checkpoint.
        """
        with self._db.reading("read the audit log") as session:
            store = SqlAuditStore(session)
            latest = store.latest_checkpoint()
            if latest is None:
                msg = "the audit log has no checkpoint to prove against"
                raise ValidationError(msg, hint=_CHECKPOINT_HINT)
            size = latest.value.size
            if not 0 <= seq < size:
                msg = f"entry {seq} is not covered by the latest checkpoint ({size} entries, 0 to {size - 1})"
                raise ValidationError(msg, hint=f"{_CHECKPOINT_HINT} to cover newer entries")
            data = store.entries(seq, seq + 1)[0]
            packed = store.leaf_hashes_packed()[: size * HASH_SIZE]
        tree = MerkleTree()
        tree.extend_packed(packed)
        if tree.root(size) != latest.value.root_hash:
            msg = "the stored audit log does not match its latest checkpoint"
            raise IntegrityError(msg, hint="run `accord audit verify` to find the first bad entry")
        return ProofBundle(
            entry=AuditEntry.from_bytes(data),
            leaf_index=seq,
            tree_size=size,
            inclusion_proof=tuple(tree.inclusion_proof(seq, size)),
            checkpoint=latest.value,
            signature=latest.signature,
        )


def verify_bundle(bundle_json: str | bytes, node_public: Mapping[str, object]) -> AuditEntry:
    """Check a proof bundle offline with only the node's public descriptor; return its entry.

    ``node_public`` is the node's ``node.json`` (its party must be the checkpoint's
    origin; its key history verifies checkpoints signed before a key rotation) or a bare
    public-keys descriptor (current keys only).

    Raises:
        ValidationError: the bundle or the descriptor is malformed.
        IntegrityError: the proof does not verify (one opaque message).
    """
    try:
        data = json.loads(bundle_json)
    except ValueError as e:
        msg = f"the proof is not JSON: {e}"
        raise ValidationError(msg) from e
    bundle = ProofBundle.from_dict(data)
    if "public_keys" in node_public:
        identity = NodeIdentity.from_dict(dict(node_public))
        party = identity.party
        check = _signature_check_at(identity, bundle.checkpoint.at)
    else:
        party = bundle.checkpoint.origin
        check = _signature_check(NodePublicKeys.from_dict(node_public))
    entry = verify_proof_bundle(bundle, check)
    if bundle.checkpoint.origin != party:
        msg = "the proof does not verify"
        raise IntegrityError(msg)
    return entry


def verify_proof_file(proof: Path, node_file: Path) -> tuple[AuditEntry, Checkpoint]:
    """:func:`verify_bundle` on files: a proof bundle and a node's ``node.json``.

    Returns the proven entry and the checkpoint it was proven against.
    """
    try:
        bundle_text = proof.read_bytes()
        descriptor = json.loads(node_file.read_bytes())
    except OSError as e:
        msg = f"cannot read {e.filename}: {e.strerror}"
        raise ValidationError(msg) from e
    except ValueError as e:
        msg = f"{node_file} is not JSON: {e}"
        raise ValidationError(msg) from e
    if not isinstance(descriptor, dict):
        msg = f"{node_file} is not a node descriptor (a JSON object)"
        raise ValidationError(msg)
    entry = verify_bundle(bundle_text, descriptor)
    return entry, ProofBundle.from_dict(json.loads(bundle_text)).checkpoint
