"""Revision e5b2d8f1a6c4 (disclosures) on SQLite and PostgreSQL: upgrade, downgrade, upgrade again.

Records made before it keep no author (NULL); its table comes and goes with it; the
records and everything else of the revisions before it are left as they were; and the
schema at head is exactly the declared one.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, inspect, text

from accord.storage.sql import make_engine, migrate
from accord.storage.sql.disclosure_tables import DISCLOSURE_TABLES
from accord.storage.sql.tables import metadata
from accord.storage.sql.witness_tables import WITNESS_TABLES
from tests.contract.test_migrations_contract import assert_schema_is_the_declared_one

DISCLOSURES = "e5b2d8f1a6c4"
BEFORE = "5d8f2a61c0b7"  # federation: the revision this one follows
LATER = {"decision_evidence"} | {t.name for t in WITNESS_TABLES}  # tables of the revisions after this one

INSERT_RECORD = (
    "INSERT INTO records (id, seq, originator, title, purpose, precedence, added_at)"
    " VALUES ('KOR-1', 0, 'KOR', 'old', '', 'ROUTINE', '2026-03-01T09:00:00Z')"
)
INSERT_REQUEST = (
    "INSERT INTO disclosure_requests (id, kind, record_id, party, on_date, details, requester, requested_at,"
    " state, decider, decided_at, reason, outcome) VALUES ('dr-1', 'release', 'KOR-1', 'JPN', NULL, '{}',"
    " 'lee', '2026-03-01T09:00:00.000000Z', 'pending', NULL, NULL, '', NULL)"
)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def record_columns(engine: Engine) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns("records")}


def test_migration_adds_the_author_and_the_requests_and_takes_them_away(engine: Engine):
    added = {t.name for t in DISCLOSURE_TABLES} | LATER
    migrate.upgrade(engine, BEFORE)
    assert tables(engine) == set(metadata.tables) - added
    assert "author" not in record_columns(engine)
    with engine.begin() as connection:
        connection.execute(text(INSERT_RECORD))

    migrate.upgrade(engine)
    assert_schema_is_the_declared_one(engine)
    with engine.begin() as connection:
        # A record from before keeps no author: any disclosure officer may decide about it.
        assert connection.execute(text("SELECT author FROM records WHERE id = 'KOR-1'")).scalar() is None
        connection.execute(text(INSERT_REQUEST))

    migrate.downgrade(engine, BEFORE)
    assert migrate.current(engine) == BEFORE
    assert tables(engine) == set(metadata.tables) - added
    assert "author" not in record_columns(engine)
    with engine.connect() as connection:  # the record is left as it was
        assert connection.execute(text("SELECT title FROM records WHERE id = 'KOR-1'")).scalar() == "old"

    migrate.upgrade(engine)
    assert_schema_is_the_declared_one(engine)
    with engine.connect() as connection:  # the requests went with the downgrade
        assert connection.execute(text("SELECT count(*) FROM disclosure_requests")).scalar() == 0


def test_the_database_refuses_a_rejection_without_reason_and_a_decision_without_decider(engine: Engine):
    migrate.upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text(INSERT_RECORD))
        connection.execute(text(INSERT_REQUEST))
    for change in (
        "UPDATE disclosure_requests SET state = 'rejected', decider = 'kim', decided_at = 't', reason = ''",
        "UPDATE disclosure_requests SET state = 'approved'",
        "UPDATE disclosure_requests SET state = 'sent'",
        "UPDATE disclosure_requests SET kind = 'leak'",
    ):
        with pytest.raises(Exception, match=r"(?i)check"), engine.begin() as connection:
            connection.execute(text(change))
    with engine.connect() as connection:
        assert connection.execute(text("SELECT state FROM disclosure_requests")).scalar() == "pending"
