"""The agreement registry: parties, schemes, levels and agreements with their parts.

Creates the tables of ``accord.storage.sql.tables`` as they were at this revision and
seeds the single ``world`` row (fingerprint NULL: no world loaded yet) that loaders
lock. Downgrading drops everything, data included.

This file is a frozen copy on purpose: later changes to ``tables.py`` come with a new
revision, never an edit here.

Revision ID: a981b05a95dd
Revises:
Create Date: 2026-11-22 18:12:13
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a981b05a95dd"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CODE = sa.String(length=16)
_EVENT_KINDS = (
    "'negotiation', 'signing-postponed', 'signed', 'in-force', 'amended', 'renewed', "
    "'termination-notified', 'termination-notice-suspended', 'termination-notice-withdrawn', "
    "'terminated', 'note'"
)
_AGREEMENT_KINDS = "'information-security', 'hub-arrangement', 'logistics-support', 'consultation-commitment'"

# Parents before children; downgrade drops them in the reverse order.
_TABLES = (
    "world",
    "schemes",
    "levels",
    "parties",
    "agreements",
    "agreement_terms",
    "agreement_parties",
    "agreement_scope",
    "agreement_events",
    "agreement_equivalences",
    "equivalence_levels",
    "agreement_excluded_levels",
    "agreement_relies_on",
    "agreement_clauses",
    "agreement_sources",
)


def _owned_by_agreement(name: str, *items: sa.schema.SchemaItem, ordered: bool = True) -> None:
    """A table of rows belonging to one agreement, deleted with it (ON DELETE CASCADE)."""
    columns: list[sa.schema.SchemaItem] = [
        sa.Column("agreement_id", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agreement_id"],
            ["agreements.id"],
            name=op.f(f"fk_{name}_agreement_id_agreements"),
            ondelete="CASCADE",
        ),
    ]
    if ordered:
        columns += [
            sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
            sa.PrimaryKeyConstraint("agreement_id", "position", name=op.f(f"pk_{name}")),
        ]
    op.create_table(name, *columns, *items)


def upgrade() -> None:
    op.create_table(
        "world",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=True),
        sa.CheckConstraint("id = 1", name=op.f("ck_world_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_world")),
    )
    op.execute("INSERT INTO world (id, fingerprint) VALUES (1, NULL)")
    op.create_table(
        "schemes",
        sa.Column("party", _CODE, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("party", name=op.f("pk_schemes")),
    )
    op.create_table(
        "levels",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("scheme", _CODE, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("native", sa.Text(), nullable=False),
        sa.Column("romanised", sa.Text(), nullable=False),
        sa.Column("english", sa.Text(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.CheckConstraint("rank >= 1", name=op.f("ck_levels_rank_positive")),
        sa.CheckConstraint(
            "valid_from IS NULL OR valid_until IS NULL OR valid_from <= valid_until",
            name=op.f("ck_levels_validity_ordered"),
        ),
        sa.ForeignKeyConstraint(["scheme"], ["schemes.party"], name=op.f("fk_levels_scheme_schemes")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_levels")),
    )
    op.create_index(op.f("ix_levels_scheme"), "levels", ["scheme"])
    op.create_table(
        "parties",
        sa.Column("code", _CODE, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("native_name", sa.Text(), nullable=False),
        sa.Column("authority", sa.Text(), nullable=False),
        sa.Column("scheme", _CODE, nullable=False),
        sa.CheckConstraint("kind IN ('nation', 'organisation')", name=op.f("ck_parties_kind_known")),
        sa.ForeignKeyConstraint(["scheme"], ["schemes.party"], name=op.f("fk_parties_scheme_schemes")),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_parties")),
    )
    op.create_index(op.f("ix_parties_scheme"), "parties", ["scheme"])
    op.create_table(
        "agreements",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("binding", sa.Boolean(), nullable=False),
        sa.Column("hub", _CODE, nullable=True),
        sa.Column("restricts_topics", sa.Boolean(), nullable=False),
        sa.Column("restricts_purposes", sa.Boolean(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.CheckConstraint(f"kind IN ({_AGREEMENT_KINDS})", name=op.f("ck_agreements_kind_known")),
        sa.CheckConstraint(
            "(kind = 'hub-arrangement') = (hub IS NOT NULL)", name=op.f("ck_agreements_hub_iff_arrangement")
        ),
        sa.ForeignKeyConstraint(["hub"], ["parties.code"], name=op.f("fk_agreements_hub_parties")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agreements")),
    )
    op.create_table(
        "agreement_terms",
        sa.Column("agreement_id", sa.Text(), nullable=False),
        sa.Column("initial_years", sa.Integer(), nullable=True),
        sa.Column("renewal_years", sa.Integer(), nullable=True),
        sa.Column("notice_days", sa.Integer(), nullable=True),
        sa.Column("anniversary_month", sa.Integer(), nullable=True),
        sa.Column("anniversary_day", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "initial_years >= 0 AND renewal_years >= 0 AND notice_days >= 0",
            name=op.f("ck_agreement_terms_durations"),
        ),
        sa.CheckConstraint(
            "(anniversary_month IS NULL) = (anniversary_day IS NULL)",
            name=op.f("ck_agreement_terms_anniversary_whole"),
        ),
        sa.CheckConstraint(
            "anniversary_month BETWEEN 1 AND 12 AND anniversary_day BETWEEN 1 AND 31",
            name=op.f("ck_agreement_terms_anniversary_range"),
        ),
        sa.ForeignKeyConstraint(
            ["agreement_id"],
            ["agreements.id"],
            name=op.f("fk_agreement_terms_agreement_id_agreements"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("agreement_id", name=op.f("pk_agreement_terms")),
    )
    _owned_by_agreement(
        "agreement_parties",
        sa.Column("party", _CODE, nullable=False),
        sa.ForeignKeyConstraint(["party"], ["parties.code"], name=op.f("fk_agreement_parties_party_parties")),
        sa.PrimaryKeyConstraint("agreement_id", "party", name=op.f("pk_agreement_parties")),
        ordered=False,
    )
    op.create_index(op.f("ix_agreement_parties_party"), "agreement_parties", ["party"])
    _owned_by_agreement(
        "agreement_scope",
        sa.Column("dimension", sa.String(length=16), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.CheckConstraint("dimension IN ('topic', 'purpose')", name=op.f("ck_agreement_scope_dimension_known")),
        sa.PrimaryKeyConstraint("agreement_id", "dimension", "value", name=op.f("pk_agreement_scope")),
        ordered=False,
    )
    _owned_by_agreement(
        "agreement_events",
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=48), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("party", _CODE, nullable=True),
        sa.Column("effective", sa.Date(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("inferred", sa.Boolean(), nullable=False),
        sa.CheckConstraint(f"kind IN ({_EVENT_KINDS})", name=op.f("ck_agreement_events_kind_known")),
        sa.ForeignKeyConstraint(
            ["agreement_id", "party"],
            ["agreement_parties.agreement_id", "agreement_parties.party"],
            name=op.f("fk_agreement_events_agreement_id_agreement_parties"),
            ondelete="CASCADE",
        ),
        sa.CheckConstraint(
            "effective IS NULL OR (kind = 'termination-notified' AND effective >= occurred_on)",
            name=op.f("ck_agreement_events_effective_notice"),
        ),
    )
    _owned_by_agreement(
        "agreement_equivalences",
        sa.Column("english", sa.Text(), nullable=False),
        sa.Column("inferred", sa.Boolean(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
    )
    op.create_table(
        "equivalence_levels",
        sa.Column("agreement_id", sa.Text(), nullable=False),
        sa.Column("row_position", sa.Integer(), nullable=False),
        sa.Column("party_position", sa.Integer(), nullable=False),
        sa.Column("level_position", sa.Integer(), nullable=False),
        sa.Column("party", _CODE, nullable=False),
        sa.Column("level_id", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "substr(level_id, 1, length(party) + 1) = party || '/'",
            name=op.f("ck_equivalence_levels_level_of_party"),
        ),
        sa.ForeignKeyConstraint(
            ["agreement_id", "row_position"],
            ["agreement_equivalences.agreement_id", "agreement_equivalences.position"],
            name=op.f("fk_equivalence_levels_agreement_id_agreement_equivalences"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["agreement_id", "party"],
            ["agreement_parties.agreement_id", "agreement_parties.party"],
            name=op.f("fk_equivalence_levels_agreement_id_agreement_parties"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["level_id"], ["levels.id"], name=op.f("fk_equivalence_levels_level_id_levels")),
        sa.PrimaryKeyConstraint(
            "agreement_id", "row_position", "party_position", "level_position", name=op.f("pk_equivalence_levels")
        ),
        sa.UniqueConstraint("agreement_id", "level_id", name=op.f("uq_equivalence_levels_agreement_id_level_id")),
    )
    op.create_index(op.f("ix_equivalence_levels_level_id"), "equivalence_levels", ["level_id"])
    _owned_by_agreement(
        "agreement_excluded_levels",
        sa.Column("level_id", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["level_id"], ["levels.id"], name=op.f("fk_agreement_excluded_levels_level_id_levels")),
    )
    _owned_by_agreement(
        "agreement_relies_on",
        sa.Column("relied_on", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["relied_on"], ["agreements.id"], name=op.f("fk_agreement_relies_on_relied_on_agreements")
        ),
    )
    op.create_index(op.f("ix_agreement_relies_on_relied_on"), "agreement_relies_on", ["relied_on"])
    _owned_by_agreement(
        "agreement_clauses",
        sa.Column("rule", sa.Text(), nullable=False),
        sa.Column("cite", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
    )
    _owned_by_agreement("agreement_sources", sa.Column("url", sa.Text(), nullable=False))


def downgrade() -> None:
    for name in reversed(_TABLES):
        op.drop_table(name)
