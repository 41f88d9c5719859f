"""The SQL schema of disclosure requests: ``disclosure_requests``, one row a request.

Declared on the registry's ``metadata`` like ``node_tables`` (``accord.storage.sql``
imports this module, so the table is always registered). The subject's own fields
are one canonical JSON object (``details``); times are fixed-width UTC stamps, so
text order is time order. Record and party references are plain columns, as in
``node_tables``. Only portable types; the migration creates the table.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import CheckConstraint, Column, Date, Index, String, Table, Text

from accord.domain.disclosure import DisclosureKind, DisclosureState
from accord.storage.sql.tables import PARTY_CODE, _one_of, metadata

__all__ = ["DISCLOSURE_TABLES", "disclosure_requests"]

disclosure_requests = Table(
    "disclosure_requests",
    metadata,
    Column("id", Text, primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("record_id", Text, nullable=True, index=True),
    Column("party", String(PARTY_CODE), nullable=True),
    # "on" is an SQL keyword; NULL: a release decided for the day it is approved.
    Column("on_date", Date, nullable=True),
    Column("details", Text, nullable=False),  # canonical JSON object of text fields
    Column("requester", Text, nullable=False),
    Column("requested_at", Text, nullable=False),
    # Changed only by `UPDATE ... WHERE state = 'pending'`: the row lock that update
    # takes, and its re-check of the state after waiting, are what let exactly one of
    # two officers deciding at once on PostgreSQL succeed (SQLite has one writer).
    Column("state", String(16), nullable=False),
    Column("decider", Text, nullable=True),
    Column("decided_at", Text, nullable=True),
    Column("reason", Text, nullable=False),
    Column("outcome", Text, nullable=True),  # the release, consent, recall or report made
    _one_of("kind", DisclosureKind, "kind_known"),
    _one_of("state", DisclosureState, "state_known"),
    # A decided request names who decided and when; a pending one neither.
    CheckConstraint(
        "(state = 'pending') = (decider IS NULL) AND (state = 'pending') = (decided_at IS NULL)",
        name="decided_has_decider",
    ),
    CheckConstraint("state <> 'rejected' OR reason <> ''", name="rejection_has_reason"),
    # Listing walks requests in the order asked, by state.
    Index("ix_disclosure_requests_state_requested_at_id", "state", "requested_at", "id"),
    Index("ix_disclosure_requests_requested_at_id", "requested_at", "id"),
)

DISCLOSURE_TABLES: Final[tuple[Table, ...]] = (disclosure_requests,)
"""The tables of this module."""
