"""Batch receiving: many release envelopes checked one by one, stored in one transaction.

:func:`check_batch` runs the envelope checks of each message (size, syntax, addressee,
pinned sender, signature, freshness, agreement) without the database, and
:func:`drop_repeats` the replay check in the caller's transaction; together they pick
the plain cases: a new release addressed to this node, without attachments, whose
release and message ids are free. Everything else (receipts, rotations, obligations, relays, repeats) is
left to the one-message path. :func:`decide_batch` opens and re-decides each picked
release and signs its receipt (no database); :func:`store_batch` writes the accepted
releases, the seen-message rows, the receipts and every audit entry, refusals
included, in the caller's one transaction. A refused message stores only its entry.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from accord.audit.entry import AuditEntry, EntryKind
from accord.canonical import canonical_bytes
from accord.domain.world import World
from accord.errors import Error
from accord.federation.messages import Envelope, MessageType, RejectedError, new_envelope
from accord.federation.trust import Freshness, PeerDescriptor, check_inbound
from accord.services import audit
from accord.services._release_message import ReleaseMessage
from accord.services._turns import yield_to_urgent
from accord.services.node import UnlockedNode
from accord.services.outbox import queue
from accord.services.peers import identity_of
from accord.services.releases import Releases, received_entry, refusal_entry
from accord.storage.federation import ReceiptOutcome, SeenMessage, stamp
from accord.storage.sql import SqlFederationStore, SqlReleaseStore
from accord.storage.values import Release

__all__ = ["Batch", "Checked", "check_batch", "decide_batch", "drop_repeats", "refused_entry", "store_batch"]

_MAX_REASON = 200
Entry = Callable[[int], AuditEntry]


@dataclass(slots=True, kw_only=True)
class Checked:
    """One release envelope that passed the envelope checks, and what became of it."""

    index: int
    envelope: Envelope
    data: bytes
    message: ReleaseMessage
    sender: PeerDescriptor
    outcome: ReceiptOutcome = ReceiptOutcome.ACCEPTED
    release: Release | None = None
    entry: Entry | None = None
    receipt: bytes = field(default=b"", repr=False)


@dataclass(slots=True)
class Batch:
    """The checked releases, the indexes left to the one-message path, the refusals' entries."""

    checked: list[Checked] = field(default_factory=list)
    single: list[int] = field(default_factory=list)
    refusals: list[Entry] = field(default_factory=list)


def refused_entry(reason: str, data: bytes, *, at: dt.datetime, me: str) -> Entry:
    """The audit entry of a message refused before handling (its reason, its digest)."""
    return audit.entry(
        kind=EntryKind.MESSAGE,
        actor=me,
        at=at,
        digests={"message": hashlib.sha256(data).hexdigest()},
        meta={"action": "message.accept", "outcome": "refused", "reason": reason[:_MAX_REASON]},
    )


def check_batch(  # noqa: PLR0913 - the messages, this node, its peers, clock and limits
    datas: Sequence[bytes],
    *,
    me: str,
    peers: Mapping[str, PeerDescriptor],
    fingerprint: Callable[[str], str | None],
    at: dt.datetime,
    freshness: Freshness,
    max_bytes: int,
) -> Batch:
    """Run the envelope checks on each message; sort them into batchable, single and refused.

    No database: signatures are checked outside any transaction, so the writer lock is
    not held meanwhile. The caller then runs :func:`drop_repeats` in a transaction.
    """
    batch = Batch()
    candidates = batch.checked
    for index, data in enumerate(datas):
        yield_to_urgent()  # between messages: a FLASH posted meanwhile goes first
        try:
            envelope = Envelope.from_bytes(data, max_bytes=max_bytes)
            sender = check_inbound(envelope, me=me, peers=peers, now=at, freshness=freshness, fingerprint=fingerprint)
        except RejectedError as e:
            batch.refusals.append(refused_entry(e.reason, data, at=at, me=me))
            continue
        if envelope.type is not MessageType.RELEASE:
            batch.single.append(index)
            continue
        try:
            message = ReleaseMessage.from_bytes(canonical_bytes(envelope.body.get("message")))
        except Error:
            batch.single.append(index)  # refused there, with the reason
            continue
        plain = (message.sender, message.recipient, message.agreement) == (
            envelope.sender,
            envelope.recipient,
            envelope.agreement,
        )
        if not plain or envelope.body.get("recipient", me) != me or message.attachments:
            batch.single.append(index)
            continue
        candidates.append(Checked(index=index, envelope=envelope, data=data, message=message, sender=sender))
    return batch


