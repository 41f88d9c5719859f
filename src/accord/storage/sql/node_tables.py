"""The SQL schema of what a node holds: records, releases, its audit log and obligations.

Declared on the registry's ``metadata`` (``tables.py``), so one schema and one chain
of migrations cover both; ``accord.storage.sql`` imports this module, so the tables are
always registered once anything of the package is imported.

Records and releases keep encrypted bodies and sealed envelopes only, never plaintext.
Record, release and party references are plain columns, not foreign keys into the
registry: the world is replaced when agreements change, and what a node has received
or released must outlive that (provided information stays protected after
termination). Only portable types (ADR 0003). This module declares; migrations
create the tables and the ``*_stores`` modules map rows to values.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.schema import SchemaItem

from accord.domain.person import Role
from accord.domain.record import Precedence
from accord.storage.sql.federation_tables import FEDERATION_TABLES
from accord.storage.sql.tables import FINGERPRINT, PARTY_CODE, _one_of, metadata
from accord.storage.sql.witness_tables import WITNESS_TABLES
from accord.storage.values import RecallState, ReleaseState, ReportState

__all__ = [
    "AUDIT",
    "COUNTERS",
    "EVIDENCE_RECORD_MARK",
    "NODE_TABLES",
    "OBLIGATIONS",
    "PEOPLE_TABLES",
    "RECORDS",
    "RELEASES",
    "api_tokens",
    "audit_checkpoints",
    "audit_entries",
    "compromise_reports",
    "consents",
    "counters",
    "decision_evidence",
    "investigation_results",
    "people",
    "people_guard",
    "person_roles",
    "person_topics",
    "portion_rel_to",
    "recall_acknowledgements",
    "recalls",
    "reclassifications",
    "record_bodies",
    "record_portions",
    "record_topics",
    "records",
    "release_agreements",
    "releases",
    "web_sessions",
]

AUDIT: Final = "audit_entries"
RECORDS: Final = "records"
RELEASES: Final = "releases"
OBLIGATIONS: Final = "obligations"
COUNTERS: Final = (AUDIT, RECORDS, RELEASES, OBLIGATIONS)
"""The counters the migration creates, each starting at 0."""

HASH: Final = 32  # bytes of a SHA-256 leaf hash


def _seq() -> Column[int]:
    # Numbers taken from a counter row (see `counters`), not a database sequence: a
    # sequence hands out numbers before commit, so a reader paging by number could
    # pass a smaller one that commits later. Unique, so a tampered counter fails loudly.
    return Column("seq", BigInteger, nullable=False, unique=True)


counters = Table(
    "counters",
    metadata,
    Column("name", String(32), primary_key=True),
    # The next number to hand out. Taking one is `UPDATE ... SET value = value + 1`,
    # which row-locks the counter until the transaction ends: writers queue on it, so
    # numbers are consecutive, unique and in commit order on PostgreSQL with several
    # workers, and a rolled-back writer gives its number back (no gaps).
    Column("value", BigInteger, nullable=False),
    CheckConstraint("value >= 0", name="not_negative"),
)

# -- records ----------------------------------------------------------------------------

records = Table(
    "records",
    metadata,
    Column("id", Text, primary_key=True),
    _seq(),
    Column("originator", String(PARTY_CODE), nullable=False, index=True),
    Column("title", Text, nullable=False),
    Column("purpose", Text, nullable=False),
    Column("precedence", String(16), nullable=False),
    Column("added_at", Text, nullable=False),  # ISO 8601, as passed in by the service
    # The id of the person who wrote it. NULL for records made before records kept
    # their author (or by the operator's path without a person): any disclosure
    # officer may then decide requests about it. No foreign key: people come and go,
    # the record of who wrote what stays.
    Column("author", Text, nullable=True),
    _one_of("precedence", Precedence, "precedence_known"),
)

record_topics = Table(
    "record_topics",
    metadata,
    Column("record_id", ForeignKey("records.id", ondelete="CASCADE"), primary_key=True),
    # Indexed (as the key's second column it would not be): records are listed by topic.
    Column("topic", Text, primary_key=True, index=True),
)

record_portions = Table(
    "record_portions",
    metadata,
    Column("record_id", ForeignKey("records.id", ondelete="CASCADE"), nullable=False),
    # The record's order of portions, which the tear line and every display keep.
    Column("position", Integer, nullable=False),
    Column("portion_id", Text, nullable=False),
    # A level id of some scheme; no foreign key: a copy stays marked as received even
    # when the world no longer lists that level.
    Column("level", Text, nullable=False),
    PrimaryKeyConstraint("record_id", "position"),
    # Portion ids are unique within a record (the domain's rule), and what REL TO rows
    # and bodies refer to.
    UniqueConstraint("record_id", "portion_id"),
)

portion_rel_to = Table(
    "portion_rel_to",
    metadata,
    Column("record_id", Text, nullable=False),
    Column("portion_id", Text, nullable=False),
    Column("party", String(PARTY_CODE), nullable=False),
    PrimaryKeyConstraint("record_id", "portion_id", "party"),
    ForeignKeyConstraint(
        ["record_id", "portion_id"],
        ["record_portions.record_id", "record_portions.portion_id"],
        ondelete="CASCADE",
    ),
)

record_bodies = Table(
    "record_bodies",
    metadata,
    Column("record_id", Text, nullable=False),
    Column("portion_id", Text, nullable=False),
    Column("kind", String(8), nullable=False),
    # Every body is encrypted under its own data key, kept wrapped by a node key.
    Column("key_id", Text, nullable=False),
    Column("wrapped_key", LargeBinary, nullable=False),
    Column("ciphertext", LargeBinary, nullable=True),
    # Relative to the node home. Unique: two rows naming one file would let deleting
    # one portion's body destroy another's.
    Column("path", Text, nullable=True, unique=True),
    Column("size", BigInteger, nullable=True),
    Column("sha256", String(FINGERPRINT), nullable=True),
    # The original file's name, kept in clear like the record's title: a reader writes
    # the plaintext back under it. NULL when unknown (and always for text).
    Column("name", Text, nullable=True),
    PrimaryKeyConstraint("record_id", "portion_id"),
    ForeignKeyConstraint(
        ["record_id", "portion_id"],
        ["record_portions.record_id", "record_portions.portion_id"],
        ondelete="CASCADE",
    ),
    # Text lives inline, a file is referenced with what checks it: a row with half of
    # each could be read neither way.
    CheckConstraint(
        "(kind = 'text' AND ciphertext IS NOT NULL AND path IS NULL AND size IS NULL AND sha256 IS NULL)"
        " OR (kind = 'file' AND ciphertext IS NULL AND path IS NOT NULL AND size >= 0 AND sha256 IS NOT NULL)",
        name="text_or_file",
    ),
    # A text body has no file name; one there would be shown for a file that is not.
    CheckConstraint("kind = 'file' OR name IS NULL", name="name_only_for_files"),
)

# -- releases ---------------------------------------------------------------------------

releases = Table(
    "releases",
    metadata,
    Column("id", Text, primary_key=True),
    _seq(),
    # The federation message that carried it. Unique: receiving one message twice, even
    # in two workers at the same moment, must store it once, and on PostgreSQL only a
    # constraint can decide that race. NULL (allowed many times) until it has one.
    Column("message_id", Text, nullable=True, unique=True),
    # No foreign key: a release outlives the copy of its record (destroyed on recall).
    Column("record_id", Text, nullable=False, index=True),
    Column("sender", String(PARTY_CODE), nullable=False, index=True),
    Column("recipient", String(PARTY_CODE), nullable=False, index=True),
    Column("decided_on", Date, nullable=False),
    Column("route", Text, nullable=False),  # JSON array of party codes
    Column("hops", Text, nullable=False),  # JSON array of Hop.to_dict()
    # The decision's canonical JSON exactly as given, or empty when ``evidence`` names
    # the shared evidence it is rebuilt from (with this row's record id).
    Column("decision", LargeBinary, nullable=False),
    Column("label", LargeBinary, nullable=True),
    Column("envelope", LargeBinary, nullable=False),
    Column("state", String(16), nullable=False, index=True),
    Column("created_at", Text, nullable=False),
    Column("updated_at", Text, nullable=False),
    # The sending order of an outgoing release: its record's precedence as an outbox rank
    # (0 FLASH ... 3 ROUTINE; 3 when the record is gone), copied here when it is stored so
    # that the sweep reads the most urgent sealed releases from an index instead of
    # sorting every sealed release by a join on each batch. NULL on a received release.
    # No CHECK: SQLite adds one only by copying the table, whose rows others refer to.
    Column("rank", Integer, nullable=True),
    _one_of("state", ReleaseState, "state_known"),
    CheckConstraint("sender <> recipient", name="not_to_self"),
    # A receipt without its message id could be stored again on a retry.
    CheckConstraint(
        f"state <> '{ReleaseState.RECEIVED.value}' OR message_id IS NOT NULL",
        name="received_has_message",
    ),
    # No foreign key: added to a table others refer to, and SQLite cannot add one in
    # place (copying the table would cascade its agreements away); the store checks.
    Column("evidence", String(FINGERPRINT), nullable=True),
    # What the outbox sweep reads: this node's sealed releases, most urgent first.
    Index("ix_releases_sender_state_rank_seq", "sender", "state", "rank", "seq"),
)

# A decision's evidence (every check, the route, the label) once per distinct shape: its
# canonical JSON with the record id replaced by EVIDENCE_RECORD_MARK, keyed by the
# SHA-256 of those bytes. Releases of like records to one party on one day share it.
decision_evidence = Table(
    "decision_evidence",
    metadata,
    Column("digest", String(FINGERPRINT), primary_key=True),
    Column("evidence", LargeBinary, nullable=False),
)
EVIDENCE_RECORD_MARK: Final = "accord:evidence:record-id"
"""Stands for the record id in stored evidence; frozen: stored rows depend on it."""

release_agreements = Table(
    "release_agreements",
    metadata,
    Column("release_id", ForeignKey("releases.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    # No foreign key to agreements: the fingerprint names the version the decision
    # used, which the registry replaces when the agreement is amended.
    Column("agreement_id", Text, nullable=False, index=True),
    Column("fingerprint", String(FINGERPRINT), nullable=False),
    PrimaryKeyConstraint("release_id", "position"),
    UniqueConstraint("release_id", "agreement_id"),
)

# -- audit log --------------------------------------------------------------------------

audit_entries = Table(
    "audit_entries",
    metadata,
    # The entry's leaf index, from the audit counter: 0, 1, 2, ... without gaps.
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("entry", LargeBinary, nullable=False),  # the entry's canonical JSON, as hashed
    # Kept beside the bytes so that verification names the exact entry that changed.
    Column("leaf_hash", LargeBinary, nullable=False),
    CheckConstraint("seq >= 0", name="seq_not_negative"),
    CheckConstraint(f"length(leaf_hash) = {HASH}", name="leaf_hash_size"),
)

audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    # One signed tree head per size: two different roots for one size would be a fork.
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("origin", Text, nullable=False),
    Column("root", String(FINGERPRINT), nullable=False),
    Column("at", Text, nullable=False),
    Column("signature", LargeBinary, nullable=False),
    CheckConstraint("size >= 0", name="size_not_negative"),
)

# -- consents and obligations -----------------------------------------------------------


def _kept(name: str, *items: SchemaItem) -> Table:
    """A signed value kept by id: a number, its lookup columns, and what was signed."""
    return Table(
        name,
        metadata,
        Column("id", Text, primary_key=True),
        _seq(),
        *items,
        *_signed(),
    )


def _signed() -> tuple[Column[bytes], Column[bytes]]:
    # The canonical JSON that was signed, exactly, and the signature over it.
    return Column("document", LargeBinary, nullable=False), Column("signature", LargeBinary, nullable=False)


def _state(kind: type[StrEnum]) -> tuple[Column[str], CheckConstraint]:
    # The store moves it (issued -> acknowledged, open -> closed); a value it cannot
    # read back would make the obligation unreadable.
    return Column("state", String(16), nullable=False), _one_of("state", kind, "state_known")


def _record_id() -> Column[str]:
    # No foreign key: obligations about a record outlive the copy (destroyed on recall).
    return Column("record_id", Text, nullable=False, index=True)


consents = _kept(
    "consents",
    Column("originator", String(PARTY_CODE), nullable=False),
    # Looked up by holder and third party when a holder releases onward (rule 5).
    Column("holder", String(PARTY_CODE), nullable=False, index=True),
    Column("third_party", String(PARTY_CODE), nullable=False),
)

reclassifications = _kept(
    "reclassifications",
    Column("originator", String(PARTY_CODE), nullable=False),
    _record_id(),
)

recalls = _kept(
    "recalls",
    Column("originator", String(PARTY_CODE), nullable=False),
    _record_id(),
    *_state(RecallState),
)

recall_acknowledgements = Table(
    "recall_acknowledgements",
    metadata,
    Column("recall_id", ForeignKey("recalls.id"), nullable=False),
    Column("holder", String(PARTY_CODE), nullable=False),
    _seq(),
    *_signed(),
    # One acknowledgement per holder: a second would be a replay or a contradiction.
    PrimaryKeyConstraint("recall_id", "holder"),
)

compromise_reports = _kept(
    "compromise_reports",
    Column("holder", String(PARTY_CODE), nullable=False),
    Column("originator", String(PARTY_CODE), nullable=False),
    _record_id(),
    *_state(ReportState),
)

investigation_results = Table(
    "investigation_results",
    metadata,
    # The report id is the key: a report is closed once, by one result.
    Column("report_id", ForeignKey("compromise_reports.id"), primary_key=True),
    *_signed(),
)

# -- people: accounts, API tokens, web sessions -----------------------------------------
# Times are fixed-width UTC stamps (2026-03-01T09:00:00.000000Z), so text order is time
# order. No secret is stored: passwords as Argon2 hashes, tokens and session ids as
# SHA-256 digests.


def _stamp(name: str, *, nullable: bool = False) -> Column[str]:
    return Column(name, Text, nullable=nullable)


people = Table(
    "people",
    metadata,
    Column("id", Text, primary_key=True),
    # Always the node's own party; kept so that a row read back is a whole Person.
    Column("party", String(PARTY_CODE), nullable=False),
    Column("name", Text, nullable=False),
    # A level of the party's scheme, checked against the world when granted; no foreign
    # key, since the world is replaced when agreements change.
    Column("clearance", Text, nullable=True),
    # Argon2id in PHC form: the salt and the cost travel with the hash. NULL: no
    # password set, so no password login.
    Column("password_hash", Text, nullable=True),
    # Consecutive failed logins, raised by `failures = failures + 1` so that failures
    # on several workers at once all count.
    Column("failures", Integer, nullable=False),
    _stamp("locked_out_until", nullable=True),
    Column("locked", Boolean, nullable=False),
    _stamp("created_at"),
    _stamp("updated_at"),
    CheckConstraint("failures >= 0", name="failures_not_negative"),
)

person_roles = Table(
    "person_roles",
    metadata,
    Column("person_id", ForeignKey("people.id", ondelete="CASCADE"), primary_key=True),
    # Indexed (as the key's second column it would not be): the last administrator is
    # found by role.
    Column("role", String(32), primary_key=True, index=True),
    # A role this code cannot read back would make the person unreadable.
    _one_of("role", Role, "role_known"),
)

person_topics = Table(
    "person_topics",
    metadata,
    Column("person_id", ForeignKey("people.id", ondelete="CASCADE"), primary_key=True),
    Column("topic", Text, primary_key=True),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    # The token's public id, the part of the token it is looked up by.
    Column("id", Text, primary_key=True),
    # No cascade: tokens stay as the record of who could act, like their audit entries.
    Column("person_id", ForeignKey("people.id"), nullable=False, index=True),
    Column("name", Text, nullable=False),
    Column("digest", String(FINGERPRINT), nullable=False),
    # Action names separated by spaces, or '*' for whatever the person's roles allow.
    Column("scopes", Text, nullable=False),
    _stamp("created_at"),
    # Required: a token that never expires outlives the reason it was issued for.
    _stamp("expires_at"),
    _stamp("revoked_at", nullable=True),
    CheckConstraint(f"length(digest) = {FINGERPRINT}", name="digest_size"),
    CheckConstraint("scopes <> ''", name="scopes_not_empty"),
)

web_sessions = Table(
    "web_sessions",
    metadata,
    # The SHA-256 digest of the session id: a copy of the database opens no session.
    Column("key", String(FINGERPRINT), primary_key=True),
    Column("person_id", ForeignKey("people.id", ondelete="CASCADE"), nullable=False, index=True),
    _stamp("created_at"),
    _stamp("expires_at"),
)

people_guard = Table(
    "people_guard",
    metadata,
    # One row, inserted by the first administrator's creation: its primary key is what
    # stops two bootstraps racing on PostgreSQL from both succeeding.
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("first_person", Text, nullable=False),
    _stamp("claimed_at"),
    # Raised by every change that must see all the others (roles, locks), which
    # row-locks the guard until that transaction ends: two officers demoting the last
    # two administrators at once cannot both succeed.
    Column("changes", BigInteger, nullable=False),
    CheckConstraint("id = 1", name="one_row"),
)

PEOPLE_TABLES: Final[tuple[Table, ...]] = (people, person_roles, person_topics, api_tokens, web_sessions, people_guard)
"""The people tables (revision c4e1a7d2b9f3), parents before children."""

NODE_TABLES: Final[tuple[Table, ...]] = (
    counters,
    records,
    record_topics,
    record_portions,
    portion_rel_to,
    record_bodies,
    decision_evidence,
    releases,
    release_agreements,
    audit_entries,
    audit_checkpoints,
    consents,
    reclassifications,
    recalls,
    recall_acknowledgements,
    compromise_reports,
    investigation_results,
    *PEOPLE_TABLES,
    *FEDERATION_TABLES,
    *WITNESS_TABLES,
)
"""Every table of this module, ``federation_tables`` and ``witness_tables``, parents before children."""
