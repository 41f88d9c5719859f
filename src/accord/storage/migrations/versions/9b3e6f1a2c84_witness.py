"""Checkpoint witnessing: witnessed heads, alarms and cosignatures.

Creates ``witness_heads`` (per peer, the last audit tree head this node accepted and
co-signed, with the peer's signature), ``witness_alarms`` (a peer's log found not to
extend what it showed before, with both signed heads as evidence, open until
resolved) and ``cosignatures`` (peers' signatures over this node's own heads).
Downgrading drops these three tables and everything in them; everything else is
left as it was.

This file is a frozen copy on purpose: later changes come with a new revision.

Revision ID: 9b3e6f1a2c84
Revises: e5b7d3a91c42
Create Date: 2026-11-23 00:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9b3e6f1a2c84"
down_revision: str | None = "e5b7d3a91c42"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PARTY = sa.String(length=16)
_HEX64 = sa.String(length=64)
_TABLES = ("witness_heads", "witness_alarms", "cosignatures")


def upgrade() -> None:
    op.create_table(
        "witness_heads",
        sa.Column("peer", _PARTY, nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("root", _HEX64, nullable=False),
        sa.Column("checkpoint_at", sa.Text(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("message_id", sa.Text(), nullable=False),
        sa.Column("received_at", sa.Text(), nullable=False),
        sa.CheckConstraint("size >= 0", name=op.f("ck_witness_heads_size_not_negative")),
        sa.PrimaryKeyConstraint("peer", name=op.f("pk_witness_heads")),
    )
    op.create_table(
        "witness_alarms",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("peer", _PARTY, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("seen_size", sa.Integer(), nullable=False),
        sa.Column("claimed_size", sa.Integer(), nullable=False),
        sa.Column("evidence", sa.LargeBinary(), nullable=False),
        sa.Column("message_id", sa.Text(), nullable=False),
        sa.Column("raised_at", sa.Text(), nullable=False),
        sa.Column("resolved_at", sa.Text(), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('shrank', 'forked', 'inconsistent', 'unproven')", name=op.f("ck_witness_alarms_kind_known")
        ),
        sa.CheckConstraint(
            "(resolved_at IS NULL) = (resolution IS NULL)", name=op.f("ck_witness_alarms_resolved_with_note")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_witness_alarms")),
    )
    op.create_index("ix_witness_alarms_peer_resolved_at", "witness_alarms", ["peer", "resolved_at"])
    op.create_table(
        "cosignatures",
        sa.Column("witness", _PARTY, nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("root", _HEX64, nullable=False),
        sa.Column("checkpoint_at", sa.Text(), nullable=False),
        sa.Column("cosigned_at", sa.Text(), nullable=False),
        sa.Column("cosignature", sa.LargeBinary(), nullable=False),
        sa.Column("message_id", sa.Text(), nullable=False),
        sa.Column("received_at", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("witness", "size", name=op.f("pk_cosignatures")),
    )


def downgrade() -> None:
    for name in reversed(_TABLES):
        op.drop_table(name)
