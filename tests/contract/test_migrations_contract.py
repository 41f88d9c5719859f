"""Migrations on SQLite and PostgreSQL: upgrade, downgrade step by step and to base, upgrade
again; and the schema they build is exactly the one tables.py and node_tables.py declare."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import CheckConstraint, Engine, inspect, text

from accord.storage.sql import make_engine, migrate
from accord.storage.sql.disclosure_tables import DISCLOSURE_TABLES
from accord.storage.sql.node_tables import COUNTERS, NODE_TABLES
from accord.storage.sql.tables import metadata

REGISTRY = "a981b05a95dd"  # the first revision: the agreement registry alone


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def _squeeze(sql: str) -> str:
    return re.sub(r"\s+", " ", sql).strip()


def assert_schema_is_the_declared_one(engine: Engine) -> None:
    """tables.py and the frozen migrations are written twice on purpose: catch drift."""
    assert tables(engine) == set(metadata.tables)
    with engine.connect() as connection:
        # Columns, types, nullability, keys, unique constraints, indexes, foreign keys.
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
    # Alembic does not compare CHECK constraints: compare their names everywhere, and
    # on SQLite (which keeps the text as written) their expressions too.
    inspector = inspect(engine)
    for table in metadata.sorted_tables:
        declared = {str(c.name): _squeeze(str(c.sqltext)) for c in table.constraints if isinstance(c, CheckConstraint)}
        found = {c["name"]: _squeeze(c["sqltext"]) for c in inspector.get_check_constraints(table.name)}
        assert set(found) == set(declared), table.name
        if engine.dialect.name == "sqlite":
            assert found == declared, table.name


def test_upgrade_downgrade_upgrade(engine: Engine):
    assert migrate.current(engine) is None

    migrate.upgrade(engine)
    assert migrate.current(engine) == migrate.head()
    assert_schema_is_the_declared_one(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT id, fingerprint FROM world")).all() == [(1, None)]
        counters = connection.execute(text("SELECT name, value FROM counters ORDER BY name")).all()
        assert counters == sorted((name, 0) for name in COUNTERS)

    migrate.downgrade(engine, "base")
    assert migrate.current(engine) is None
    assert tables(engine) == set()

    migrate.upgrade(engine)
    migrate.upgrade(engine)  # already at head: nothing to do
    assert migrate.current(engine) == migrate.head()
    assert_schema_is_the_declared_one(engine)


def test_the_node_tables_come_and_go_with_their_own_revision(engine: Engine):
    node = {t.name for t in (*NODE_TABLES, *DISCLOSURE_TABLES)}
    migrate.upgrade(engine, REGISTRY)
    assert tables(engine) == set(metadata.tables) - node
    with engine.begin() as connection:
        connection.execute(text("UPDATE world SET fingerprint = :f"), {"f": "f" * 64})

    migrate.upgrade(engine)
    assert tables(engine) == set(metadata.tables)
    with engine.begin() as connection:
        connection.execute(text("UPDATE counters SET value = 7 WHERE name = 'records'"))

    migrate.downgrade(engine, REGISTRY)
    assert migrate.current(engine) == REGISTRY
    assert tables(engine) == set(metadata.tables) - node
    with engine.connect() as connection:  # the registry's data is left as it was
        assert connection.execute(text("SELECT fingerprint FROM world")).scalar() == "f" * 64

    migrate.upgrade(engine)
    assert_schema_is_the_declared_one(engine)
    with engine.connect() as connection:  # a fresh start: the counters are seeded again
        assert connection.execute(text("SELECT value FROM counters WHERE name = 'records'")).scalar() == 0


def _alembic_current(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def test_the_cheap_revision_readings_agree_with_alembic(engine: Engine):
    """``head``/``current`` read the scripts and the version table without Alembic: same answers."""
    scripts = ScriptDirectory.from_config(migrate._config())
    assert migrate.head() == scripts.get_current_head()
    assert migrate.current(engine) is None
    assert _alembic_current(engine) is None
    for step in reversed(list(scripts.walk_revisions())):
        migrate.upgrade(engine, step.revision)
        assert migrate.current(engine) == _alembic_current(engine) == step.revision
    migrate.downgrade(engine, "base")
    assert migrate.current(engine) is None
    assert _alembic_current(engine) is None
