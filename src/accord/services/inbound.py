"""Inbound federation: accept one envelope or a whole bundle from a pinned peer, and answer it.

:meth:`Inbound.accept` runs the checks of ``docs/federation.md`` in order: size,
syntax, addressee, pinned sender, signature (by the sender's keys of when it was
sent), freshness, agreement fingerprint, replay. A message refused there stores
nothing but one audit entry with the reason, and the caller gets one opaque
``RejectedError``. An accepted message is handled by type (a release goes to
``Releases.receive``, which re-runs the decision with this node's agreements; a
key rotation re-pins the sender; a receipt settles what this node sent; checkpoints
and cosignatures go to ``services.witness``) and answered with a signed receipt,
kept with the message id so that the same message again, even two copies at once,
gets the same receipt and changes nothing. :meth:`Inbound.import_bundle` does this for
every envelope of a bundle (through :meth:`accept_many`, which stores the plain
releases of a batch in one transaction), queuing the receipts for the way back.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from accord.audit.entry import EntryKind
from accord.canonical import canonical_bytes
from accord.domain.world import World
from accord.errors import Error, IntegrityError, StorageError, ValidationError
from accord.federation.bundle import MAX_BUNDLE_BYTES, read_bundle
from accord.federation.messages import MAX_ENVELOPE_BYTES, Envelope, MessageType, RejectedError, new_envelope
from accord.federation.trust import Freshness, PeerDescriptor, check_inbound, rotated
from accord.services import audit
from accord.services._database import NodeService
from accord.services._inbound_batch import check_batch, decide_batch, drop_repeats, store_batch
from accord.services._release_message import ReleaseMessage
from accord.services._signed_objects import ObligationType, SignedObject, append_entry, check_import, keep
from accord.services.node import UnlockedNode, utc_now
from accord.services.outbox import apply_receipt, pinned_descriptors, queue
from accord.services.peers import identity_of
from accord.services.relay import RelayError, relay
from accord.services.releases import Releases
from accord.services.witness import WITNESS_TYPES
from accord.services.witness import handle as witness
from accord.storage.federation import OutboxState, PinnedPeer, ReceiptOutcome, SeenMessage, stamp
from accord.storage.sql import SqlFederationStore, SqlReleaseStore

__all__ = ["MAX_ENVELOPE_BYTES", "Accepted", "BundleImport", "Freshness", "Inbound"]

_MAX_REASON = 200
_OBLIGATIONS = frozenset(MessageType(t.value) for t in ObligationType)
_HANDLED = frozenset(
    {MessageType.RELEASE, MessageType.RECEIPT, MessageType.KEY_ROTATION, *_OBLIGATIONS, *WITNESS_TYPES}
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Accepted:
    """What accepting one message did: its id, type, outcome, whether it was new, the receipt."""

    id: str
    type: MessageType
    sender: str
    outcome: ReceiptOutcome
    new: bool
    receipt: bytes | None = field(default=None, repr=False)  # none for a receipt
    release_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class BundleImport:
    """What importing a bundle did."""

    bundle_id: str
    sender: str
    accepted: list[Accepted]
    rejected: int

    def to_dict(self) -> dict[str, Any]:
        """JSON form for ``--json``."""
        return {
            "bundle": self.bundle_id,
            "sender": self.sender,
            "messages": len(self.accepted) + self.rejected,
            "new": sum(a.new for a in self.accepted),
            "duplicates": sum(not a.new for a in self.accepted),
            "rejected": self.rejected,
            "accepted": [
                {"id": a.id, "type": a.type.value, "outcome": a.outcome.value, "new": a.new, "release_id": a.release_id}
                for a in self.accepted
            ],
        }


class Inbound(NodeService):
    """Messages arriving at this node."""

    def accept(  # noqa: PLR0913 - the bytes, this node's keys and world, and its limits
        self,
        data: bytes,
        *,
        world: World,
        node: UnlockedNode,
        at: dt.datetime | None = None,
        freshness: Freshness | None = None,
        max_bytes: int = MAX_ENVELOPE_BYTES,
        queue_receipt: bool = False,
    ) -> Accepted:
        """Check, handle and answer one envelope.

        With ``queue_receipt`` the receipt also goes into the outbox to the sender (the
        bundle path); over a live transport it is returned to the caller only.

        Raises:
            RejectedError: refused before handling (audited; nothing else stored).
        """
        at = at or utc_now()
        try:
            return self._accept(
                data,
                world=world,
                node=node,
                at=at,
                freshness=freshness,
                max_bytes=max_bytes,
                queue_receipt=queue_receipt,
            )
        except ValidationError:
            # Another worker (or an earlier try of this sender still running) accepted the
            # same message meanwhile, and its seen-message row refused ours: our
            # transaction rolled back whole, so answer as the duplicate it now is.
            again = self._answered_meanwhile(data, max_bytes=max_bytes, queue_receipt=queue_receipt, at=at)
            if again is None:
                raise
            return again

    def _accept(  # noqa: PLR0913 - accept's arguments
        self,
        data: bytes,
        *,
        world: World,
        node: UnlockedNode,
        at: dt.datetime,
        freshness: Freshness | None,
        max_bytes: int,
        queue_receipt: bool,
    ) -> Accepted:
        me = node.identity.party
        try:
            envelope = Envelope.from_bytes(data, max_bytes=max_bytes)
            with self._db.transaction("check the message") as session:
                sender = check_inbound(
                    envelope,
                    me=me,
                    peers=pinned_descriptors(session),
                    now=at,
                    freshness=freshness or Freshness(),
                    fingerprint=_fingerprints(world),
                )
                done = self._handle(session, envelope, sender, data, node=node, at=at, queue_receipt=queue_receipt)
                if done is None and envelope.type in _OBLIGATIONS:
                    done = self._obligation(
                        session, envelope, sender, data, world=world, node=node, at=at, queue_receipt=queue_receipt
                    )
        except RejectedError as e:
            self._refused(e.reason, data, at=at, me=me)
            raise
        if done is not None:
            return done
        return self._release(envelope, sender, data, world=world, node=node, at=at, queue_receipt=queue_receipt)

    def accept_many(  # noqa: PLR0913 - the messages, this node's keys and world, and its limits
        self,
        datas: Sequence[bytes],
        *,
        world: World,
        node: UnlockedNode,
        at: dt.datetime | None = None,
        freshness: Freshness | None = None,
        max_bytes: int = MAX_ENVELOPE_BYTES,
        queue_receipt: bool = False,
    ) -> list[Accepted | None]:
        """:meth:`accept` for a batch: each message checked on its own, the plain releases stored together.

        New releases addressed here are checked, opened and re-decided one by one, then
        stored with their seen-message rows, receipts and audit entries (refusals too)
        in one transaction; every other message goes through :meth:`accept`. The result
        is in the order given: ``None`` for a message refused before handling (audited,
        nothing else stored).
        """
        at = at or utc_now()
        me = node.identity.party
        results: list[Accepted | None] = [None] * len(datas)
        with self._db.reading("read the pinned peers") as session:
            peers = pinned_descriptors(session)
        batch = check_batch(
            datas,
            me=me,
            peers=peers,
            fingerprint=_fingerprints(world),
            at=at,
            freshness=freshness or Freshness(),
            max_bytes=max_bytes,
        )
        with self._db.reading("check the messages for repeats") as session:
            drop_repeats(session, batch)
        decide_batch(batch.checked, world=world, node=node, peers=peers, at=at)
        single = batch.single
        try:
            with self._db.transaction("store the received releases") as session:
                store_batch(session, batch, at=at, queue_receipt=queue_receipt)
        except Error:
            # Another worker stored one of them first: the one-message path decides each.
            with self._db.transaction("audit the refused messages") as session:
                audit.append_many(session, batch.refusals)
            single = sorted([*single, *(c.index for c in batch.checked)])
        else:
            for c in batch.checked:
                results[c.index] = Accepted(
                    id=c.envelope.id,
                    type=c.envelope.type,
                    sender=c.envelope.sender,
                    outcome=c.outcome,
                    new=True,
                    receipt=c.receipt,
                    release_id=c.release.id if c.release is not None else None,
                )
        for index in single:
            try:
                results[index] = self.accept(
                    datas[index],
                    world=world,
                    node=node,
                    at=at,
                    freshness=freshness,
                    max_bytes=max_bytes,
                    queue_receipt=queue_receipt,
                )
            except RejectedError:
                results[index] = None
        return results

    def _handle(  # noqa: PLR0913 - the checked message and what handling it needs
        self,
        session: Session,
        envelope: Envelope,
        sender: PeerDescriptor,
        data: bytes,
        *,
        node: UnlockedNode,
        at: dt.datetime,
        queue_receipt: bool,
    ) -> Accepted | None:
        """Replay check, then every type but a release (``None``: a release, handled apart)."""
        digest = hashlib.sha256(data).hexdigest()
        seen = SqlFederationStore(session).seen(envelope.id)
        if seen is not None:
            return _duplicate(session, envelope, seen, digest, queue_receipt=queue_receipt, at=at)
        if envelope.type not in _HANDLED:
            msg = f"{envelope.type.value} messages are not handled by this node yet"
            raise RejectedError(msg)
        if envelope.type is MessageType.RECEIPT:
            apply_receipt(session, envelope, data, at=at)
            _remember(session, envelope, digest, ReceiptOutcome.ACCEPTED, None, at=at)
            return Accepted(
                id=envelope.id, type=envelope.type, sender=envelope.sender, outcome=ReceiptOutcome.ACCEPTED, new=True
            )
        if envelope.type is MessageType.KEY_ROTATION:
            return self._rotation(session, envelope, sender, data, node=node, at=at, queue_receipt=queue_receipt)
        if envelope.type in WITNESS_TYPES:  # checkpoint witnessing: services.witness decides the outcome
            outcome = witness(session, envelope, sender, data, node=node, at=at)
            receipt = self._answer(session, envelope, data, outcome, node=node, at=at, queue_receipt=queue_receipt)
            return Accepted(
                id=envelope.id, type=envelope.type, sender=envelope.sender, outcome=outcome, new=True, receipt=receipt
            )
        return None  # a release or an obligation: handled by the caller

    def _release(  # noqa: PLR0913 - the message and what handling it needs
        self,
        envelope: Envelope,
        sender: PeerDescriptor,
        data: bytes,
        *,
        world: World,
        node: UnlockedNode,
        at: dt.datetime,
        queue_receipt: bool,
    ) -> Accepted:
        me = node.identity.party
        try:
            message = ReleaseMessage.from_bytes(canonical_bytes(envelope.body.get("message")))
        except Error as e:
            self._refused(f"release body malformed: {e.message}", data, at=at, me=me)
            raise RejectedError(e.message) from None
        header = (message.sender, message.recipient, message.agreement)
        if header != (envelope.sender, envelope.recipient, envelope.agreement):
            reason = "the release's header does not match the envelope (sender, recipient or agreement)"
            self._refused(reason, data, at=at, me=me)
            raise RejectedError(reason)
        final = envelope.body.get("recipient", me)
        if final != me:
            return self._relay(envelope, message, data, world=world, node=node, at=at, queue_receipt=queue_receipt)
        with self._db.reading("read the pinned peers") as session:
            peers = pinned_descriptors(session)
        named = envelope.body.get("originator")
        originator = identity_of(peers[named]) if isinstance(named, str) and named in peers else None
        # Releases.receive checks, re-decides, stores idempotently and audits in its own
        # transaction; a refusal there (audited there) is answered with a refused receipt.
        release_id: str | None
        try:
            releases = Releases(database=self._db, home=self._home)  # the same database: not closed here
            received = releases.receive(
                message.to_bytes(), world=world, node=node, sender=identity_of(sender), originator=originator, at=at
            )
            outcome, release_id = ReceiptOutcome.ACCEPTED, received.release.id
        except StorageError:
            raise  # the database failed, not the message: no receipt, the sender retries
        except Error:
            # Refused, unless another worker stored this very message meanwhile (its
            # insert won the race and refused ours): then it is accepted.
            with self._db.reading("read the stored release") as session:
                stored = SqlReleaseStore(session).by_message(message.message_id)
            outcome = ReceiptOutcome.REFUSED if stored is None else ReceiptOutcome.ACCEPTED
            release_id = None if stored is None else stored.id
        with self._db.transaction("answer the release") as session:
            receipt = self._answer(session, envelope, data, outcome, node=node, at=at, queue_receipt=queue_receipt)
        return Accepted(
            id=envelope.id,
            type=envelope.type,
            sender=envelope.sender,
            outcome=outcome,
            new=True,
            receipt=receipt,
            release_id=release_id,
        )

    def _relay(  # noqa: PLR0913 - the message and what relaying it needs
        self,
        envelope: Envelope,
        message: ReleaseMessage,
        data: bytes,
        *,
        world: World,
        node: UnlockedNode,
        at: dt.datetime,
        queue_receipt: bool,
    ) -> Accepted:
        """A release for another party: relayed onward (this node is its hub) or refused back."""
        outcome = ReceiptOutcome.ACCEPTED
        with self._db.transaction("relay the release") as session:
            try:
                with session.begin_nested():
                    relay(session, envelope, message, peers=pinned_descriptors(session), world=world, node=node, at=at)
            except RelayError as e:
                outcome = ReceiptOutcome.REFUSED
                audit.append(
                    session,
                    kind=EntryKind.RELEASE,
                    actor=node.identity.party,
                    at=at,
                    subjects=(message.record_id[:_MAX_REASON], message.release_id[:_MAX_REASON]),
                    digests={"message": hashlib.sha256(data).hexdigest()},
                    meta={"action": "release.relay", "outcome": "refused", "reason": e.reason[:_MAX_REASON]},
                )
            receipt = self._answer(session, envelope, data, outcome, node=node, at=at, queue_receipt=queue_receipt)
        return Accepted(
            id=envelope.id, type=envelope.type, sender=envelope.sender, outcome=outcome, new=True, receipt=receipt
        )

    def _obligation(  # noqa: PLR0913 - the message and what handling it needs
        self,
        session: Session,
        envelope: Envelope,
        sender: PeerDescriptor,
        data: bytes,
        *,
        world: World,
        node: UnlockedNode,
        at: dt.datetime,
        queue_receipt: bool,
    ) -> Accepted:
        """Import a signed obligation as ``accord obligations import`` would; a refusal is answered refused."""
        me = node.identity.party
        outcome, reason = ReceiptOutcome.ACCEPTED, ""
        try:
            with session.begin_nested():  # a refusal undoes only the import
                signed = SignedObject.from_bytes(
                    canonical_bytes(envelope.body.get("object")) + b"\n", signer=identity_of(sender)
                )
                if check_import(session, signed, party=me, world=world, expect=envelope.type.value):
                    keep(session, signed.value, canonical_bytes(signed.signature.to_dict()))
                    append_entry(session, signed.value, action=f"{signed.type.value}.import", party=me, at=at)
        except (ValidationError, IntegrityError) as e:
            outcome, reason = ReceiptOutcome.REFUSED, e.message
        if reason:
            audit.append(
                session,
                kind=EntryKind.MESSAGE,
                actor=me,
                at=at,
                digests={"message": hashlib.sha256(data).hexdigest()},
                meta={"action": f"{envelope.type.value}.import", "outcome": "refused", "reason": reason[:_MAX_REASON]},
            )
        receipt = self._answer(session, envelope, data, outcome, node=node, at=at, queue_receipt=queue_receipt)
        return Accepted(
            id=envelope.id, type=envelope.type, sender=envelope.sender, outcome=outcome, new=True, receipt=receipt
        )

    def _rotation(  # noqa: PLR0913 - the message and what handling it needs
        self,
        session: Session,
        envelope: Envelope,
        sender: PeerDescriptor,
        data: bytes,
        *,
        node: UnlockedNode,
        at: dt.datetime,
        queue_receipt: bool,
    ) -> Accepted:
        store = SqlFederationStore(session)
        new = rotated(sender, envelope.body.get("descriptor"))
        kept = store.get_peer(sender.party)
        url = kept.url if kept is not None else ""
        store.replace_peer(
            PinnedPeer(
                party=new.party,
                url=url,
                descriptor=PeerDescriptor(
                    party=new.party, url=url, created_at=new.created_at, history=new.history
                ).to_bytes(),
                fingerprint=new.fingerprint,
                pinned_at=kept.pinned_at if kept is not None else stamp(at),
                updated_at=stamp(at),
            )
        )
        audit.append(
            session,
            kind=EntryKind.PEER,
            actor=node.identity.party,
            at=at,
            meta={"action": "peer.rotate", "outcome": "accepted", "peer": new.party, "fingerprint": new.fingerprint},
        )
        receipt = self._answer(
            session, envelope, data, ReceiptOutcome.ACCEPTED, node=node, at=at, queue_receipt=queue_receipt
        )
        return Accepted(
            id=envelope.id,
            type=envelope.type,
            sender=envelope.sender,
            outcome=ReceiptOutcome.ACCEPTED,
            new=True,
            receipt=receipt,
        )

    @staticmethod
    def _answer(  # noqa: PLR0913 - the message answered and how
        session: Session,
        envelope: Envelope,
        data: bytes,
        outcome: ReceiptOutcome,
        *,
        node: UnlockedNode,
        at: dt.datetime,
        queue_receipt: bool,
    ) -> bytes:
        digest = hashlib.sha256(data).hexdigest()
        receipt = new_envelope(
            MessageType.RECEIPT,
            {"of": envelope.id, "digest": digest, "outcome": outcome.value},
            sender=node.identity.party,
            recipient=envelope.sender,
            at=at,
            keys=node.keys,
            precedence=envelope.precedence,
            in_reply_to=envelope.id,
        )
        receipt_bytes = receipt.to_bytes()
        _remember(session, envelope, digest, outcome, receipt_bytes, at=at)
        if queue_receipt:
            queue(session, receipt, at=at)
        return receipt_bytes

    def import_bundle(  # noqa: PLR0913 - the bytes, this node's keys and world, and its limits
        self,
        data: bytes,
        *,
        world: World,
        node: UnlockedNode,
        at: dt.datetime | None = None,
        freshness: Freshness | None = None,
        max_bytes: int = MAX_BUNDLE_BYTES,
        max_envelope_bytes: int = MAX_ENVELOPE_BYTES,
    ) -> BundleImport:
        """Accept every envelope of a bundle from a pinned peer; receipts go into the outbox.

        Each envelope is checked on its own; one refused (audited) does not stop the
        others. Importing the same bundle again changes nothing.

        Raises:
            RejectedError: the bundle itself is refused (audited; nothing stored).
        """
        at = at or utc_now()
        me = node.identity.party
        try:
            with self._db.reading("read the bundle") as session:
                bundle = read_bundle(data, me=me, peers=pinned_descriptors(session), max_bytes=max_bytes)
        except RejectedError as e:
            self._refused(f"bundle: {e.reason}", data, at=at, me=me)
            raise
        results = self.accept_many(
            bundle.envelopes,
            world=world,
            node=node,
            at=at,
            freshness=freshness,
            max_bytes=max_envelope_bytes,
            queue_receipt=True,
        )
        accepted = [a for a in results if a is not None]
        rejected = len(results) - len(accepted)
        return BundleImport(bundle_id=bundle.id, sender=bundle.sender, accepted=accepted, rejected=rejected)

    def _answered_meanwhile(
        self, data: bytes, *, max_bytes: int, queue_receipt: bool, at: dt.datetime
    ) -> Accepted | None:
        """The duplicate's answer if the same bytes were accepted meanwhile; ``None`` if not."""
        try:
            envelope = Envelope.from_bytes(data, max_bytes=max_bytes)
        except RejectedError:
            return None
        with self._db.transaction("answer the duplicate") as session:
            seen = SqlFederationStore(session).seen(envelope.id)
            if seen is None or (seen.digest, seen.sender) != (hashlib.sha256(data).hexdigest(), envelope.sender):
                return None
            return _duplicate(session, envelope, seen, seen.digest, queue_receipt=queue_receipt, at=at)

    def _refused(self, reason: str, data: bytes, *, at: dt.datetime, me: str) -> None:
        with self._db.transaction("audit the refused message") as session:
            audit.append(
                session,
                kind=EntryKind.MESSAGE,
                actor=me,
                at=at,
                digests={"message": hashlib.sha256(data).hexdigest()},
                meta={"action": "message.accept", "outcome": "refused", "reason": reason[:_MAX_REASON]},
            )


