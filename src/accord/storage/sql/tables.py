"""The SQL schema of the agreement registry, as SQLAlchemy Core tables.

One world per node: parties, their schemes and levels, and agreements with everything
the domain model holds about them (lifecycle events, equivalence rows and their level
cells, clauses, sources, scope, term). Every value the domain hashes into an
agreement's fingerprint has a column, so a world read back is equal to the one saved.

Only portable types (no JSONB, arrays or server-side defaults) so that SQLite and
PostgreSQL share the schema (ADR 0003). This module declares; it neither creates the
tables (migrations do) nor maps rows to domain values (``stores.py`` does).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.schema import SchemaItem

from accord.domain.agreement import AgreementKind, EventKind
from accord.domain.party import PartyKind

__all__ = [
    "AGREEMENT_CHILDREN",
    "WORLD_ROW_ID",
    "agreement_clauses",
    "agreement_equivalences",
    "agreement_events",
    "agreement_excluded_levels",
    "agreement_parties",
    "agreement_relies_on",
    "agreement_scope",
    "agreement_sources",
    "agreement_terms",
    "agreements",
    "equivalence_levels",
    "levels",
    "metadata",
    "parties",
    "schemes",
    "world",
]

# Explicit constraint names: Alembic can only drop or alter what it can name, and
# SQLite would otherwise leave them anonymous.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

WORLD_ROW_ID: Final = 1
PARTY_CODE: Final = 16  # the domain's party code pattern allows at most 16 characters
FINGERPRINT: Final = 64  # hex SHA-256


def _one_of(column: str, kind: type[StrEnum], name: str) -> CheckConstraint:
    """A CHECK that ``column`` holds a member of ``kind``.

    A value this code cannot turn back into the enum would make the whole world
    unreadable, so it is refused when written. The list comes from the domain enum;
    the migration freezes it, so a new member needs a migration widening the CHECK.
    """
    values = ", ".join(f"'{member.value}'" for member in kind)
    return CheckConstraint(f"{column} IN ({values})", name=name)


world = Table(
    "world",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    # NULL until a world is loaded: the row itself is made by the migration, so that a
    # loader can lock it (SELECT ... FOR UPDATE) even on an empty registry.
    Column("fingerprint", String(FINGERPRINT), nullable=True),
    # A node holds exactly one world; a second row would make "the" world ambiguous.
    CheckConstraint(f"id = {WORLD_ROW_ID}", name="single_row"),
)

schemes = Table(
    "schemes",
    metadata,
    # The code parties name in their `scheme`; usually the owning party's own code,
    # but a scheme may exist without a party of that code, hence no foreign key.
    Column("party", String(PARTY_CODE), primary_key=True),
    # The order the world lists schemes in, so a world read back compares equal.
    Column("position", Integer, nullable=False),
    Column("name", Text, nullable=False),
    Column("source", Text, nullable=False),
)

levels = Table(
    "levels",
    metadata,
    Column("id", Text, primary_key=True),
    Column("scheme", ForeignKey("schemes.party"), nullable=False, index=True),
    # Levels of equal rank keep the order the scheme gives them (JPN lists 極秘,
    # 特定秘密 and 防衛秘密 all at rank 2), which is part of the scheme's identity.
    Column("position", Integer, nullable=False),
    Column("rank", Integer, nullable=False),
    Column("native", Text, nullable=False),
    Column("romanised", Text, nullable=False),
    Column("english", Text, nullable=False),
    Column("valid_from", Date, nullable=True),
    Column("valid_until", Date, nullable=True),
    Column("note", Text, nullable=False),
    # Ranks order levels within a scheme and start at 1, as the domain requires.
    CheckConstraint("rank >= 1", name="rank_positive"),
    # A level that ends before it begins would never be valid on any date.
    CheckConstraint(
        "valid_from IS NULL OR valid_until IS NULL OR valid_from <= valid_until",
        name="validity_ordered",
    ),
)

parties = Table(
    "parties",
    metadata,
    Column("code", String(PARTY_CODE), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("name", Text, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("native_name", Text, nullable=False),
    Column("authority", Text, nullable=False),
    # Every party marks in some scheme; clearances and labels are meaningless without.
    Column("scheme", ForeignKey("schemes.party"), nullable=False, index=True),
    _one_of("kind", PartyKind, "kind_known"),
)

agreements = Table(
    "agreements",
    metadata,
    Column("id", Text, primary_key=True),
    Column("position", Integer, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("title", Text, nullable=False),
    Column("binding", Boolean, nullable=False),
    Column("hub", ForeignKey("parties.code"), nullable=True),
    # NULL scope means "unrestricted" (a GSOMIA covers any military information), an
    # empty set means "nothing": the flags keep the two apart, the rows hold the set.
    Column("restricts_topics", Boolean, nullable=False),
    Column("restricts_purposes", Boolean, nullable=False),
    Column("notes", Text, nullable=False),
    # Kept, not just recomputed: reading back checks the rows still hash to it, so a
    # row edited behind Accord's back is noticed rather than silently decided on.
    Column("fingerprint", String(FINGERPRINT), nullable=False),
    _one_of("kind", AgreementKind, "kind_known"),
    # Routing through a hub is only lawful under an arrangement that names it, and an
    # arrangement without its hub could not route at all.
    CheckConstraint(
        f"(kind = '{AgreementKind.HUB_ARRANGEMENT.value}') = (hub IS NOT NULL)",
        name="hub_iff_arrangement",
    ),
)


def _agreement_child(name: str, *items: SchemaItem, ordered: bool = True) -> Table:
    """A table of rows that belong to one agreement and go when it goes.

    ``ordered`` adds a ``position`` that keeps the domain's order and, with the
    agreement id, is the primary key; unordered tables pass their own key.
    """
    columns: list[SchemaItem] = [
        Column(
            "agreement_id",
            ForeignKey("agreements.id", ondelete="CASCADE"),
            nullable=False,
            primary_key=ordered,
        ),
    ]
    if ordered:
        columns.append(Column("position", Integer, primary_key=True, autoincrement=False))
    return Table(name, metadata, *columns, *items)


agreement_terms = Table(
    "agreement_terms",
    metadata,
    # One optional term per agreement: no row is "no term rules", which the domain
    # (and the fingerprint) distinguish from a term whose fields are all empty.
    Column("agreement_id", ForeignKey("agreements.id", ondelete="CASCADE"), primary_key=True),
    Column("initial_years", Integer, nullable=True),
    Column("renewal_years", Integer, nullable=True),
    Column("notice_days", Integer, nullable=True),
    Column("anniversary_month", Integer, nullable=True),
    Column("anniversary_day", Integer, nullable=True),
    CheckConstraint("initial_years >= 0 AND renewal_years >= 0 AND notice_days >= 0", name="durations"),
    # An anniversary is a month and a day or nothing: half of one computes no date.
    CheckConstraint("(anniversary_month IS NULL) = (anniversary_day IS NULL)", name="anniversary_whole"),
    CheckConstraint(
        "anniversary_month BETWEEN 1 AND 12 AND anniversary_day BETWEEN 1 AND 31",
        name="anniversary_range",
    ),
)

agreement_parties = _agreement_child(
    "agreement_parties",
    Column("party", ForeignKey("parties.code"), nullable=False, index=True),
    PrimaryKeyConstraint("agreement_id", "party"),
    ordered=False,
)

agreement_scope = _agreement_child(
    "agreement_scope",
    Column("dimension", String(16), nullable=False),
    Column("value", Text, nullable=False),
    PrimaryKeyConstraint("agreement_id", "dimension", "value"),
    CheckConstraint("dimension IN ('topic', 'purpose')", name="dimension_known"),
    ordered=False,
)

agreement_events = _agreement_child(
    "agreement_events",
    # Events keep their given order: the domain sorts by date stably, so two events
    # on one day (signed, then in force) must come back in the same order.
    Column("occurred_on", Date, nullable=False),
    Column("kind", String(48), nullable=False),
    Column("summary", Text, nullable=False),
    Column("party", String(PARTY_CODE), nullable=True),
    Column("effective", Date, nullable=True),
    Column("source", Text, nullable=False),
    Column("inferred", Boolean, nullable=False),
    _one_of("kind", EventKind, "kind_known"),
    # Who acted (gave notice, postponed signing) is one of the agreement's own parties.
    ForeignKeyConstraint(
        ["agreement_id", "party"],
        ["agreement_parties.agreement_id", "agreement_parties.party"],
        ondelete="CASCADE",
    ),
    # Only a termination notice takes effect later, and never before it was given.
    CheckConstraint(
        f"effective IS NULL OR (kind = '{EventKind.TERMINATION_NOTIFIED.value}' AND effective >= occurred_on)",
        name="effective_notice",
    ),
)

agreement_equivalences = _agreement_child(
    "agreement_equivalences",
    Column("english", Text, nullable=False),
    Column("inferred", Boolean, nullable=False),
    Column("source", Text, nullable=False),
)

equivalence_levels = Table(
    "equivalence_levels",
    metadata,
    Column("agreement_id", Text, nullable=False),
    Column("row_position", Integer, nullable=False),
    # Where the party stands in the row and the level within the party's list: the
    # domain keeps both orders (the first level is the preferred one).
    Column("party_position", Integer, nullable=False),
    Column("level_position", Integer, nullable=False),
    Column("party", String(PARTY_CODE), nullable=False),
    Column("level_id", ForeignKey("levels.id"), nullable=False, index=True),
    PrimaryKeyConstraint("agreement_id", "row_position", "party_position", "level_position"),
    ForeignKeyConstraint(
        ["agreement_id", "row_position"],
        ["agreement_equivalences.agreement_id", "agreement_equivalences.position"],
        ondelete="CASCADE",
    ),
    # A row may only relate the agreement's own parties: equivalences bind signatories.
    ForeignKeyConstraint(
        ["agreement_id", "party"],
        ["agreement_parties.agreement_id", "agreement_parties.party"],
        ondelete="CASCADE",
    ),
    # A level has at most one equivalent row per agreement, or the level a recipient
    # sees would depend on which row a query happened to find first.
    UniqueConstraint("agreement_id", "level_id"),
    # The domain's rule that a row lists a party's own levels (KOR/…) under that party;
    # the level's scheme prefix is its party code.
    CheckConstraint("substr(level_id, 1, length(party) + 1) = party || '/'", name="level_of_party"),
)

agreement_excluded_levels = _agreement_child(
    "agreement_excluded_levels",
    Column("level_id", ForeignKey("levels.id"), nullable=False),
)

agreement_relies_on = _agreement_child(
    "agreement_relies_on",
    # No cascade here: an agreement others rely on (TISA on the bilateral GSOMIAs) must
    # not vanish from under them; the loader replaces the dependants first.
    Column("relied_on", ForeignKey("agreements.id"), nullable=False, index=True),
)

agreement_clauses = _agreement_child(
    "agreement_clauses",
    Column("rule", Text, nullable=False),
    Column("cite", Text, nullable=False),
    Column("source", Text, nullable=False),
)

agreement_sources = _agreement_child(
    "agreement_sources",
    Column("url", Text, nullable=False),
)

AGREEMENT_CHILDREN: Final[tuple[Table, ...]] = (
    agreement_terms,
    agreement_parties,
    agreement_scope,
    agreement_events,
    agreement_equivalences,
    equivalence_levels,
    agreement_excluded_levels,
    agreement_relies_on,
    agreement_clauses,
    agreement_sources,
)
"""Every table whose rows belong to one agreement, parents before children."""
