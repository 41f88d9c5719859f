"""Checkpoint witnessing: send signed tree heads to peers, witness theirs, keep the cosignatures.

:meth:`Witness.send` signs a checkpoint of this node's audit log (or reuses the
latest one when nothing was appended since) and queues a ``checkpoint`` message to
each pinned peer with consistency proofs from the sizes that peer may have seen.
:func:`handle_checkpoint` is the witness's side (called by ``services.inbound``): the
head's signature by the sender's pinned keys, then the verdict against the last head
accepted from it; a consistent head is stored and co-signed (a ``cosignature``
message queued back), an inconsistent one raises an alarm (stored with evidence,
audited, logged) and changes nothing else. :func:`handle_cosignature` keeps a peer's
cosignature of one of this node's own heads. :meth:`Witness.status` reports per peer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy.orm import Session

from accord.audit.checkpoint import Checkpoint
from accord.audit.entry import EntryKind
from accord.audit.merkle import MerkleTree
from accord.canonical import canonical_bytes
from accord.crypto import CompositeSignature, CompositeSigner
from accord.domain.record import Precedence
from accord.errors import UnknownReferenceError, ValidationError
from accord.federation.messages import Envelope, MessageType, RejectedError, new_envelope
from accord.federation.trust import PeerDescriptor
from accord.federation.witness import (
    MAX_PROOFS,
    Cosignature,
    Head,
    checkpoint_body,
    cosign,
    judge,
    read_checkpoint_body,
    verify_checkpoint,
    verify_cosignature,
)
from accord.services import audit
from accord.services._database import NodeService
from accord.services.node import UnlockedNode, read_identity, utc_now
from accord.services.outbox import queue
from accord.storage.federation import ReceiptOutcome, stamp
from accord.storage.sql import SqlAuditStore, SqlFederationStore, SqlWitnessStore
from accord.storage.witness import Alarm, KeptCosignature, WitnessedHead

__all__ = [
    "WITNESS_TYPES",
    "PeerWitness",
    "SentCheckpoint",
    "Witness",
    "WitnessReport",
    "alarm_dict",
    "handle",
    "handle_checkpoint",
    "handle_cosignature",
]

WITNESS_TYPES: Final = frozenset({MessageType.CHECKPOINT, MessageType.COSIGNATURE})
"""The message types :func:`handle` answers."""
_MAX_REASON: Final = 200
_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class SentCheckpoint:
    """What :meth:`Witness.send` queued: the signed head and the peers it goes to."""

    checkpoint: Checkpoint
    peers: tuple[str, ...]
    new: bool  # a checkpoint signed now, rather than the latest one reused

    def to_dict(self) -> dict[str, Any]:
        """JSON form for ``--json``."""
        return {"checkpoint": self.checkpoint.to_dict(), "peers": list(self.peers), "new": self.new}


@dataclass(frozen=True, slots=True, kw_only=True)
class PeerWitness:
    """Witnessing with one peer: its head seen here, this node's head it co-signed, alarms."""

    peer: str
    seen: WitnessedHead | None = None
    cosigned: KeptCosignature | None = None
    alarms: tuple[Alarm, ...] = ()

    @property
    def open_alarms(self) -> tuple[Alarm, ...]:
        """The alarms not resolved yet."""
        return tuple(a for a in self.alarms if a.open)

    def to_dict(self) -> dict[str, Any]:
        """JSON form for ``--json``."""
        seen = self.seen
        cosigned = self.cosigned
        return {
            "peer": self.peer,
            "seen": None
            if seen is None
            else {"size": seen.size, "root": seen.root, "at": seen.checkpoint_at, "received_at": seen.received_at},
            "cosigned": None
            if cosigned is None
            else {
                "size": cosigned.size,
                "root": cosigned.root,
                "checkpoint_at": cosigned.checkpoint_at,
                "cosigned_at": cosigned.cosigned_at,
            },
            "open_alarms": len(self.open_alarms),
            "alarms": [alarm_dict(a) for a in self.alarms],
        }


