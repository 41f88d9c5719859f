"""Delivery rules: precedence order, the retry schedule, batching, and the transport protocol.

FLASH goes ahead of everything, then IMMEDIATE, PRIORITY and ROUTINE; within one
precedence, first queued first sent. FLASH messages go one to a batch (nothing waits
behind them), the others in batches of one precedence. A failed attempt waits
``base * factor ** (attempts - 1)`` capped at ``cap``, less up to ``jitter`` of it
(the caller passes the random fraction, so the schedule is reproducible in tests).
A :class:`Transport` moves envelopes to a peer and returns the receipts it got back;
the HTTP one comes with the API, :class:`InProcessTransport` hands them to a receiver
in the same process. No clock, no database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Final, Protocol, TypeVar

from accord.domain.record import Precedence
from accord.errors import IntegrityError, PeerUnreachableError, ValidationError

__all__ = [
    "PRECEDENCE_RANK",
    "Backoff",
    "BatchReceiver",
    "InProcessTransport",
    "Transport",
    "batches",
    "rank",
]

PRECEDENCE_RANK: Final = {
    Precedence.FLASH: 0,
    Precedence.IMMEDIATE: 1,
    Precedence.PRIORITY: 2,
    Precedence.ROUTINE: 3,
}
"""The order messages leave in: the lower first."""

T = TypeVar("T")


def rank(precedence: Precedence) -> int:
    """The precedence's place in the sending order (0 for FLASH)."""
    return PRECEDENCE_RANK[Precedence(precedence)]


@dataclass(frozen=True, slots=True, kw_only=True)
class Backoff:
    """The retry schedule after failed attempts."""

    base: dt.timedelta = dt.timedelta(seconds=30)
    factor: float = 2.0
    cap: dt.timedelta = dt.timedelta(hours=1)
    jitter: float = 0.2  # the largest fraction of the wait taken off at random

    def __post_init__(self) -> None:
        """The schedule must grow and stay bounded."""
        if self.base <= dt.timedelta(0) or self.cap < self.base or self.factor < 1 or not 0 <= self.jitter < 1:
            msg = f"a retry schedule needs 0 < base <= cap, factor >= 1 and 0 <= jitter < 1, not {self}"
            raise ValidationError(msg)

    def delay(self, attempts: int, *, random: float = 0.0) -> dt.timedelta:
        """How long to wait after the ``attempts``-th failed attempt (``random`` in [0, 1))."""
        if attempts < 1:
            msg = f"attempts counts failed attempts, from 1, not {attempts}"
            raise ValidationError(msg)
        seconds = min(self.base.total_seconds() * self.factor ** min(attempts - 1, 64), self.cap.total_seconds())
        return dt.timedelta(seconds=seconds * (1 - self.jitter * min(max(random, 0.0), 1.0)))

    def next_attempt(self, at: dt.datetime, attempts: int, *, random: float = 0.0) -> dt.datetime:
        """When to try again after the ``attempts``-th failure at ``at``."""
        return at + self.delay(attempts, random=random)


def batches(items: Iterable[T], *, precedence: Callable[[T], Precedence], size: int) -> Iterator[list[T]]:
    """``items`` (already in sending order) cut into batches: FLASH alone, others by precedence.

    Raises:
        ValidationError: ``size`` is not positive.
    """
    if size < 1:
        msg = f"a batch holds at least one message, not {size}"
        raise ValidationError(msg)
    batch: list[T] = []
    for item in items:
        level = Precedence(precedence(item))
        if batch and (level is Precedence.FLASH or len(batch) >= size or precedence(batch[0]) != level):
            yield batch
            batch = []
        batch.append(item)
        if level is Precedence.FLASH:
            yield batch
            batch = []
    if batch:
        yield batch


class Transport(Protocol):
    """Moves envelopes to one peer; returns the receipt envelopes the peer answered with.

    :meth:`send` is the batch call: ``Outbox.deliver`` hands it one batch of one
    precedence at a time, and a transport sends it in one exchange where it can.
    Raises ``accord.errors.PeerUnreachableError`` when nothing could be delivered; a
    receipt missing for an envelope means that one was not delivered.
    """

    def send(self, peer: str, envelopes: Sequence[bytes]) -> Sequence[bytes]:
        """Deliver ``envelopes`` (each canonical JSON) to ``peer``; the receipts back."""
        ...


BatchReceiver = Callable[[Sequence[bytes]], Sequence[bytes | None]]
"""A receiver of a whole batch (``Inbound.accept_many``): one receipt or ``None`` per envelope."""


class InProcessTransport:
    """Delivery to receivers in this process: ``receivers[party](envelope) -> receipt``.

    For tests and single-process setups; a party missing from ``receivers`` (or set
    ``down``) is unreachable. A receiver that refuses an envelope (``IntegrityError``,
    the opaque refusal) returns no receipt for it, as an HTTP peer answers an error.
    A party in ``batch_receivers`` gets each batch in one call instead, as an HTTP
    peer gets one request per batch.
    """

    def __init__(
        self,
        receivers: dict[str, Callable[[bytes], bytes | None]],
        *,
        batch_receivers: dict[str, BatchReceiver] | None = None,
    ) -> None:
        """Deliver to the given receivers."""
        self.receivers = receivers
        self.batch_receivers = dict(batch_receivers or {})
        self.down: set[str] = set()
        self.sent: list[tuple[str, bytes]] = []

    def send(self, peer: str, envelopes: Sequence[bytes]) -> Sequence[bytes]:
        """Hand the batch to the peer's batch receiver, or each envelope to its receiver; the receipts."""
        batch_receiver = self.batch_receivers.get(peer)
        receiver = self.receivers.get(peer)
        if (receiver is None and batch_receiver is None) or peer in self.down:
            msg = f"peer {peer} is unreachable"
            raise PeerUnreachableError(msg)
        self.sent.extend((peer, envelope) for envelope in envelopes)
        if batch_receiver is not None:
            return [receipt for receipt in batch_receiver(envelopes) if receipt is not None]
        receipts = []
        for envelope in envelopes:
            try:
                receipt = receiver(envelope) if receiver is not None else None
            except IntegrityError:
                continue
            if receipt is not None:
                receipts.append(receipt)
        return receipts
