"""Federation in SQL: :class:`SqlFederationStore` (peers, outbox, receipts, seen messages).

Rows map to the values of :mod:`accord.storage.federation`; a row that no longer
reads back is a ``StorageError``. Duplicate ids are refused before writing and, when
another transaction wins the race, by the primary key inside a savepoint (the caller's
transaction stays usable). The outbox is read in sending order: precedence rank,
then the order queued. Nothing here commits, signs or reads the clock.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import ColumnElement, RowMapping, delete, func, insert, select, update
from sqlalchemy.orm import Session

from accord.errors import Error
from accord.storage import _rules as rules
from accord.storage.federation import (
    OutboxItem,
    OutboxState,
    PeerStatus,
    PinnedPeer,
    Receipt,
    SeenMessage,
    check_stamp,
)
from accord.storage.sql import federation_tables as ft
from accord.storage.sql._rows import racing, rowcount, unreadable
from accord.storage.values import check_page

__all__ = ["SqlFederationStore"]

_IDS_PER_QUERY = 500  # well under every driver's limit on bound parameters


class SqlFederationStore:
    """The federation tables through the caller's session."""

    def __init__(self, session: Session) -> None:
        """Use ``session``; its owner commits or rolls back."""
        self._session = session

    # -- peers ------------------------------------------------------------------------

    def add_peer(self, peer: PinnedPeer) -> None:
        """Pin a new peer."""

        def check() -> None:
            if self.get_peer(peer.party) is not None:
                rules.refuse_duplicate("peer", peer.party)

        check()
        with racing(self._session, check):
            self._session.execute(insert(ft.peers).values(**_peer_row(peer)))

    def replace_peer(self, peer: PinnedPeer) -> None:
        """Replace a pinned peer's URL and descriptor."""
        row = _peer_row(peer)
        del row["pinned_at"]
        statement = update(ft.peers).where(ft.peers.c.party == peer.party).values(**row)
        if rowcount(self._session, statement) == 0:
            rules.known(None, "peer", peer.party)

    def get_peer(self, party: str) -> PinnedPeer | None:
        """The pinned peer, or ``None``."""
        row = self._session.execute(select(ft.peers).where(ft.peers.c.party == party)).mappings().first()
        return None if row is None else _peer(row)

    def peers(self) -> Sequence[PinnedPeer]:
        """Every pinned peer by party."""
        rows = self._session.execute(select(ft.peers).order_by(ft.peers.c.party)).mappings().all()
        return [_peer(row) for row in rows]

    def remove_peer(self, party: str) -> bool:
        """Unpin a peer; its outbox and receipts stay."""
        result = self._session.execute(delete(ft.peers).where(ft.peers.c.party == party))
        return bool(getattr(result, "rowcount", 0))

    # -- outbox -----------------------------------------------------------------------

    def enqueue(self, item: OutboxItem) -> OutboxItem:
        """Queue an item; the stored item with its ``seq``."""

        def check() -> None:
            if self.item(item.id) is not None:
                rules.refuse_duplicate("outbox item", item.id)

        check()
        row = _outbox_row(item)
        with racing(self._session, check):
            seq = self._session.execute(insert(ft.outbox).values(**row).returning(ft.outbox.c.seq)).scalar_one()
        return _replace_seq(item, int(seq))

    def enqueue_many(self, items: Sequence[OutboxItem]) -> None:
        """Queue items, all or none (the batch form of :meth:`enqueue`)."""
        if not items:
            return

        def check() -> None:
            _refuse_repeated("outbox item", [i.id for i in items], self.items)

        check()
        rows = [_outbox_row(item) for item in items]
        with racing(self._session, check):
            self._session.execute(insert(ft.outbox), rows)

    def items(self, item_ids: Collection[str]) -> dict[str, OutboxItem]:
        """The items among these envelope ids, by id."""
        wanted, found = sorted(set(item_ids)), dict[str, OutboxItem]()
        for start in range(0, len(wanted), _IDS_PER_QUERY):
            batch = wanted[start : start + _IDS_PER_QUERY]
            found.update((i.id, i) for i in self._items([ft.outbox.c.id.in_(batch)], limit=len(batch)))
        return found

    def settle_many(self, item_ids: Collection[str], state: OutboxState, *, at: str) -> None:
        """Mark items sent, delivered or refused (the batch form of :meth:`settle`)."""
        check_stamp(at, "at")
        wanted = sorted(set(item_ids))
        for start in range(0, len(wanted), _IDS_PER_QUERY):
            batch = wanted[start : start + _IDS_PER_QUERY]
            statement = (
                update(ft.outbox).where(ft.outbox.c.id.in_(batch)).values(state=OutboxState(state).value, settled_at=at)
            )
            if rowcount(self._session, statement) != len(batch):
                missing = set(batch) - set(self.items(batch))
                rules.known(None, "outbox item", min(missing) if missing else batch[0])

    def item(self, item_id: str) -> OutboxItem | None:
        """The item with this envelope id, or ``None``."""
        found = self._items([ft.outbox.c.id == item_id], limit=1)
        return found[0] if found else None

    def pending(
        self, peer: str, *, due_at: str | None = None, limit: int = 1000, ranks: range | None = None
    ) -> Sequence[OutboxItem]:
        """Pending items for ``peer``, in sending order; only those of ``ranks`` (0 FLASH … 3 ROUTINE) if given."""
        check_page(limit)
        check_stamp(due_at, "due_at")
        o = ft.outbox.c
        where = [o.peer == peer, o.state == OutboxState.PENDING.value]
        if due_at is not None:
            where.append(o.next_attempt_at <= due_at)
        if ranks is not None:
            where.extend([o.rank >= ranks.start, o.rank < ranks.stop])
        return self._items(where, limit=limit)

    def created_since(self, peer: str, since: str, *, limit: int = 1000) -> Sequence[OutboxItem]:
        """Every item for ``peer`` queued at or after ``since``, in sending order."""
        check_page(limit)
        check_stamp(since, "since")
        o = ft.outbox.c
        return self._items([o.peer == peer, o.created_at >= since], limit=limit)

    def _items(self, where: Sequence[ColumnElement[bool]], *, limit: int) -> list[OutboxItem]:
        o = ft.outbox.c
        query = select(ft.outbox).where(*where).order_by(o.rank, o.seq).limit(limit)
        return [_item(row) for row in self._session.execute(query).mappings().all()]

    def record_attempt(self, item_id: str, *, next_attempt_at: str, error: str | None) -> None:
        """One more attempt; when to try again."""
        check_stamp(next_attempt_at, "next_attempt_at")
        o = ft.outbox
        statement = (
            update(o)
            .where(o.c.id == item_id)
            .values(attempts=o.c.attempts + 1, next_attempt_at=next_attempt_at, last_error=error)
        )
        if rowcount(self._session, statement) == 0:
            rules.known(None, "outbox item", item_id)

    def settle(self, item_id: str, state: OutboxState, *, at: str) -> None:
        """Mark an item sent, delivered or refused."""
        check_stamp(at, "at")
        self._set(item_id, state=OutboxState(state).value, settled_at=at)

    def reopen(self, item_id: str, *, at: str) -> None:
        """Put an item back to pending, due at once."""
        check_stamp(at, "at")
        self._set(item_id, state=OutboxState.PENDING.value, settled_at=None, next_attempt_at=at)

    def _set(self, item_id: str, **values: Any) -> None:  # noqa: ANN401 - column values
        statement = update(ft.outbox).where(ft.outbox.c.id == item_id).values(**values)
        if rowcount(self._session, statement) == 0:
            rules.known(None, "outbox item", item_id)

    def statuses(self) -> Sequence[PeerStatus]:
        """Delivery status per peer (pinned or with outbox items)."""
        o = ft.outbox.c
        counts: dict[str, dict[str, Any]] = {p.party: {} for p in self.peers()}
        grouped = select(o.peer, o.state, o.rank, func.count(), func.min(o.created_at), func.min(o.next_attempt_at))
        for peer, state, rank, count, oldest, due in self._session.execute(
            grouped.group_by(o.peer, o.state, o.rank)
        ).all():
            entry = counts.setdefault(peer, {})
            entry[f"{state}:{rank}"] = (int(count), oldest, due)
        failing = self._session.execute(
            select(o.peer, func.max(o.last_error), func.max(o.attempts))
            .where(o.state == OutboxState.PENDING.value)
            .group_by(o.peer)
        ).all()
        last_errors = {peer: error for peer, error, _ in failing}
        attempts = {peer: int(most or 0) for peer, _, most in failing}
        r = ft.receipts.c
        last_receipts = dict(self._session.execute(select(r.peer, func.max(r.received_at)).group_by(r.peer)).all())
        return [
            _status(peer, entry, last_errors.get(peer), last_receipts.get(peer), attempts.get(peer, 0))
            for peer, entry in sorted(counts.items())
        ]

    # -- receipts and seen messages ---------------------------------------------------------

    def add_receipt(self, receipt: Receipt) -> bool:
        """Keep a receipt unless one for that message is kept already."""
        if self.receipt_for(receipt.message_id) is not None:
            return False
        row = {
            "message_id": receipt.message_id,
            "peer": receipt.peer,
            "receipt_id": receipt.receipt_id,
            "outcome": receipt.outcome.value,
            "envelope": receipt.envelope,
            "received_at": receipt.received_at,
        }

        def check() -> None:
            if self.receipt_for(receipt.message_id) is not None:
                rules.refuse_duplicate("receipt for message", receipt.message_id)

        with racing(self._session, check):
            self._session.execute(insert(ft.receipts).values(**row))
        return True

    def add_receipts(self, receipts: Sequence[Receipt]) -> list[bool]:
        """Keep each receipt unless one for its message is kept already (or comes earlier here)."""
        wanted = sorted({r.message_id for r in receipts})
        kept: set[str] = set()
        for start in range(0, len(wanted), _IDS_PER_QUERY):
            query = select(ft.receipts.c.message_id).where(
                ft.receipts.c.message_id.in_(wanted[start : start + _IDS_PER_QUERY])
            )
            kept.update(str(x) for x in self._session.execute(query).scalars())
        added, rows = [], []
        for receipt in receipts:
            new = receipt.message_id not in kept
            added.append(new)
            if new:
                kept.add(receipt.message_id)
                rows.append(
                    {
                        "message_id": receipt.message_id,
                        "peer": receipt.peer,
                        "receipt_id": receipt.receipt_id,
                        "outcome": receipt.outcome.value,
                        "envelope": receipt.envelope,
                        "received_at": receipt.received_at,
                    }
                )
        if rows:

            def check() -> None:
                for receipt in receipts:
                    if self.receipt_for(receipt.message_id) is not None:
                        rules.refuse_duplicate("receipt for message", receipt.message_id)

            with racing(self._session, check):
                self._session.execute(insert(ft.receipts), rows)
        return added

    def receipt_for(self, message_id: str) -> Receipt | None:
        """The receipt kept for a message sent from here, or ``None``."""
        query = select(ft.receipts).where(ft.receipts.c.message_id == message_id)
        row = self._session.execute(query).mappings().first()
        if row is None:
            return None
        try:
            return Receipt(**dict(row))
        except (Error, ValueError) as e:
            unreadable("receipt for", message_id, e)

    def seen(self, message_id: str) -> SeenMessage | None:
        """The accepted message with this id, or ``None``."""
        row = self._session.execute(select(ft.seen_messages).where(ft.seen_messages.c.id == message_id)).mappings()
        found = row.first()
        if found is None:
            return None
        try:
            return SeenMessage(**dict(found))
        except (Error, ValueError) as e:
            unreadable("seen message", message_id, e)

    def add_seen(self, message: SeenMessage) -> None:
        """Remember an accepted message."""

        def check() -> None:
            if self.seen(message.id) is not None:
                rules.refuse_duplicate("message", message.id)

        check()
        with racing(self._session, check):
            self._session.execute(insert(ft.seen_messages).values(**_seen_row(message)))

    def seen_ids(self, message_ids: Collection[str]) -> set[str]:
        """Which of these message ids were accepted before."""
        wanted, found = sorted(set(message_ids)), set[str]()
        for start in range(0, len(wanted), _IDS_PER_QUERY):
            query = select(ft.seen_messages.c.id).where(
                ft.seen_messages.c.id.in_(wanted[start : start + _IDS_PER_QUERY])
            )
            found.update(str(x) for x in self._session.execute(query).scalars())
        return found

    def add_seen_many(self, messages: Sequence[SeenMessage]) -> None:
        """Remember accepted messages, all or none; a known id refuses the batch."""
        if not messages:
            return

        def check() -> None:
            _refuse_repeated("message", [m.id for m in messages], self.seen_ids)

        check()
        with racing(self._session, check):
            self._session.execute(insert(ft.seen_messages), [_seen_row(m) for m in messages])


