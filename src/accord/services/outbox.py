"""The outbox: queue envelopes per peer, deliver them in precedence order, keep the receipts.

:func:`queue` puts a signed envelope in the outbox inside the caller's transaction.
:meth:`Outbox.sweep` wraps each sealed release whose next hop is a pinned peer in a
release envelope (precedence of its record, the leg's agreement; signed before the
transaction), queues it and moves the release SEALED -> QUEUED, all in one transaction
with the audit entries; a crash leaves it sealed, and the next sweep queues it.
:meth:`Outbox.deliver` sends the due items through a
:class:`~accord.federation.delivery.Transport` (FLASH alone and first, then batches of
one precedence; or only some precedences: a server sends FLASH on a lane of its own,
``exchange.DeliveryLoop``), applies the receipts that come back and reschedules the
rest with backoff. :meth:`Outbox.export_bundle` writes what is pending for a peer
to a signed bundle instead. :func:`apply_receipt` is the sender's side of a receipt:
kept as proof of delivery, the item settled, its release DELIVERED or REFUSED.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import functools
import hashlib
import json
import secrets
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Final, Self, TypeVar

from sqlalchemy.orm import Session

from accord.audit.entry import AuditEntry, EntryKind
from accord.crypto import CompositeSignature
from accord.domain.record import Precedence
from accord.errors import PeerUnreachableError, UnknownReferenceError
from accord.federation.bundle import make_bundle
from accord.federation.delivery import PRECEDENCE_RANK, Backoff, Transport, batches, rank
from accord.federation.messages import MAX_ENVELOPE_BYTES, Envelope, MessageType, RejectedError, new_envelope
from accord.federation.trust import Freshness, PeerDescriptor, check_inbound
from accord.services import audit
from accord.services._database import NodeService
from accord.services._flash_watch import FLASH_RANKS, signal_flash
from accord.services._receipt_batch import settle_many
from accord.services._release_message import ReleaseMessage
from accord.services._signed_objects import ObligationType, SignedObject, choice, find
from accord.services._turns import yield_to_urgent
from accord.services.node import UnlockedNode, utc_now
from accord.storage.federation import OutboxItem, OutboxState, Receipt, ReceiptOutcome, stamp
from accord.storage.sql import SqlFederationStore, SqlObligationStore, SqlRecordStore, SqlReleaseStore
from accord.storage.values import ReleaseState

__all__ = ["Delivery", "Outbox", "apply_receipt", "pinned_descriptors", "queue", "read_receipt"]

_MAX_ERROR = 200
_OBLIGATION_PRECEDENCE: Final = {
    ObligationType.REPORT: Precedence.FLASH,
    ObligationType.RECALL: Precedence.IMMEDIATE,
    ObligationType.ACKNOWLEDGEMENT: Precedence.IMMEDIATE,
}
_SWEEP_BATCH = 500
_WRITE_CHUNK = 10
"""Releases queued, or receipts applied, per write transaction: a FLASH waiting for the
writer lock (here, or in another process on SQLite) waits for a few, never a batch."""

_T = TypeVar("_T")
_Flight = tuple[list[OutboxItem], "Future[list[tuple[Envelope, bytes]]]"]
"""A batch on its way to the peer, and the receipts it will bring back (verified, with their bytes)."""


def queue(session: Session, envelope: Envelope, *, at: dt.datetime, release_id: str | None = None) -> OutboxItem:
    """Put a signed envelope in the outbox for its recipient, due at once."""
    return SqlFederationStore(session).enqueue(_item(envelope, at=at, release_id=release_id))


def _item(envelope: Envelope, *, at: dt.datetime, release_id: str | None) -> OutboxItem:
    when = stamp(at)
    return OutboxItem(
        id=envelope.id,
        peer=envelope.recipient,
        type=envelope.type.value,
        rank=rank(envelope.precedence),
        envelope=envelope.to_bytes(),
        created_at=when,
        next_attempt_at=when,
        release_id=release_id,
    )


def apply_receipt(session: Session, receipt: Envelope, data: bytes, *, at: dt.datetime) -> OutboxItem:
    """Keep a verified receipt for a message sent from here and settle what it answers.

    Raises:
        RejectedError: it answers no message sent to its sender, or names another
            digest than the message's (nothing is stored).
    """
    item, entry = _settle(session, receipt, data, at=at)
    if entry is not None:
        audit.append_many(session, [entry])
    return item


def _settle(
    session: Session, receipt: Envelope, data: bytes, *, at: dt.datetime
) -> tuple[OutboxItem, Callable[[int], AuditEntry] | None]:
    """:func:`apply_receipt` but for the audit entry, returned for the caller to append."""
    store = SqlFederationStore(session)
    of, digest, outcome = (receipt.body.get(k) for k in ("of", "digest", "outcome"))
    item = store.item(of) if isinstance(of, str) else None
    if item is None or item.peer != receipt.sender or item.type == MessageType.RECEIPT.value:
        msg = f"receipt for {str(of)[:64]!r}, which this node did not send to {receipt.sender}"
        raise RejectedError(msg)
    if digest != hashlib.sha256(item.envelope).hexdigest():
        msg = f"receipt for {item.id} names another message digest"
        raise RejectedError(msg)
    try:
        result = ReceiptOutcome(str(outcome))
    except ValueError:
        msg = f"receipt outcome {str(outcome)[:20]!r} unknown"
        raise RejectedError(msg) from None
    when = stamp(at)
    kept = store.add_receipt(
        Receipt(
            message_id=item.id,
            peer=receipt.sender,
            receipt_id=receipt.id,
            outcome=result,
            envelope=data,
            received_at=when,
        )
    )
    if kept and item.state is OutboxState.PENDING:
        delivered = result is ReceiptOutcome.ACCEPTED
        store.settle(item.id, OutboxState.DELIVERED if delivered else OutboxState.REFUSED, at=when)
        if item.release_id is not None:
            state = ReleaseState.DELIVERED if delivered else ReleaseState.REFUSED
            SqlReleaseStore(session).set_state(item.release_id, state, at=audit.iso(at))
        return item, audit.entry(
            kind=EntryKind.RECEIPT,
            actor=receipt.recipient,
            at=at,
            subjects=(item.release_id,) if item.release_id else (),
            digests={"receipt": hashlib.sha256(data).hexdigest(), "message": digest},
            meta={"action": "delivery.receipt", "outcome": result.value, "peer": receipt.sender, "message": item.id},
        )
    return item, None


@functools.lru_cache(maxsize=256)
def _descriptor(data: bytes) -> PeerDescriptor:
    # Parsing a descriptor builds every public key of its history; the stored bytes
    # change whenever the pin does, so they are a safe key for the parsed value.
    return PeerDescriptor.from_bytes(data)


def pinned_descriptors(session: Session) -> dict[str, PeerDescriptor]:
    """Every pinned peer's descriptor by party."""
    return {p.party: _descriptor(p.descriptor) for p in SqlFederationStore(session).peers()}