def drop_repeats(session: Session, batch: Batch) -> None:
    """Move to the one-message path each checked release already seen or stored, or twice in the batch."""
    candidates, batch.checked = batch.checked, []
    seen = SqlFederationStore(session).seen_ids([c.envelope.id for c in candidates])
    ids, messages = SqlReleaseStore(session).stored_ids(
        [c.message.release_id for c in candidates], [c.message.message_id for c in candidates]
    )
    taken: set[str] = set()
    for checked in candidates:
        keys = {checked.envelope.id, checked.message.release_id, checked.message.message_id}
        if checked.envelope.id in seen or checked.message.release_id in ids or checked.message.message_id in messages:
            batch.single.append(checked.index)  # a repeat: answered (or refused) as before
        elif keys & taken:
            batch.single.append(checked.index)  # the same message twice in one batch
        else:
            taken |= keys
            batch.checked.append(checked)


def decide_batch(
    checked: Sequence[Checked],
    *,
    world: World,
    node: UnlockedNode,
    peers: Mapping[str, PeerDescriptor],
    at: dt.datetime,
) -> None:
    """Open and re-decide each release as ``Releases.receive`` does, and sign its receipt."""
    me = node.identity.party
    for item in checked:
        yield_to_urgent()
        named = item.envelope.body.get("originator")
        originator = identity_of(peers[named]) if isinstance(named, str) and named in peers else None
        try:
            release, content = Releases.check_received(
                item.message, world=world, node=node, sender=identity_of(item.sender), originator=originator, at=at
            )
        except Error as e:  # a RefusedError, or any other check failing: refused, with its reason
            item.outcome = ReceiptOutcome.REFUSED
            item.entry = refusal_entry(EntryKind.RECEIPT, "release.receive", e, party=me, at=at, subject=item.message)
        else:
            item.release = release
            item.entry = received_entry(
                item.message.to_bytes(), release, content, sender=item.message.sender, party=me, at=at
            )
        item.receipt = new_envelope(
            MessageType.RECEIPT,
            {"of": item.envelope.id, "digest": hashlib.sha256(item.data).hexdigest(), "outcome": item.outcome.value},
            sender=me,
            recipient=item.envelope.sender,
            at=at,
            keys=node.keys,
            precedence=item.envelope.precedence,
            in_reply_to=item.envelope.id,
        ).to_bytes()


def store_batch(session: Session, batch: Batch, *, at: dt.datetime, queue_receipt: bool) -> None:
    """Write the batch's accepted releases, seen messages, receipts and audit entries together."""
    SqlReleaseStore(session).add_received_many([c.release for c in batch.checked if c.release is not None])
    SqlFederationStore(session).add_seen_many(
        [
            SeenMessage(
                id=c.envelope.id,
                sender=c.envelope.sender,
                type=c.envelope.type.value,
                digest=hashlib.sha256(c.data).hexdigest(),
                received_at=stamp(at),
                outcome=c.outcome,
                receipt=c.receipt,
            )
            for c in batch.checked
        ]
    )
    if queue_receipt:
        for c in batch.checked:
            queue(session, Envelope.from_bytes(c.receipt), at=at)
    audit.append_many(session, [*batch.refusals, *(c.entry for c in batch.checked if c.entry is not None)])