def _fingerprints(world: World) -> Callable[[str], str | None]:
    known = {a.id: a.fingerprint for a in world.agreements}
    return known.get


def _remember(  # noqa: PLR0913 - the fields of a seen message
    session: Session,
    envelope: Envelope,
    digest: str,
    outcome: ReceiptOutcome,
    receipt: bytes | None,
    *,
    at: dt.datetime,
) -> None:
    SqlFederationStore(session).add_seen(
        SeenMessage(
            id=envelope.id,
            sender=envelope.sender,
            type=envelope.type.value,
            digest=digest,
            received_at=stamp(at),
            outcome=outcome,
            receipt=receipt,
        )
    )


def _duplicate(  # noqa: PLR0913 - the message, what was seen and how to answer
    session: Session, envelope: Envelope, seen: SeenMessage, digest: str, *, queue_receipt: bool, at: dt.datetime
) -> Accepted:
    """The answer to a message id seen before: its first receipt, or a refusal if the bytes differ."""
    if seen.digest != digest or seen.sender != envelope.sender:
        msg = f"replay: message id {envelope.id} was accepted before with other content"
        raise RejectedError(msg)
    if queue_receipt:
        _requeue(session, seen, at=at)
    return Accepted(
        id=envelope.id,
        type=envelope.type,
        sender=envelope.sender,
        outcome=seen.outcome,
        new=False,
        receipt=seen.receipt,
    )


def _requeue(session: Session, seen: SeenMessage, *, at: dt.datetime) -> None:
    """The sender sent a message again: if its receipt went out already, send it again."""
    if seen.receipt is None:
        return
    store = SqlFederationStore(session)
    receipt = Envelope.from_bytes(seen.receipt)
    item = store.item(receipt.id)
    if item is not None and item.state is OutboxState.SENT:
        store.reopen(item.id, at=stamp(at))