def alarm_dict(alarm: Alarm) -> dict[str, Any]:
    """An alarm as JSON (its evidence stays in the store)."""
    return {
        "id": alarm.id,
        "peer": alarm.peer,
        "kind": alarm.kind.value,
        "reason": alarm.reason,
        "seen_size": alarm.seen_size,
        "claimed_size": alarm.claimed_size,
        "message": alarm.message_id,
        "raised_at": alarm.raised_at,
        "open": alarm.open,
        "resolved_at": alarm.resolved_at,
        "resolution": alarm.resolution,
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class WitnessReport:
    """Witnessing with every peer."""

    peers: tuple[PeerWitness, ...] = field(default=())

    @property
    def open_alarms(self) -> tuple[Alarm, ...]:
        """Every alarm not resolved yet."""
        return tuple(a for p in self.peers for a in p.open_alarms)

    def to_dict(self) -> dict[str, Any]:
        """JSON form for ``--json``."""
        return {"ok": not self.open_alarms, "peers": [p.to_dict() for p in self.peers]}


class Witness(NodeService):
    """This node's checkpoints sent to peers, the peers' heads it witnessed, and the alarms."""

    def send(self, node: UnlockedNode, *, to: str | None = None, at: dt.datetime | None = None) -> SentCheckpoint:
        """Queue a signed checkpoint of this node's log to ``to`` (every pinned peer if ``None`` or ``all``).

        Each message carries consistency proofs from the last size that peer co-signed
        and from every later checkpoint of this log (it may have seen one whose
        cosignature has not come back yet), at most ``MAX_PROOFS``.

        Raises:
            ValidationError: an empty log, or no pinned peer to send to.
            UnknownReferenceError: ``to`` is not a pinned peer.
        """
        at = at or utc_now()
        me = node.identity.party
        with self._db.transaction("send the checkpoint") as session:
            targets = _targets(SqlFederationStore(session), to)
            store = SqlAuditStore(session)
            tree = MerkleTree()
            tree.extend_packed(store.leaf_hashes_packed())
            if tree.size == 0:
                msg = "the audit log is empty: there is nothing to checkpoint"
                raise ValidationError(msg)
            latest = store.latest_checkpoint()
            new = latest is None or latest.value.size < tree.size
            if latest is None or new:
                checkpoint = Checkpoint(origin=me, size=tree.size, root=tree.root().hex(), at=audit.iso(at))
                signature = CompositeSigner(node.keys).sign(checkpoint.signed_bytes())
                store.add_checkpoint(checkpoint, canonical_bytes(signature.to_dict()))
            else:
                checkpoint = latest.value
                signature = CompositeSignature.from_dict(json.loads(latest.signature))
            earlier = [c.value.size for c in store.checkpoints() if c.value.size < checkpoint.size]
            witnesses = SqlWitnessStore(session)
            entries = []
            for party in targets:
                last = witnesses.last_cosignature(party)
                floor = 0 if last is None else last.size
                sizes = {s for s in earlier if s > floor}
                chosen = sorted(sizes)[-(MAX_PROOFS - 1) :]
                if last is not None and last.size < checkpoint.size:
                    chosen.append(last.size)
                proofs = {s: tree.consistency_proof(s, checkpoint.size) for s in chosen}
                envelope = new_envelope(
                    MessageType.CHECKPOINT,
                    checkpoint_body(checkpoint, signature, proofs),
                    sender=me,
                    recipient=party,
                    at=at,
                    keys=node.keys,
                    precedence=Precedence.ROUTINE,
                )
                queue(session, envelope, at=at)
                entries.append(
                    audit.entry(
                        kind=EntryKind.WITNESS,
                        actor=me,
                        at=at,
                        digests={"envelope": hashlib.sha256(envelope.to_bytes()).hexdigest()},
                        meta={
                            "action": "checkpoint.send",
                            "outcome": "queued",
                            "peer": party,
                            "size": checkpoint.size,
                            "root": checkpoint.root,
                        },
                    )
                )
            audit.append_many(session, entries)
        return SentCheckpoint(checkpoint=checkpoint, peers=targets, new=new)

    def status(self) -> WitnessReport:
        """Per peer: the last head accepted from it, the last of this node's heads it co-signed, its alarms."""
        with self._db.reading("read the witness state") as session:
            store = SqlWitnessStore(session)
            heads = {h.peer: h for h in store.heads()}
            alarms = store.alarms()
            pinned = [p.party for p in SqlFederationStore(session).peers()]
            witnesses = {c.witness for c in store.cosignatures()}
            parties = sorted({*pinned, *heads, *witnesses, *(a.peer for a in alarms)})
            peers = tuple(
                PeerWitness(
                    peer=party,
                    seen=heads.get(party),
                    cosigned=store.last_cosignature(party),
                    alarms=tuple(a for a in alarms if a.peer == party),
                )
                for party in parties
            )
        return WitnessReport(peers=peers)

    def resolve(self, alarm_id: int, *, note: str, at: dt.datetime | None = None) -> Alarm:
        """Close an open alarm with what the operator did about it (audited).

        The stored head of that peer stays: a peer whose log really was rewritten
        raises a new alarm with its next checkpoint.

        Raises:
            UnknownReferenceError: no alarm has that id.
            ValidationError: it is resolved already, or the note is empty or too long.
        """
        at = at or utc_now()
        with self._db.transaction("resolve the alarm") as session:
            alarm = SqlWitnessStore(session).resolve_alarm(alarm_id, at=stamp(at), resolution=note)
            audit.append(
                session,
                kind=EntryKind.WITNESS,
                actor=read_identity(self._home).party,
                at=at,
                subjects=(str(alarm_id),),
                meta={"action": "witness.resolve", "outcome": "resolved", "peer": alarm.peer, "note": note[:200]},
            )
        return alarm


def _targets(store: SqlFederationStore, to: str | None) -> tuple[str, ...]:
    pinned = tuple(p.party for p in store.peers())
    if to is None or to.lower() == "all":
        if not pinned:
            msg = "no peer is pinned: there is nobody to send a checkpoint to"
            raise ValidationError(msg, hint="pin one with `accord peers add DESCRIPTOR`")
        return pinned
    party = to.upper()
    if party not in pinned:
        msg = f"{party} is not a pinned peer"
        raise UnknownReferenceError(msg, hint="`accord peers list` shows the pinned peers")
    return (party,)


def handle(  # noqa: PLR0913 - the checked message and what answering it needs
    session: Session,
    envelope: Envelope,
    sender: PeerDescriptor,
    data: bytes,
    *,
    node: UnlockedNode,
    at: dt.datetime,
) -> ReceiptOutcome:
    """Handle a checked ``checkpoint`` or ``cosignature`` message inside the caller's transaction."""
    if envelope.type is MessageType.CHECKPOINT:
        return handle_checkpoint(session, envelope, sender, data, node=node, at=at)
    return handle_cosignature(session, envelope, sender, data, node=node, at=at)


def handle_checkpoint(  # noqa: PLR0913 - the checked message and what answering it needs
    session: Session,
    envelope: Envelope,
    sender: PeerDescriptor,
    data: bytes,
    *,
    node: UnlockedNode,
    at: dt.datetime,
) -> ReceiptOutcome:
    """Witness a peer's tree head: co-sign it, refuse it, or raise an alarm (see the module doc)."""
    me, peer = node.identity.party, sender.party
    digest = hashlib.sha256(data).hexdigest()
    try:
        claim = read_checkpoint_body(envelope.body)
        verify_checkpoint(claim, sender)
    except RejectedError as e:
        _audit(session, me, at, digest, action="checkpoint.witness", outcome="refused", peer=peer, reason=e.reason)
        return ReceiptOutcome.REFUSED
    store = SqlWitnessStore(session)
    previous = store.head(peer)
    seen = None if previous is None else Head(size=previous.size, root=previous.root, at=previous.checkpoint_at)
    verdict = judge(seen, claim)
    new = claim.checkpoint
    if verdict.alarm is not None and previous is not None:
        evidence = {
            "seen": {"checkpoint": _checkpoint_of(previous).to_dict(), "signature": json.loads(previous.signature)},
            "claimed": dict(envelope.body),
            "message": envelope.to_dict(),
        }
        alarm = store.add_alarm(
            Alarm(
                peer=peer,
                kind=verdict.alarm,
                reason=verdict.reason[:_MAX_REASON],
                seen_size=previous.size,
                claimed_size=new.size,
                evidence=canonical_bytes(evidence),
                message_id=envelope.id,
                raised_at=stamp(at),
            )
        )
        _log.warning("witness ALARM %s on %s's audit log: %s", alarm.kind.value, peer, verdict.reason)
        _audit(
            session, me, at, digest, action="witness.alarm", outcome="alarm", peer=peer, reason=verdict.reason,
            extra={"kind": alarm.kind.value, "alarm": alarm.id or 0, "seen_size": previous.size, "size": new.size},
        )  # fmt: skip
        return ReceiptOutcome.REFUSED
    if not verdict.cosign:
        reason = verdict.reason
        _audit(session, me, at, digest, action="checkpoint.witness", outcome="refused", peer=peer, reason=reason)
        return ReceiptOutcome.REFUSED
    if verdict.advance:
        store.set_head(
            WitnessedHead(
                peer=peer,
                size=new.size,
                root=new.root,
                checkpoint_at=new.at,
                signature=canonical_bytes(claim.signature.to_dict()),
                message_id=envelope.id,
                received_at=stamp(at),
            )
        )
    cosignature = cosign(new, witness=me, at=at, keys=node.keys)
    reply = new_envelope(
        MessageType.COSIGNATURE,
        {"cosignature": cosignature.to_dict()},
        sender=me,
        recipient=peer,
        at=at,
        keys=node.keys,
        precedence=envelope.precedence,
        in_reply_to=envelope.id,
    )
    queue(session, reply, at=at)
    _audit(
        session, me, at, digest, action="checkpoint.cosign", outcome="cosigned", peer=peer, reason=verdict.reason,
        extra={"size": new.size, "root": new.root},
    )  # fmt: skip
    return ReceiptOutcome.ACCEPTED


def handle_cosignature(  # noqa: PLR0913 - the checked message and what answering it needs
    session: Session,
    envelope: Envelope,
    sender: PeerDescriptor,
    data: bytes,
    *,
    node: UnlockedNode,
    at: dt.datetime,
) -> ReceiptOutcome:
    """Keep a peer's cosignature of one of this node's own signed heads; refuse any other."""
    me, peer = node.identity.party, sender.party
    digest = hashlib.sha256(data).hexdigest()
    try:
        cosignature = Cosignature.from_dict(envelope.body.get("cosignature"))
        verify_cosignature(cosignature, sender)
        _check_own_head(session, cosignature, me)
    except RejectedError as e:
        _audit(session, me, at, digest, action="cosignature.keep", outcome="refused", peer=peer, reason=e.reason)
        return ReceiptOutcome.REFUSED
    head = cosignature.checkpoint
    kept = SqlWitnessStore(session).add_cosignature(
        KeptCosignature(
            witness=peer,
            size=head.size,
            root=head.root,
            checkpoint_at=head.at,
            cosigned_at=cosignature.cosigned_at,
            cosignature=canonical_bytes(cosignature.to_dict()),
            message_id=envelope.id,
            received_at=stamp(at),
        )
    )
    _audit(
        session, me, at, digest, action="cosignature.keep", outcome="kept" if kept else "known", peer=peer,
        extra={"size": head.size, "root": head.root},
    )  # fmt: skip
    return ReceiptOutcome.ACCEPTED


def _check_own_head(session: Session, cosignature: Cosignature, me: str) -> None:
    head = cosignature.checkpoint
    mine = SqlAuditStore(session).checkpoint_at(head.size) if head.origin == me else None
    if mine is None or mine.value != head:
        msg = f"cosignature of a head of {head.size} entries that this node did not sign"
        raise RejectedError(msg)


def _checkpoint_of(head: WitnessedHead) -> Checkpoint:
    return Checkpoint(origin=head.peer, size=head.size, root=head.root, at=head.checkpoint_at)


def _audit(  # noqa: PLR0913 - the fields of a witnessing entry
    session: Session,
    me: str,
    at: dt.datetime,
    digest: str,
    *,
    action: str,
    outcome: str,
    peer: str,
    reason: str = "",
    extra: dict[str, str | int | bool] | None = None,
) -> None:
    meta: dict[str, str | int | bool] = {"action": action, "outcome": outcome, "peer": peer, **(extra or {})}
    if reason:
        meta["reason"] = reason[:_MAX_REASON]
    audit.append(session, kind=EntryKind.WITNESS, actor=me, at=at, digests={"message": digest}, meta=meta)
