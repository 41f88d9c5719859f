"""The SQL schema of federation: pinned peers, the outbox, receipts and seen messages.

Declared on the registry's ``metadata`` like the node tables (``node_tables`` lists
these in ``NODE_TABLES``). Peer references are plain party codes, not foreign keys:
unpinning a peer must not erase the outbox or the receipts that prove delivery.
Envelopes are kept as the exact bytes sent or received (sealed: no plaintext).
Only portable types (ADR 0003).
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import CheckConstraint, Column, Index, Integer, LargeBinary, String, Table, Text

from accord.storage.federation import OutboxState, ReceiptOutcome
from accord.storage.sql.tables import FINGERPRINT, PARTY_CODE, _one_of, metadata

__all__ = ["FEDERATION_TABLES", "outbox", "peers", "receipts", "seen_messages"]

_TYPE: Final = 32  # a message type name

peers = Table(
    "peers",
    metadata,
    Column("party", String(PARTY_CODE), primary_key=True),
    Column("url", Text, nullable=False),  # empty for a peer reached by bundles only
    Column("descriptor", LargeBinary, nullable=False),  # canonical JSON, key history included
    Column("fingerprint", String(FINGERPRINT), nullable=False),  # of the current keys
    Column("pinned_at", Text, nullable=False),
    Column("updated_at", Text, nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    # The order queued: first queued, first sent within one precedence.
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", Text, nullable=False, unique=True),  # the envelope's id
    Column("peer", String(PARTY_CODE), nullable=False),
    Column("type", String(_TYPE), nullable=False),
    Column("rank", Integer, nullable=False),  # 0 FLASH, 1 IMMEDIATE, 2 PRIORITY, 3 ROUTINE
    Column("envelope", LargeBinary, nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", Text, nullable=False),
    Column("last_error", Text, nullable=True),
    Column("created_at", Text, nullable=False),
    Column("settled_at", Text, nullable=True),
    Column("release_id", Text, nullable=True, index=True),
    CheckConstraint("rank >= 0 AND rank <= 3", name="rank_known"),
    CheckConstraint("attempts >= 0", name="attempts_not_negative"),
    _one_of("state", OutboxState, "state_known"),
    # What the sender reads most: the due items of one peer, in sending order.
    Index("ix_outbox_peer_state_rank_seq", "peer", "state", "rank", "seq"),
)

receipts = Table(
    "receipts",
    metadata,
    # One receipt per message sent: the first kept is the proof of delivery.
    Column("message_id", Text, primary_key=True),
    Column("peer", String(PARTY_CODE), nullable=False),
    Column("receipt_id", Text, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("envelope", LargeBinary, nullable=False),  # the signed receipt as received
    Column("received_at", Text, nullable=False),
    _one_of("outcome", ReceiptOutcome, "outcome_known"),
)

seen_messages = Table(
    "seen_messages",
    metadata,
    # Replay and idempotence: a message id accepted once is never handled again.
    Column("id", Text, primary_key=True),
    Column("sender", String(PARTY_CODE), nullable=False),
    Column("type", String(_TYPE), nullable=False),
    Column("digest", String(FINGERPRINT), nullable=False),  # of the envelope's bytes
    Column("received_at", Text, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("receipt", LargeBinary, nullable=True),  # the receipt answered, sent again on a duplicate
    _one_of("outcome", ReceiptOutcome, "outcome_known"),
)

FEDERATION_TABLES: Final[tuple[Table, ...]] = (peers, outbox, receipts, seen_messages)
"""The federation tables (one revision), parents before children."""
