"""Federation: pinned peers, the outbox, receipts and seen messages.

Creates ``peers`` (each pinned peer's descriptor, key history included), ``outbox``
(one row per envelope to send, with its precedence rank, attempts and next attempt),
``receipts`` (the signed receipts peers returned: proof of delivery) and
``seen_messages`` (ids of accepted messages, for replay and idempotence, with the
receipt answered). Downgrading drops these four tables and everything in them;
everything else is left as it was.

This file is a frozen copy on purpose: later changes come with a new revision.

Revision ID: 5d8f2a61c0b7
Revises: c4e1a7d2b9f3
Create Date: 2026-11-22 23:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5d8f2a61c0b7"
down_revision: str | None = "c4e1a7d2b9f3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PARTY = sa.String(length=16)
_HEX64 = sa.String(length=64)
_TYPE = sa.String(length=32)
_OUTCOMES = "'accepted', 'refused'"
_TABLES = ("peers", "outbox", "receipts", "seen_messages")


def upgrade() -> None:
    op.create_table(
        "peers",
        sa.Column("party", _PARTY, nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("descriptor", sa.LargeBinary(), nullable=False),
        sa.Column("fingerprint", _HEX64, nullable=False),
        sa.Column("pinned_at", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("party", name=op.f("pk_peers")),
    )
    op.create_table(
        "outbox",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("peer", _PARTY, nullable=False),
        sa.Column("type", _TYPE, nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("envelope", sa.LargeBinary(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.Text(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.Text(), nullable=False),
        sa.Column("settled_at", sa.Text(), nullable=True),
        sa.Column("release_id", sa.Text(), nullable=True),
        sa.CheckConstraint("rank >= 0 AND rank <= 3", name=op.f("ck_outbox_rank_known")),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_outbox_attempts_not_negative")),
        sa.CheckConstraint("state IN ('pending', 'sent', 'delivered', 'refused')", name=op.f("ck_outbox_state_known")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_outbox")),
        sa.UniqueConstraint("id", name=op.f("uq_outbox_id")),
    )
    op.create_index("ix_outbox_peer_state_rank_seq", "outbox", ["peer", "state", "rank", "seq"])
    op.create_index(op.f("ix_outbox_release_id"), "outbox", ["release_id"])
    op.create_table(
        "receipts",
        sa.Column("message_id", sa.Text(), nullable=False),
        sa.Column("peer", _PARTY, nullable=False),
        sa.Column("receipt_id", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("envelope", sa.LargeBinary(), nullable=False),
        sa.Column("received_at", sa.Text(), nullable=False),
        sa.CheckConstraint(f"outcome IN ({_OUTCOMES})", name=op.f("ck_receipts_outcome_known")),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_receipts")),
    )
    op.create_table(
        "seen_messages",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("sender", _PARTY, nullable=False),
        sa.Column("type", _TYPE, nullable=False),
        sa.Column("digest", _HEX64, nullable=False),
        sa.Column("received_at", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("receipt", sa.LargeBinary(), nullable=True),
        sa.CheckConstraint(f"outcome IN ({_OUTCOMES})", name=op.f("ck_seen_messages_outcome_known")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seen_messages")),
    )


def downgrade() -> None:
    for name in reversed(_TABLES):
        op.drop_table(name)
