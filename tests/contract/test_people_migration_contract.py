"""Revision c4e1a7d2b9f3 (people) on SQLite and PostgreSQL: upgrade, downgrade, upgrade again.

Its tables come and go with it, the data of the revisions before it is left as it was,
and the schema at head is exactly the one node_tables.py declares.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, inspect, text

from accord.storage.sql import make_engine, migrate
from accord.storage.sql.disclosure_tables import DISCLOSURE_TABLES
from accord.storage.sql.federation_tables import FEDERATION_TABLES
from accord.storage.sql.node_tables import PEOPLE_TABLES
from accord.storage.sql.tables import metadata
from accord.storage.sql.witness_tables import WITNESS_TABLES
from tests.contract.test_migrations_contract import assert_schema_is_the_declared_one

PEOPLE = "c4e1a7d2b9f3"
BEFORE = "3552f5f9115f"  # file body names: the revision this one follows
# tables of the revisions after this one
LATER = {t.name for t in (*FEDERATION_TABLES, *DISCLOSURE_TABLES, *WITNESS_TABLES)} | {"decision_evidence"}


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def test_the_people_tables_come_and_go_with_their_own_revision(engine: Engine):
    people = {t.name for t in PEOPLE_TABLES}
    assert people == {"people", "person_roles", "person_topics", "api_tokens", "web_sessions", "people_guard"}

    migrate.upgrade(engine, BEFORE)
    assert tables(engine) == set(metadata.tables) - people - LATER
    with engine.begin() as connection:
        connection.execute(text("UPDATE counters SET value = 3 WHERE name = 'records'"))

    migrate.upgrade(engine, PEOPLE)
    assert tables(engine) >= people
    migrate.upgrade(engine)
    assert_schema_is_the_declared_one(engine)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO people (id, party, name, clearance, password_hash, failures, locked, created_at,"
                " updated_at) VALUES ('kim', 'KOR', 'Kim', NULL, NULL, 0, :f, 't', 't')"
            ),
            {"f": False},
        )
        connection.execute(text("INSERT INTO person_roles (person_id, role) VALUES ('kim', 'administrator')"))

    migrate.downgrade(engine, BEFORE)
    assert migrate.current(engine) == BEFORE
    assert tables(engine) == set(metadata.tables) - people - LATER
    with engine.connect() as connection:  # what came before is left as it was
        assert connection.execute(text("SELECT value FROM counters WHERE name = 'records'")).scalar() == 3

    migrate.upgrade(engine)
    assert_schema_is_the_declared_one(engine)
    with engine.connect() as connection:  # a fresh start: the people went with the downgrade
        assert connection.execute(text("SELECT count(*) FROM people")).scalar() == 0