def read_receipt(  # noqa: PLR0913 - the bytes, this node, its clock and its limits
    session: Session,
    data: bytes,
    *,
    me: str,
    at: dt.datetime,
    freshness: Freshness | None = None,
    max_bytes: int = MAX_ENVELOPE_BYTES,
    peers: Mapping[str, PeerDescriptor] | None = None,
) -> Envelope:
    """A receipt envelope that passes the inbound checks (addressee, pinned sender, signature, age).

    ``peers`` saves reading the pinned peers again for each receipt of a batch.

    Raises:
        RejectedError: it does not, or it is not a receipt.
    """
    peers = pinned_descriptors(session) if peers is None else peers
    return _verified_receipt(data, me=me, at=at, peers=peers, freshness=freshness, max_bytes=max_bytes)


def _verified_receipt(  # noqa: PLR0913 - as read_receipt, with the pinned peers already read
    data: bytes,
    *,
    me: str,
    at: dt.datetime,
    peers: Mapping[str, PeerDescriptor],
    freshness: Freshness | None = None,
    max_bytes: int = MAX_ENVELOPE_BYTES,
) -> Envelope:
    envelope = Envelope.from_bytes(data, max_bytes=max_bytes)
    check_inbound(envelope, me=me, peers=peers, now=at, freshness=freshness or Freshness(), fingerprint=lambda _: None)
    if envelope.type is not MessageType.RECEIPT:
        msg = f"expected a receipt, got a {envelope.type.value} message"
        raise RejectedError(msg)
    return envelope


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivery:
    """What one delivery run did for one peer."""

    peer: str
    sent: int = 0
    delivered: int = 0
    refused: int = 0
    failed: int = 0
    error: str | None = None


