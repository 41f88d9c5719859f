"""What a node holds: records, releases, the audit log, consents and obligations.

Creates the tables of ``accord.storage.sql.node_tables`` as they were at this
revision and seeds the counters (records, releases, audit entries, obligations) at 0;
taking a number locks its counter row, which keeps numbers gap-free and in commit
order with several writers. Downgrading drops these tables, data included, and leaves
the agreement registry as it was.

This file is a frozen copy on purpose: later changes to ``node_tables.py`` come with
a new revision, never an edit here.

Revision ID: 7ae30b2c1d27
Revises: a981b05a95dd
Create Date: 2026-11-22 19:30:18
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7ae30b2c1d27"
down_revision: str | None = "a981b05a95dd"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CODE = sa.String(length=16)
_HEX64 = sa.String(length=64)
_COUNTERS = ("audit_entries", "records", "releases", "obligations")

# Parents before children; downgrade drops them in the reverse order.
_TABLES = (
    "counters",
    "records",
    "record_topics",
    "record_portions",
    "portion_rel_to",
    "record_bodies",
    "releases",
    "release_agreements",
    "audit_entries",
    "audit_checkpoints",
    "consents",
    "reclassifications",
    "recalls",
    "recall_acknowledgements",
    "compromise_reports",
    "investigation_results",
)


def _numbered(name: str, *items: sa.schema.SchemaItem) -> None:
    """A table with a text id and a unique ``seq`` taken from a counter."""
    op.create_table(
        name,
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        *items,
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
        sa.UniqueConstraint("seq", name=op.f(f"uq_{name}_seq")),
    )


def _signed() -> tuple[sa.Column[bytes], sa.Column[bytes]]:
    return (
        sa.Column("document", sa.LargeBinary(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
    )


def _portion_key(name: str) -> list[sa.schema.SchemaItem]:
    return [
        sa.Column("record_id", sa.Text(), nullable=False),
        sa.Column("portion_id", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id", "portion_id"],
            ["record_portions.record_id", "record_portions.portion_id"],
            name=op.f(f"fk_{name}_record_id_record_portions"),
            ondelete="CASCADE",
        ),
    ]


def _records() -> None:
    _numbered(
        "records",
        sa.Column("originator", _CODE, nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("precedence", sa.String(length=16), nullable=False),
        sa.Column("added_at", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "precedence IN ('FLASH', 'IMMEDIATE', 'PRIORITY', 'ROUTINE')", name=op.f("ck_records_precedence_known")
        ),
    )
    op.create_index(op.f("ix_records_originator"), "records", ["originator"])
    op.create_table(
        "record_topics",
        sa.Column("record_id", sa.Text(), nullable=False),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"], ["records.id"], name=op.f("fk_record_topics_record_id_records"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("record_id", "topic", name=op.f("pk_record_topics")),
    )
    op.create_index(op.f("ix_record_topics_topic"), "record_topics", ["topic"])
    op.create_table(
        "record_portions",
        sa.Column("record_id", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("portion_id", sa.Text(), nullable=False),
        sa.Column("level", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"], ["records.id"], name=op.f("fk_record_portions_record_id_records"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("record_id", "position", name=op.f("pk_record_portions")),
        sa.UniqueConstraint("record_id", "portion_id", name=op.f("uq_record_portions_record_id_portion_id")),
    )
    op.create_table(
        "portion_rel_to",
        *_portion_key("portion_rel_to"),
        sa.Column("party", _CODE, nullable=False),
        sa.PrimaryKeyConstraint("record_id", "portion_id", "party", name=op.f("pk_portion_rel_to")),
    )
    op.create_table(
        "record_bodies",
        *_portion_key("record_bodies"),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("key_id", sa.Text(), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=True),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("sha256", _HEX64, nullable=True),
        sa.CheckConstraint(
            "(kind = 'text' AND ciphertext IS NOT NULL AND path IS NULL AND size IS NULL AND sha256 IS NULL)"
            " OR (kind = 'file' AND ciphertext IS NULL AND path IS NOT NULL AND size >= 0 AND sha256 IS NOT NULL)",
            name=op.f("ck_record_bodies_text_or_file"),
        ),
        sa.PrimaryKeyConstraint("record_id", "portion_id", name=op.f("pk_record_bodies")),
        sa.UniqueConstraint("path", name=op.f("uq_record_bodies_path")),
    )


def _releases() -> None:
    _numbered(
        "releases",
        sa.Column("message_id", sa.Text(), nullable=True),
        sa.Column("record_id", sa.Text(), nullable=False),
        sa.Column("sender", _CODE, nullable=False),
        sa.Column("recipient", _CODE, nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("route", sa.Text(), nullable=False),
        sa.Column("hops", sa.Text(), nullable=False),
        sa.Column("decision", sa.LargeBinary(), nullable=False),
        sa.Column("label", sa.LargeBinary(), nullable=True),
        sa.Column("envelope", sa.LargeBinary(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "state IN ('sealed', 'queued', 'delivered', 'received', 'refused')", name=op.f("ck_releases_state_known")
        ),
        sa.CheckConstraint("sender <> recipient", name=op.f("ck_releases_not_to_self")),
        sa.CheckConstraint(
            "state <> 'received' OR message_id IS NOT NULL", name=op.f("ck_releases_received_has_message")
        ),
        sa.UniqueConstraint("message_id", name=op.f("uq_releases_message_id")),
    )
    for column in ("record_id", "sender", "recipient", "state"):
        op.create_index(op.f(f"ix_releases_{column}"), "releases", [column])
    op.create_table(
        "release_agreements",
        sa.Column("release_id", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("agreement_id", sa.Text(), nullable=False),
        sa.Column("fingerprint", _HEX64, nullable=False),
        sa.ForeignKeyConstraint(
            ["release_id"],
            ["releases.id"],
            name=op.f("fk_release_agreements_release_id_releases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("release_id", "position", name=op.f("pk_release_agreements")),
        sa.UniqueConstraint("release_id", "agreement_id", name=op.f("uq_release_agreements_release_id_agreement_id")),
    )
    op.create_index(op.f("ix_release_agreements_agreement_id"), "release_agreements", ["agreement_id"])


def _audit() -> None:
    op.create_table(
        "audit_entries",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("entry", sa.LargeBinary(), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint("seq >= 0", name=op.f("ck_audit_entries_seq_not_negative")),
        sa.CheckConstraint("length(leaf_hash) = 32", name=op.f("ck_audit_entries_leaf_hash_size")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_entries")),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("origin", sa.Text(), nullable=False),
        sa.Column("root", _HEX64, nullable=False),
        sa.Column("at", sa.Text(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint("size >= 0", name=op.f("ck_audit_checkpoints_size_not_negative")),
        sa.PrimaryKeyConstraint("size", name=op.f("pk_audit_checkpoints")),
    )


def _obligations() -> None:
    _numbered(
        "consents",
        sa.Column("originator", _CODE, nullable=False),
        sa.Column("holder", _CODE, nullable=False),
        sa.Column("third_party", _CODE, nullable=False),
        *_signed(),
    )
    op.create_index(op.f("ix_consents_holder"), "consents", ["holder"])
    _numbered(
        "reclassifications",
        sa.Column("originator", _CODE, nullable=False),
        sa.Column("record_id", sa.Text(), nullable=False),
        *_signed(),
    )
    op.create_index(op.f("ix_reclassifications_record_id"), "reclassifications", ["record_id"])
    _numbered(
        "recalls",
        sa.Column("originator", _CODE, nullable=False),
        sa.Column("record_id", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        *_signed(),
        sa.CheckConstraint("state IN ('issued', 'acknowledged')", name=op.f("ck_recalls_state_known")),
    )
    op.create_index(op.f("ix_recalls_record_id"), "recalls", ["record_id"])
    op.create_table(
        "recall_acknowledgements",
        sa.Column("recall_id", sa.Text(), nullable=False),
        sa.Column("holder", _CODE, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        *_signed(),
        sa.ForeignKeyConstraint(
            ["recall_id"], ["recalls.id"], name=op.f("fk_recall_acknowledgements_recall_id_recalls")
        ),
        sa.PrimaryKeyConstraint("recall_id", "holder", name=op.f("pk_recall_acknowledgements")),
        sa.UniqueConstraint("seq", name=op.f("uq_recall_acknowledgements_seq")),
    )
    _numbered(
        "compromise_reports",
        sa.Column("holder", _CODE, nullable=False),
        sa.Column("originator", _CODE, nullable=False),
        sa.Column("record_id", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        *_signed(),
        sa.CheckConstraint("state IN ('open', 'closed')", name=op.f("ck_compromise_reports_state_known")),
    )
    op.create_index(op.f("ix_compromise_reports_record_id"), "compromise_reports", ["record_id"])
    op.create_table(
        "investigation_results",
        sa.Column("report_id", sa.Text(), nullable=False),
        *_signed(),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["compromise_reports.id"],
            name=op.f("fk_investigation_results_report_id_compromise_reports"),
        ),
        sa.PrimaryKeyConstraint("report_id", name=op.f("pk_investigation_results")),
    )


def upgrade() -> None:
    counters = op.create_table(
        "counters",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("value >= 0", name=op.f("ck_counters_not_negative")),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_counters")),
    )
    op.bulk_insert(counters, [{"name": name, "value": 0} for name in _COUNTERS])
    _records()
    _releases()
    _audit()
    _obligations()


def downgrade() -> None:
    for name in reversed(_TABLES):
        op.drop_table(name)
