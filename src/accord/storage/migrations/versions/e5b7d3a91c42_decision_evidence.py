"""A decision's evidence is stored once per shape: ``decision_evidence`` and ``releases.evidence``.

Creates ``decision_evidence`` (the canonical JSON of a decision with its record id
replaced by a fixed mark, keyed by its SHA-256) and adds the nullable
``releases.evidence`` naming it; such a release keeps an empty ``decision`` and its
decision is rebuilt with the row's record id. Rows written before keep their decision
in place. Downgrading writes every shared decision back into its release row, then
drops the column and the table: nothing is lost either way.

This file is a frozen copy on purpose: later changes come with a new revision.

Revision ID: e5b7d3a91c42
Revises: e5b2d8f1a6c4
Create Date: 2026-11-26 09:00:00
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e5b7d3a91c42"
down_revision: str | None = "e5b2d8f1a6c4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_HEX64 = sa.String(length=64)
_MARK = b'"accord:evidence:record-id"'  # EVIDENCE_RECORD_MARK's JSON, as of this revision


def upgrade() -> None:
    op.create_table(
        "decision_evidence",
        sa.Column("digest", _HEX64, nullable=False),
        sa.Column("evidence", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_decision_evidence")),
    )
    op.add_column("releases", sa.Column("evidence", _HEX64, nullable=True))


def downgrade() -> None:
    bind = op.get_bind()
    shared = bind.execute(
        sa.text(
            "SELECT r.id, r.record_id, e.evidence FROM releases r "
            "JOIN decision_evidence e ON e.digest = r.evidence WHERE r.evidence IS NOT NULL"
        )
    ).all()
    for release_id, record_id, evidence in shared:
        record = json.dumps(record_id, ensure_ascii=False, separators=(",", ":")).encode()
        bind.execute(
            sa.text("UPDATE releases SET decision = :decision WHERE id = :id"),
            {"decision": bytes(evidence).replace(_MARK, record), "id": release_id},
        )
    with op.batch_alter_table("releases", recreate="never") as batch:
        batch.drop_column("evidence")
    op.drop_table("decision_evidence")