def _refuse_repeated(what: str, ids: Sequence[str], stored: Callable[[Sequence[str]], Collection[str]]) -> None:
    """Refuse a batch that names an id twice, or an id ``stored`` already holds (the smallest is named)."""
    counts = Counter(ids)
    if repeated := [i for i, n in counts.items() if n > 1]:
        rules.refuse_duplicate(what, min(repeated))
    if known := stored(ids):
        rules.refuse_duplicate(what, min(known))


def _outbox_row(item: OutboxItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "peer": item.peer,
        "type": item.type,
        "rank": item.rank,
        "envelope": item.envelope,
        "state": item.state.value,
        "attempts": item.attempts,
        "next_attempt_at": item.next_attempt_at,
        "last_error": item.last_error,
        "created_at": item.created_at,
        "settled_at": item.settled_at,
        "release_id": item.release_id,
    }


def _seen_row(message: SeenMessage) -> dict[str, Any]:
    return {
        "id": message.id,
        "sender": message.sender,
        "type": message.type,
        "digest": message.digest,
        "received_at": message.received_at,
        "outcome": message.outcome.value,
        "receipt": message.receipt,
    }


def _peer_row(peer: PinnedPeer) -> dict[str, Any]:
    return {
        "party": peer.party,
        "url": peer.url,
        "descriptor": peer.descriptor,
        "fingerprint": peer.fingerprint,
        "pinned_at": peer.pinned_at,
        "updated_at": peer.updated_at,
    }


