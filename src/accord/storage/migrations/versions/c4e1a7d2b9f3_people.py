"""People at the node: accounts with roles and need-to-know, API tokens, web sessions.

Creates ``people`` (Argon2 password hash, failed-login count, lock-out and lock),
``person_roles`` (CHECKed against the roles of this revision), ``person_topics``,
``api_tokens`` and ``web_sessions`` (SHA-256 digests of their secrets only) and
``people_guard`` (the one row the first administrator's creation inserts and role or
lock changes lock). Downgrading drops these tables, the accounts, tokens and sessions
with them; everything else is left as it was.

This file is a frozen copy on purpose: later changes to the people tables come with a
new revision, never an edit here.

Revision ID: c4e1a7d2b9f3
Revises: 3552f5f9115f
Create Date: 2026-11-25 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c4e1a7d2b9f3"
down_revision: str | None = "3552f5f9115f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_HEX64 = sa.String(length=64)
_ROLES = "'analyst', 'disclosure-officer', 'logistics-officer', 'security-officer', 'administrator'"

# Parents before children; downgrade drops them in the reverse order.
_TABLES = ("people", "person_roles", "person_topics", "api_tokens", "web_sessions", "people_guard")


def _person_key(table: str, *, cascade: bool = True) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["person_id"],
        ["people.id"],
        name=op.f(f"fk_{table}_person_id_people"),
        ondelete="CASCADE" if cascade else None,
    )


def upgrade() -> None:
    op.create_table(
        "people",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("party", sa.String(length=16), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("clearance", sa.Text(), nullable=True),
        sa.Column("password_hash", sa.Text(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_out_until", sa.Text(), nullable=True),
        sa.Column("locked", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.Text(), nullable=False),
        sa.CheckConstraint("failures >= 0", name=op.f("ck_people_failures_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people")),
    )
    op.create_table(
        "person_roles",
        sa.Column("person_id", sa.Text(), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.CheckConstraint(f"role IN ({_ROLES})", name=op.f("ck_person_roles_role_known")),
        _person_key("person_roles"),
        sa.PrimaryKeyConstraint("person_id", "role", name=op.f("pk_person_roles")),
    )
    op.create_index(op.f("ix_person_roles_role"), "person_roles", ["role"])
    op.create_table(
        "person_topics",
        sa.Column("person_id", sa.Text(), nullable=False),
        sa.Column("topic", sa.Text(), nullable=False),
        _person_key("person_topics"),
        sa.PrimaryKeyConstraint("person_id", "topic", name=op.f("pk_person_topics")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("person_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("digest", _HEX64, nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.Text(), nullable=False),
        sa.Column("revoked_at", sa.Text(), nullable=True),
        sa.CheckConstraint("length(digest) = 64", name=op.f("ck_api_tokens_digest_size")),
        sa.CheckConstraint("scopes <> ''", name=op.f("ck_api_tokens_scopes_not_empty")),
        _person_key("api_tokens", cascade=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
    )
    op.create_index(op.f("ix_api_tokens_person_id"), "api_tokens", ["person_id"])
    op.create_table(
        "web_sessions",
        sa.Column("key", _HEX64, nullable=False),
        sa.Column("person_id", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.Text(), nullable=False),
        _person_key("web_sessions"),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_web_sessions")),
    )
    op.create_index(op.f("ix_web_sessions_person_id"), "web_sessions", ["person_id"])
    op.create_table(
        "people_guard",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("first_person", sa.Text(), nullable=False),
        sa.Column("claimed_at", sa.Text(), nullable=False),
        sa.Column("changes", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_people_guard_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people_guard")),
    )


def downgrade() -> None:
    for name in reversed(_TABLES):
        op.drop_table(name)
