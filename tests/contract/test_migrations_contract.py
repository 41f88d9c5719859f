"""Migrations on SQLite and PostgreSQL: upgrade, downgrade to base, upgrade again."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from accord.storage.sql import make_engine, migrate
from accord.storage.sql.tables import metadata


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def registry_tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def test_upgrade_downgrade_upgrade(engine: Engine):
    assert migrate.current(engine) is None

    migrate.upgrade(engine)
    assert migrate.current(engine) == migrate.head()
    assert registry_tables(engine) == set(metadata.tables)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT id, fingerprint FROM world")).all() == [(1, None)]
        # tables.py and the frozen migration are written twice on purpose: catch drift.
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []

    migrate.downgrade(engine, "base")
    assert migrate.current(engine) is None
    assert registry_tables(engine) == set()

    migrate.upgrade(engine)
    migrate.upgrade(engine)  # already at head: nothing to do
    assert migrate.current(engine) == migrate.head()
    assert registry_tables(engine) == set(metadata.tables)
