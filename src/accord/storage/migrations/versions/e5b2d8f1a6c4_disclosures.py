"""Disclosure requests, and records that remember their author.

Adds the nullable ``records.author`` (the id of the person who wrote the record;
records made before this revision keep ``NULL``, and any disclosure officer may decide
requests about them) and creates ``disclosure_requests`` (a release, consent, recall
or compromise report asked for by one person and approved or rejected by another).
Downgrading drops the table, the requests and their decisions with it (the audit log
keeps them), and the author column; records stay as they were otherwise.

This file is a frozen copy on purpose: later changes come with a new revision.

Revision ID: e5b2d8f1a6c4
Revises: 5d8f2a61c0b7
Create Date: 2026-11-26 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e5b2d8f1a6c4"
down_revision: str | None = "5d8f2a61c0b7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KINDS = "'release', 'consent', 'recall', 'compromise-report'"
_STATES = "'pending', 'approved', 'rejected', 'withdrawn'"


def upgrade() -> None:
    # Nullable and without a CHECK: SQLite adds such a column in place (no table copy).
    op.add_column("records", sa.Column("author", sa.Text(), nullable=True))
    op.create_table(
        "disclosure_requests",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("record_id", sa.Text(), nullable=True),
        sa.Column("party", sa.String(length=16), nullable=True),
        sa.Column("on_date", sa.Date(), nullable=True),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("requester", sa.Text(), nullable=False),
        sa.Column("requested_at", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("decider", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.CheckConstraint(f"kind IN ({_KINDS})", name=op.f("ck_disclosure_requests_kind_known")),
        sa.CheckConstraint(f"state IN ({_STATES})", name=op.f("ck_disclosure_requests_state_known")),
        sa.CheckConstraint(
            "(state = 'pending') = (decider IS NULL) AND (state = 'pending') = (decided_at IS NULL)",
            name=op.f("ck_disclosure_requests_decided_has_decider"),
        ),
        sa.CheckConstraint(
            "state <> 'rejected' OR reason <> ''", name=op.f("ck_disclosure_requests_rejection_has_reason")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disclosure_requests")),
    )
    op.create_index(op.f("ix_disclosure_requests_record_id"), "disclosure_requests", ["record_id"])
    op.create_index(
        op.f("ix_disclosure_requests_state_requested_at_id"), "disclosure_requests", ["state", "requested_at", "id"]
    )
    op.create_index(op.f("ix_disclosure_requests_requested_at_id"), "disclosure_requests", ["requested_at", "id"])


def downgrade() -> None:
    op.drop_table("disclosure_requests")
    # SQLite (3.35+) drops a column without a CHECK, index or key in place.
    op.drop_column("records", "author")
