"""The sender's side of a batch of receipts: each kept, its item settled, its release moved, in a few statements.

:func:`settle_many` is :func:`accord.services.outbox.apply_receipt` for the receipts of
one delivered batch, already verified (``read_receipt``); it does not verify
signatures, send anything or append the audit entries (it returns them for the
caller's one ``append_many``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Sequence

from sqlalchemy.orm import Session

from accord.audit.entry import AuditEntry, EntryKind
from accord.federation.messages import Envelope, MessageType
from accord.services import audit
from accord.storage.federation import OutboxItem, OutboxState, Receipt, ReceiptOutcome, stamp
from accord.storage.sql import SqlFederationStore, SqlReleaseStore
from accord.storage.values import ReleaseState

__all__ = ["settle_many"]


def settle_many(
    session: Session, receipts: Sequence[tuple[Envelope, bytes]], *, at: dt.datetime
) -> tuple[list[tuple[OutboxItem, ReceiptOutcome]], list[Callable[[int], AuditEntry]]]:
    """:func:`~accord.services.outbox.apply_receipt` for a batch of verified receipts, in a few statements.

    A receipt that answers nothing sent, names another digest or an unknown outcome is
    skipped (nothing stored for it). Returns what each kept receipt answered, and the
    audit entries for the caller to append.
    """
    store = SqlFederationStore(session)
    items = store.items([of for r, _ in receipts if isinstance(of := r.body.get("of"), str)])
    checked: list[tuple[Envelope, bytes, OutboxItem, ReceiptOutcome]] = []
    for receipt, data in receipts:
        item = items.get(of) if isinstance(of := receipt.body.get("of"), str) else None
        if item is None or item.peer != receipt.sender or item.type == MessageType.RECEIPT.value:
            continue
        if receipt.body.get("digest") != hashlib.sha256(item.envelope).hexdigest():
            continue
        try:
            checked.append((receipt, data, item, ReceiptOutcome(str(receipt.body.get("outcome")))))
        except ValueError:
            continue
    when = stamp(at)
    kept = store.add_receipts(
        [
            Receipt(
                message_id=item.id, peer=r.sender, receipt_id=r.id, outcome=outcome, envelope=data, received_at=when
            )
            for r, data, item, outcome in checked
        ]
    )
    moves: dict[ReceiptOutcome, list[OutboxItem]] = {ReceiptOutcome.ACCEPTED: [], ReceiptOutcome.REFUSED: []}
    entries = []
    for (receipt, data, item, outcome), new in zip(checked, kept, strict=True):
        if not new or item.state is not OutboxState.PENDING:
            continue
        moves.setdefault(outcome, []).append(item)
        entries.append(
            audit.entry(
                kind=EntryKind.RECEIPT,
                actor=receipt.recipient,
                at=at,
                subjects=(item.release_id,) if item.release_id else (),
                digests={
                    "receipt": hashlib.sha256(data).hexdigest(),
                    "message": hashlib.sha256(item.envelope).hexdigest(),
                },
                meta={
                    "action": "delivery.receipt",
                    "outcome": outcome.value,
                    "peer": receipt.sender,
                    "message": item.id,
                },
            )
        )
    for outcome, moved in moves.items():
        delivered = outcome is ReceiptOutcome.ACCEPTED
        store.settle_many([i.id for i in moved], OutboxState.DELIVERED if delivered else OutboxState.REFUSED, at=when)
        SqlReleaseStore(session).set_states(
            [i.release_id for i in moved if i.release_id is not None],
            ReleaseState.DELIVERED if delivered else ReleaseState.REFUSED,
            at=audit.iso(at),
        )
    return [(item, outcome) for _, _, item, outcome in checked], entries
