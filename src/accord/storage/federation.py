"""What a node keeps for federation, and the port its store implements.

Pinned peers (their descriptor as canonical JSON bytes), the outbox (one row per
envelope to send, with its precedence rank, attempts and next attempt time), the
receipts peers returned for what this node sent (proof of delivery), and the ids of
messages this node accepted (replay and idempotence, with the receipt it answered).
Times are fixed-width UTC stamps (:func:`stamp`) so the SQL store compares them as
text. The store checks shapes, never signatures: the services verify before storing.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final, Protocol

from accord.errors import ValidationError

__all__ = [
    "FederationStore",
    "OutboxItem",
    "OutboxState",
    "PeerStatus",
    "PinnedPeer",
    "Receipt",
    "ReceiptOutcome",
    "SeenMessage",
    "check_stamp",
    "stamp",
]

_STAMP: Final = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")


def stamp(at: dt.datetime) -> str:
    """An aware time as the federation tables keep it: ``2026-03-01T09:00:00.000000Z``."""
    if at.utcoffset() is None:
        msg = f"federation times must carry a UTC offset, not {at!r}"
        raise ValidationError(msg)
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def check_stamp(value: str | None, what: str) -> None:
    """Refuse a time that is not a :func:`stamp`."""
    if value is not None and not _STAMP.fullmatch(value):
        msg = f"{what} {value!r} is not a fixed-width UTC stamp"
        raise ValidationError(msg)


class OutboxState(StrEnum):
    """Where an outbox item stands."""

    PENDING = "pending"  # to send (again) at next_attempt_at
    SENT = "sent"  # sent once, no receipt expected (a receipt itself)
    DELIVERED = "delivered"  # the peer returned a signed receipt: accepted
    REFUSED = "refused"  # the peer returned a signed receipt: refused


class ReceiptOutcome(StrEnum):
    """What a receiver did with a message."""

    ACCEPTED = "accepted"
    REFUSED = "refused"


@dataclass(frozen=True, slots=True, kw_only=True)
class PinnedPeer:
    """A peer node pinned here: its party, URL and descriptor (canonical JSON)."""

    party: str
    url: str
    descriptor: bytes = field(repr=False)
    fingerprint: str
    pinned_at: str
    updated_at: str

    def __post_init__(self) -> None:
        """Check the stamps and the fingerprint's shape."""
        check_stamp(self.pinned_at, "pinned_at")
        check_stamp(self.updated_at, "updated_at")
        if not re.fullmatch(r"[0-9a-f]{64}", self.fingerprint):
            msg = f"peer {self.party}: fingerprint {self.fingerprint!r} is not a hex SHA-256"
            raise ValidationError(msg)


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboxItem:
    """One envelope waiting for (or done with) delivery to one peer."""

    id: str  # the envelope's id
    peer: str
    type: str
    rank: int  # 0 FLASH .. 3 ROUTINE
    envelope: bytes = field(repr=False)
    created_at: str
    next_attempt_at: str
    state: OutboxState = OutboxState.PENDING
    attempts: int = 0
    last_error: str | None = None
    settled_at: str | None = None
    release_id: str | None = None  # the release it carries, if any
    seq: int | None = None  # the order queued, given by the store

    def __post_init__(self) -> None:
        """Check the rank, attempts and stamps."""
        object.__setattr__(self, "state", OutboxState(self.state))
        if not 0 <= self.rank <= 3 or self.attempts < 0:  # noqa: PLR2004 - FLASH .. ROUTINE
            msg = f"outbox item {self.id}: rank {self.rank} or attempts {self.attempts} out of range"
            raise ValidationError(msg)
        for name in ("created_at", "next_attempt_at", "settled_at"):
            check_stamp(getattr(self, name), name)


@dataclass(frozen=True, slots=True, kw_only=True)
class Receipt:
    """A peer's signed receipt for a message this node sent."""

    message_id: str  # the id of the envelope it answers
    peer: str
    receipt_id: str
    outcome: ReceiptOutcome
    envelope: bytes = field(repr=False)
    received_at: str

    def __post_init__(self) -> None:
        """Check the outcome and stamp."""
        object.__setattr__(self, "outcome", ReceiptOutcome(self.outcome))
        check_stamp(self.received_at, "received_at")


