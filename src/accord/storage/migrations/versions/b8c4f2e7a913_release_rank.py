"""The sending order of outgoing releases: ``releases.rank`` and its index.

Adds the nullable ``releases.rank`` (the outbox rank of the release's record's
precedence: 0 FLASH, 1 IMMEDIATE, 2 PRIORITY, 3 ROUTINE, and 3 when the record is gone),
fills it in for every release already stored, and indexes ``(sender, state, rank,
seq)`` so that the outbox sweep reads the most urgent sealed releases from the index.
Downgrading drops the index and the column; the precedence stays on the records.

This file is a frozen copy on purpose: later changes come with a new revision.

Revision ID: b8c4f2e7a913
Revises: 9b3e6f1a2c84
Create Date: 2026-11-23 05:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b8c4f2e7a913"
down_revision: str | None = "9b3e6f1a2c84"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEX = "ix_releases_sender_state_rank_seq"
_RANK = (
    "COALESCE((SELECT CASE records.precedence WHEN 'FLASH' THEN 0 WHEN 'IMMEDIATE' THEN 1 "
    "WHEN 'PRIORITY' THEN 2 ELSE 3 END FROM records WHERE records.id = releases.record_id), 3)"
)


def upgrade() -> None:
    op.add_column("releases", sa.Column("rank", sa.Integer(), nullable=True))
    op.execute(f"UPDATE releases SET rank = {_RANK}")  # noqa: S608 - a constant expression
    op.create_index(_INDEX, "releases", ["sender", "state", "rank", "seq"])


def downgrade() -> None:
    op.drop_index(_INDEX, table_name="releases")
    with op.batch_alter_table("releases", recreate="never") as batch:
        batch.drop_column("rank")
