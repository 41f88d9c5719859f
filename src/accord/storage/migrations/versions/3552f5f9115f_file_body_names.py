"""A file body keeps its original file name: ``record_bodies.name``.

Adds the nullable ``name`` column and the CHECK that only file bodies carry one. Rows
written before this revision keep ``NULL`` (the name was not recorded; readers fall
back to a name made from the portion id). Downgrading drops the column and the
names with it; bodies stay readable. On SQLite the CHECK needs the table copied
(batch mode); PostgreSQL alters it in place.

Revision ID: 3552f5f9115f
Revises: 7ae30b2c1d27
Create Date: 2026-11-24 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3552f5f9115f"
down_revision: str | None = "7ae30b2c1d27"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CHECK = "ck_record_bodies_name_only_for_files"  # the naming convention's name


def upgrade() -> None:
    with op.batch_alter_table("record_bodies") as batch:
        batch.add_column(sa.Column("name", sa.Text(), nullable=True))
        batch.create_check_constraint(op.f(_CHECK), "kind = 'file' OR name IS NULL")


def downgrade() -> None:
    with op.batch_alter_table("record_bodies") as batch:
        batch.drop_constraint(op.f(_CHECK), type_="check")
        batch.drop_column("name")
