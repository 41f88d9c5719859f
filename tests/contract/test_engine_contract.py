"""make_engine: SQLite set up as the stores assume, PostgreSQL URLs mapped to psycopg 3."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from accord.errors import StorageError
from accord.storage.sql import make_engine, redact
from accord.storage.sql.engine import BUSY_TIMEOUT_MS


def test_sqlite_makes_its_directory_and_runs_in_wal_with_foreign_keys(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'new' / 'dir' / 'accord.db'}")
    try:
        assert (tmp_path / "new" / "dir").is_dir()
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert connection.execute(text("PRAGMA busy_timeout")).scalar() == BUSY_TIMEOUT_MS
    finally:
        engine.dispose()


def test_sqlite_transactions_cover_reads_and_ddl(tmp_path: Path):
    # BEGIN comes from the engine, not from sqlite3's first INSERT: DDL rolls back too.
    engine = make_engine(f"sqlite:///{tmp_path / 'accord.db'}")
    try:
        with engine.connect() as connection:
            connection.execute(text("CREATE TABLE t (x INTEGER)"))
            assert connection.in_transaction()
            connection.rollback()
            assert connection.execute(text("SELECT name FROM sqlite_master WHERE name = 't'")).all() == []
    finally:
        engine.dispose()


@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "postgresql+psycopg"])
def test_postgresql_urls_use_psycopg_3(scheme: str):
    engine = make_engine(f"{scheme}://accord@db.example/accord")
    try:
        assert engine.dialect.driver == "psycopg"
    finally:
        engine.dispose()


def test_other_drivers_are_refused_with_the_password_hidden():
    with pytest.raises(StorageError, match="does not support") as refused:
        make_engine("postgresql+asyncpg://accord:s3cret@db.example/accord")
    assert "s3cret" not in refused.value.diagnostics()
    assert redact("postgresql://accord:s3cret@db.example/accord") == "postgresql://accord:***@db.example/accord"