class Outbox(NodeService):
    """Messages leaving this node, per peer."""

    def sweep(
        self,
        node: UnlockedNode,
        *,
        at: dt.datetime | None = None,
        limit: int = _SWEEP_BATCH,
        only: Precedence | None = None,
    ) -> int:
        """Queue up to ``limit`` sealed releases whose next hop is a pinned peer, FLASH first; how many.

        ``only`` keeps to releases of one precedence (the FLASH lane's sweep). A release
        with file attachments stays sealed: its files travel by hand beside the message
        file (``accord records release --out``) until bundles carry them.
        """
        at = at or utc_now()
        party = node.identity.party
        with self._db.reading("read the sealed releases") as session:
            pinned = {p.party for p in SqlFederationStore(session).peers()}
            sealed = SqlReleaseStore(session).sealed_to_queue(party, limit=limit, only=only)
            precedences = SqlRecordStore(session).precedences([r.record_id for r in sealed])
        # Envelopes are signed outside the writing transaction, so the writer lock is not
        # held meanwhile; the transaction queues only those it moves from SEALED (another
        # sweep at the same moment may have queued some first).
        items: dict[str, tuple[OutboxItem, Callable[[int], AuditEntry]]] = {}
        for release in sealed:
            yield_to_urgent()
            message = ReleaseMessage.from_bytes(release.envelope)
            precedence = precedences.get(release.record_id)
            if message.recipient not in pinned or message.attachments or precedence is None:
                continue
            envelope = new_envelope(
                MessageType.RELEASE,
                {"message": message.to_dict(), "originator": party, "recipient": release.recipient},
                sender=party,
                recipient=message.recipient,
                at=at,
                keys=node.keys,
                precedence=precedence,
                agreement=message.agreement,
            )
            items[release.id] = (
                _item(envelope, at=at, release_id=release.id),
                audit.entry(
                    kind=EntryKind.RELEASE,
                    actor=party,
                    at=at,
                    subjects=(release.record_id, release.id),
                    digests={"envelope": hashlib.sha256(envelope.to_bytes()).hexdigest()},
                    meta={"action": "release.queue", "outcome": "queued", "peer": message.recipient},
                ),
            )
        if not items:
            return 0
        queued = 0
        order = list(items)  # the sweep's order: FLASH first
        for start in range(0, len(order), _WRITE_CHUNK):
            chunk = {i: items[i] for i in order[start : start + _WRITE_CHUNK]}
            yield_to_urgent()
            with self._db.transaction("queue the sealed releases") as session:
                moved = SqlReleaseStore(session).queue_sealed(chunk, at=audit.iso(at))
                ids = [i for i in chunk if i in moved]
                SqlFederationStore(session).enqueue_many([chunk[i][0] for i in ids])
                audit.append_many(session, [chunk[i][1] for i in ids])
            queued += len(ids)
        return queued

    def queue_obligation(  # noqa: PLR0913 - which object, to whom, and the keys
        self,
        type_: str,
        key: str,
        *,
        to: str,
        node: UnlockedNode,
        record_id: str | None = None,
        holder: str | None = None,
        at: dt.datetime | None = None,
    ) -> Envelope:
        """Queue a signed obligation held here (as ``accord obligations export`` finds it) for a pinned peer.

        The object travels whole, with its own long-lived signature, in an envelope of
        its type: compromise reports at FLASH (reported at once), recalls and their
        acknowledgements at IMMEDIATE, the others ROUTINE. The receiver checks it is
        addressed to it, exactly as an imported file.

        Raises:
            ValidationError: an unknown type, or ``to`` is not a pinned peer.
            UnknownReferenceError: nothing of that type is held under ``key``.
        """
        at = at or utc_now()
        kind = ObligationType(choice(ObligationType, type_, "object type"))
        to = to.upper()
        party = node.identity.party
        with self._db.transaction("queue the obligation") as session:
            if SqlFederationStore(session).get_peer(to) is None:
                msg = f"{to} is not a pinned peer"
                raise UnknownReferenceError(msg, hint="pin it with `accord peers add DESCRIPTOR`")
            value, signature, signer = find(
                SqlObligationStore(session), kind, key, record_id=record_id, holder=holder or party
            )
            signed = SignedObject(
                type=kind, signer=signer, value=value, signature=CompositeSignature.from_dict(json.loads(signature))
            )
            envelope = new_envelope(
                MessageType(kind.value),
                {"object": signed.to_dict()},
                sender=party,
                recipient=to,
                at=at,
                keys=node.keys,
                precedence=_OBLIGATION_PRECEDENCE.get(kind, Precedence.ROUTINE),
            )
            queue(session, envelope, at=at)
            audit.append(
                session,
                kind=EntryKind.MESSAGE,
                actor=party,
                at=at,
                subjects=(key,),
                digests={"envelope": hashlib.sha256(envelope.to_bytes()).hexdigest()},
                meta={"action": f"{kind.value}.queue", "outcome": "queued", "peer": to},
            )
        if envelope.precedence is Precedence.FLASH:
            signal_flash(self._home)  # committed: the FLASH lane sends it now
        return envelope

    def deliver(  # noqa: PLR0913 - the peer, the transport, the keys, the schedule and the lane
        self,
        peer: str,
        transport: Transport,
        *,
        node: UnlockedNode,
        at: dt.datetime | None = None,
        batch_size: int = 50,
        backoff: Backoff | None = None,
        limit: int = 1000,
        ranks: range | None = None,
    ) -> Delivery:
        """Send the peer's due items in precedence order; apply the receipts; reschedule the rest.

        At most ``limit`` items go in one run; ``ranks`` (0 FLASH … 3 ROUTINE) keeps the
        run to those precedences: the server's FLASH lane sends rank 0 while its delivery
        loop sends the others (``_flash_watch``). Each batch is chosen just before it is
        sent (sealed releases swept in first, FLASH first). Batches go one after another,
        the next sent while this thread applies the receipts of the one before. An item
        leaves ``pending`` only when its receipt is kept. On ``PeerUnreachableError``
        the whole run stops: every due item of the run's ranks not delivered gets one
        more attempt counted and its next attempt set by ``backoff``.
        """
        at = at or utc_now()
        schedule = backoff or Backoff()
        result = Delivery(peer=peer)
        only = Precedence.FLASH if ranks == FLASH_RANKS else None  # the FLASH lane sweeps FLASH alone
        flight: _Flight | None = None
        # FLASH alone is sent from this thread: nothing to overlap, and no hand-over to wait for.
        pipelined = only is None
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="accord-send") if pipelined else _Inline() as sender:
            while True:
                ahead = None
                taken = result.sent + (len(flight[0]) if flight else 0)
                if taken < limit:
                    # As many as a batch takes (signed while the batch before is in flight).
                    self.sweep(node, at=at, limit=batch_size, only=only)
                    size = min(batch_size, limit - taken)
                    batch = self._next_batch(peer, at=at, size=size, flying=flight, ranks=ranks)
                    if batch is not None:
                        me = node.identity.party
                        # In this thread's context: a FLASH lane's send is urgent work too.
                        run = contextvars.copy_context().run
                        ahead = batch, sender.submit(run, self._exchange, transport, peer, batch, me=me, at=at)
                if flight is not None:
                    result, failed = self._land(flight, at=at, backoff=schedule, result=result)
                    if failed is not None:
                        if ahead is not None:
                            ahead[1].exception()  # let it finish; its items are rescheduled below
                        return self._unreachable(
                            peer, failed, at=at, backoff=schedule, result=result, limit=limit, ranks=ranks
                        )
                flight = ahead
                if flight is None:
                    return result

    def _next_batch(
        self,
        peer: str,
        *,
        at: dt.datetime,
        size: int,
        flying: _Flight | None,
        ranks: range | None,
    ) -> list[OutboxItem] | None:
        """The next batch to send: the first due items (of ``ranks``) not in ``flying`` (FLASH alone)."""
        taken = {i.id for i in flying[0]} if flying else set()
        with self._db.reading("read the outbox") as session:
            due = SqlFederationStore(session).pending(peer, due_at=stamp(at), limit=size + len(taken), ranks=ranks)
        return next(batches([i for i in due if i.id not in taken][:size], precedence=_precedence, size=size), None)

    def _land(
        self,
        flight: _Flight,
        *,
        at: dt.datetime,
        backoff: Backoff,
        result: Delivery,
    ) -> tuple[Delivery, PeerUnreachableError | None]:
        """Wait for a batch in flight and apply its receipts; the error if the peer could not be reached."""
        batch, future = flight
        try:
            receipts = future.result()
        except PeerUnreachableError as e:
            return result, e
        return self._settle_batch(batch, receipts, at=at, backoff=backoff, result=result), None

    def _unreachable(  # noqa: PLR0913 - the peer, the error, the schedule and the run so far
        self,
        peer: str,
        error: PeerUnreachableError,
        *,
        at: dt.datetime,
        backoff: Backoff,
        result: Delivery,
        limit: int,
        ranks: range | None,
    ) -> Delivery:
        """Count one more attempt for every due item of ``ranks`` (up to what the run had left); stop the run."""
        with self._db.reading("read the outbox") as session:
            left = SqlFederationStore(session).pending(
                peer, due_at=stamp(at), limit=max(limit - result.sent, 1), ranks=ranks
            )
        self._reschedule(left, error=error.message, at=at, backoff=backoff)
        return _with(result, failed=result.failed + len(left), error=error.message)

    def _exchange(
        self, transport: Transport, peer: str, batch: Sequence[OutboxItem], *, me: str, at: dt.datetime
    ) -> list[tuple[Envelope, bytes]]:
        """Send a batch; the receipts that pass the inbound checks (the pinned peers read once).

        Run by the sending thread, outside any writing transaction: the delivering
        thread applies the receipts of the batch before meanwhile.
        """
        receipts = transport.send(peer, [item.envelope for item in batch])
        with self._db.reading("read the pinned peers") as session:
            peers = pinned_descriptors(session)
        valid = []
        for data in receipts:
            yield_to_urgent()
            try:
                valid.append((_verified_receipt(data, me=me, at=at, peers=peers), data))
            except RejectedError:
                continue
        return valid

    def _settle_batch(
        self,
        batch: Sequence[OutboxItem],
        receipts: Sequence[tuple[Envelope, bytes]],
        *,
        at: dt.datetime,
        backoff: Backoff,
        result: Delivery,
    ) -> Delivery:
        """Apply a batch's verified receipts in one transaction; reschedule what none answered."""
        answered: set[str] = set()
        for start in range(0, max(len(receipts), 1), _WRITE_CHUNK):
            yield_to_urgent()
            with self._db.transaction("apply the receipts") as session:
                settled, entries = settle_many(session, receipts[start : start + _WRITE_CHUNK], at=at)
                for item, outcome in settled:
                    answered.add(item.id)
                    refused = outcome is ReceiptOutcome.REFUSED
                    delivered, refusals = result.delivered + (not refused), result.refused + refused
                    result = _with(result, delivered=delivered, refused=refusals)
                if start == 0:  # receipts sent back to the peer need no receipt: settled once sent
                    sent = [item.id for item in batch if item.type == MessageType.RECEIPT.value]
                    SqlFederationStore(session).settle_many(sent, OutboxState.SENT, at=stamp(at))
                    answered.update(sent)
                audit.append_many(session, entries)
        result = _with(result, sent=result.sent + len(batch))
        missing = [item for item in batch if item.id not in answered]
        if missing:
            self._reschedule(missing, error="no receipt returned", at=at, backoff=backoff)
            result = _with(result, failed=result.failed + len(missing))
        return result

    def _reschedule(self, items: Sequence[OutboxItem], *, error: str, at: dt.datetime, backoff: Backoff) -> None:
        with self._db.transaction("reschedule the outbox") as session:
            store = SqlFederationStore(session)
            for item in items:
                wait = backoff.next_attempt(at, item.attempts + 1, random=secrets.randbelow(1000) / 1000)
                store.record_attempt(item.id, next_attempt_at=stamp(wait), error=error[:_MAX_ERROR])

    def export_bundle(
        self,
        peer: str,
        *,
        node: UnlockedNode,
        since: dt.datetime | None = None,
        at: dt.datetime | None = None,
    ) -> tuple[bytes, int]:
        """A signed bundle of what is pending for ``peer`` (or everything queued since ``since``).

        Queues sealed releases first. Receipts in it count as sent; every other item
        stays pending, with one more attempt counted, until the peer's receipt comes
        back. Returns the bundle and how many envelopes it holds.
        """
        at = at or utc_now()
        peer = peer.upper()
        self.sweep(node, at=at)
        with self._db.transaction("export the bundle") as session:
            store = SqlFederationStore(session)
            if store.get_peer(peer) is None:
                msg = f"{peer} is not a pinned peer"
                raise UnknownReferenceError(msg, hint="pin it with `accord peers add DESCRIPTOR`")
            items = list(store.created_since(peer, stamp(since)) if since else store.pending(peer))
            data = make_bundle(
                [item.envelope for item in items],
                sender=node.identity.party,
                recipient=peer,
                at=at,
                since=since,
                keys=node.keys,
            )
            when = stamp(at)
            for item in items:
                if item.state is not OutboxState.PENDING:
                    continue
                if item.type == MessageType.RECEIPT.value:
                    store.settle(item.id, OutboxState.SENT, at=when)
                else:
                    store.record_attempt(item.id, next_attempt_at=item.next_attempt_at, error=None)
            audit.append(
                session,
                kind=EntryKind.MESSAGE,
                actor=node.identity.party,
                at=at,
                digests={"bundle": hashlib.sha256(data).hexdigest()},
                meta={"action": "bundle.export", "outcome": "exported", "peer": peer, "messages": len(items)},
            )
        return data, len(items)


class _Inline:
    """An executor that runs each call at once in the caller's thread (its future is already done)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        return None

    def submit(self, fn: Callable[..., _T], /, *args: object, **kwargs: object) -> Future[_T]:
        future: Future[_T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as e:  # noqa: BLE001 - kept in the future, as a thread pool would
            future.set_exception(e)
        return future


def _precedence(item: OutboxItem) -> Precedence:
    return tuple(PRECEDENCE_RANK)[item.rank]


def _with(result: Delivery, **changes: int | str | None) -> Delivery:
    return replace(result, **changes)  # type: ignore[arg-type]
