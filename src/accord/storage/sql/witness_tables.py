"""The SQL schema of checkpoint witnessing: witnessed heads, alarms and cosignatures.

Declared on the registry's ``metadata`` like the node tables (``node_tables`` lists
these in ``NODE_TABLES``). Peers are plain party codes, not foreign keys: unpinning a
peer must not erase the evidence of an alarm or the cosignatures that prove others
saw this node's log. Signatures and evidence are kept as the exact bytes received.
Only portable types (ADR 0003).
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import CheckConstraint, Column, Index, Integer, LargeBinary, String, Table, Text

from accord.federation.witness import AlarmKind
from accord.storage.sql.tables import FINGERPRINT, PARTY_CODE, _one_of, metadata

__all__ = ["WITNESS_TABLES", "cosignatures", "witness_alarms", "witness_heads"]

witness_heads = Table(
    "witness_heads",
    metadata,
    # One row per peer: the last head this node accepted and co-signed from it.
    Column("peer", String(PARTY_CODE), primary_key=True),
    Column("size", Integer, nullable=False),
    Column("root", String(FINGERPRINT), nullable=False),
    Column("checkpoint_at", Text, nullable=False),
    Column("signature", LargeBinary, nullable=False),  # the peer's, over the head
    Column("message_id", Text, nullable=False),
    Column("received_at", Text, nullable=False),
    CheckConstraint("size >= 0", name="size_not_negative"),
)

witness_alarms = Table(
    "witness_alarms",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("peer", String(PARTY_CODE), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("seen_size", Integer, nullable=False),
    Column("claimed_size", Integer, nullable=False),
    Column("evidence", LargeBinary, nullable=False),  # both signed heads: proof of what the peer showed
    Column("message_id", Text, nullable=False),
    Column("raised_at", Text, nullable=False),
    Column("resolved_at", Text, nullable=True),  # NULL while the alarm is open
    Column("resolution", Text, nullable=True),
    _one_of("kind", AlarmKind, "kind_known"),
    # A resolution comes with its time, and only with it.
    CheckConstraint("(resolved_at IS NULL) = (resolution IS NULL)", name="resolved_with_note"),
    # What status reads: the open alarms, per peer.
    Index("ix_witness_alarms_peer_resolved_at", "peer", "resolved_at"),
)

cosignatures = Table(
    "cosignatures",
    metadata,
    # One cosignature per witness and size of this node's log: the first kept stays.
    Column("witness", String(PARTY_CODE), primary_key=True),
    Column("size", Integer, primary_key=True),
    Column("root", String(FINGERPRINT), nullable=False),
    Column("checkpoint_at", Text, nullable=False),
    Column("cosigned_at", Text, nullable=False),
    Column("cosignature", LargeBinary, nullable=False),  # the witness's signed statement, whole
    Column("message_id", Text, nullable=False),
    Column("received_at", Text, nullable=False),
)

WITNESS_TABLES: Final[tuple[Table, ...]] = (witness_heads, witness_alarms, cosignatures)
"""The witnessing tables (one revision)."""