def _peer(row: RowMapping) -> PinnedPeer:
    try:
        return PinnedPeer(**dict(row))
    except (Error, ValueError) as e:
        unreadable("peer", str(row["party"]), e)


def _item(row: RowMapping) -> OutboxItem:
    try:
        return OutboxItem(**dict(row))
    except (Error, ValueError) as e:
        unreadable("outbox item", str(row["id"]), e)


def _replace_seq(item: OutboxItem, seq: int) -> OutboxItem:
    return replace(item, seq=seq)


def _status(
    peer: str, entry: dict[str, Any], last_error: str | None, last_receipt: str | None, attempts: int
) -> PeerStatus:
    def total(state: OutboxState) -> int:
        return sum(entry.get(f"{state.value}:{rank}", (0, None, None))[0] for rank in range(4))

    pending = [entry.get(f"{OutboxState.PENDING.value}:{rank}") for rank in range(4)]
    oldest = [p[1] for p in pending if p is not None]
    due = [p[2] for p in pending if p is not None]
    by_rank = tuple(p[0] if p is not None else 0 for p in pending)
    return PeerStatus(
        peer=peer,
        pending=total(OutboxState.PENDING),
        pending_by_rank=(by_rank[0], by_rank[1], by_rank[2], by_rank[3]),
        delivered=total(OutboxState.DELIVERED),
        refused=total(OutboxState.REFUSED),
        sent=total(OutboxState.SENT),
        oldest_pending=min(oldest) if oldest else None,
        next_attempt_at=min(due) if due else None,
        last_error=last_error,
        last_receipt_at=last_receipt,
        attempts=attempts,
    )