@dataclass(frozen=True, slots=True, kw_only=True)
class SeenMessage:
    """A message this node accepted from a peer, and the receipt it answered with."""

    id: str
    sender: str
    type: str
    digest: str  # hex SHA-256 of the envelope's bytes
    received_at: str
    outcome: ReceiptOutcome
    receipt: bytes | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        """Check the outcome, stamp and digest."""
        object.__setattr__(self, "outcome", ReceiptOutcome(self.outcome))
        check_stamp(self.received_at, "received_at")
        if not re.fullmatch(r"[0-9a-f]{64}", self.digest):
            msg = f"message {self.id}: digest is not a hex SHA-256"
            raise ValidationError(msg)


@dataclass(frozen=True, slots=True, kw_only=True)
class PeerStatus:
    """Delivery to one peer at a glance."""

    peer: str
    pending: int
    pending_by_rank: tuple[int, int, int, int]
    delivered: int
    refused: int
    sent: int
    oldest_pending: str | None
    next_attempt_at: str | None
    last_error: str | None
    last_receipt_at: str | None
    attempts: int = 0  # the most failed attempts of any pending item


class FederationStore(Protocol):
    """Peers, outbox, receipts and seen messages; never commits (the service does)."""

    def add_peer(self, peer: PinnedPeer) -> None:
        """Pin a new peer; ``ValidationError`` if the party is pinned already."""
        ...

    def replace_peer(self, peer: PinnedPeer) -> None:
        """Replace a pinned peer's URL and descriptor (a rotation); ``UnknownReferenceError`` if absent."""
        ...

    def get_peer(self, party: str) -> PinnedPeer | None:
        """The pinned peer of ``party``, or ``None``."""
        ...

    def peers(self) -> Sequence[PinnedPeer]:
        """Every pinned peer, by party."""
        ...

    def remove_peer(self, party: str) -> bool:
        """Unpin ``party``; whether it was pinned. Its outbox and receipts stay."""
        ...

    def enqueue(self, item: OutboxItem) -> OutboxItem:
        """Queue an item; the stored item (with its ``seq``). ``ValidationError`` on a duplicate id."""
        ...

    def item(self, item_id: str) -> OutboxItem | None:
        """The outbox item with this envelope id, or ``None``."""
        ...

    def pending(self, peer: str, *, due_at: str | None = None, limit: int = 1000) -> Sequence[OutboxItem]:
        """Pending items for ``peer`` (due by ``due_at`` if given), FLASH first, then in the order queued."""
        ...

    def created_since(self, peer: str, since: str, *, limit: int = 1000) -> Sequence[OutboxItem]:
        """Every item for ``peer`` queued at or after ``since``, in sending order, whatever its state."""
        ...

    def record_attempt(self, item_id: str, *, next_attempt_at: str, error: str | None) -> None:
        """Count one more attempt and set when to try again."""
        ...

    def settle(self, item_id: str, state: OutboxState, *, at: str) -> None:
        """Mark an item sent, delivered or refused."""
        ...

    def reopen(self, item_id: str, *, at: str) -> None:
        """Put a sent item back to pending (its peer did not get it)."""
        ...

    def statuses(self) -> Sequence[PeerStatus]:
        """Delivery status of every peer with an outbox item or a pinned descriptor."""
        ...

    def add_receipt(self, receipt: Receipt) -> bool:
        """Keep a receipt; ``False`` (nothing stored) if one for that message is kept already."""
        ...

    def receipt_for(self, message_id: str) -> Receipt | None:
        """The receipt kept for the message this node sent, or ``None``."""
        ...

    def seen(self, message_id: str) -> SeenMessage | None:
        """The accepted message with this id, or ``None``."""
        ...

    def add_seen(self, message: SeenMessage) -> None:
        """Remember an accepted message; ``ValidationError`` if its id is known."""
        ...
