"""Build the SQLAlchemy engine for a node's database: SQLite by default, PostgreSQL by URL.

:func:`make_engine` turns a URL into an engine set up the way the rest of the storage
layer assumes: SQLite in WAL mode with foreign keys enforced, a busy timeout and real
transactions; PostgreSQL through psycopg 3. It does not connect (the first query does)
and it does not create tables: that is :mod:`accord.storage.sql.migrate`.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Final

from sqlalchemy import Connection, Engine, create_engine, event, make_url
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError

from accord.errors import StorageError

__all__ = ["BUSY_TIMEOUT_MS", "make_engine", "reading", "redact"]

BUSY_TIMEOUT_MS: Final = 10_000
"""How long a SQLite connection waits for another writer's lock before giving up."""
_READ_ONLY: Final = "accord_read_only"
_QUERY_ONLY: Final = "accord_query_only"  # the PRAGMA's state on a SQLite connection, to set it only on a change

# Spellings people paste for PostgreSQL; all mean psycopg 3, the only driver we ship.
_POSTGRES_ALIASES: Final = frozenset({"postgres", "postgresql", "postgresql+psycopg"})
_SQLITE_ALIASES: Final = frozenset({"sqlite", "sqlite+pysqlite"})
_SUPPORTED: Final = "sqlite:///path/to/accord.db or postgresql://user@host/db"


def redact(url: str | URL) -> str:
    """The URL with any password masked, safe for messages and logs."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return "<unparseable database URL>"
    return parsed.render_as_string(hide_password=True)


def reading(engine: Engine) -> Engine:
    """``engine`` for transactions that only read: on SQLite they take no write lock.

    Every transaction on a plain engine from :func:`make_engine` takes SQLite's write
    lock at BEGIN (see ``_sqlite_on_begin``), so a read waits behind every writer, and
    every writer behind it. A read-only one begins deferred and reads a WAL snapshot
    instead. The database enforces it on both dialects (SQLite ``query_only``,
    PostgreSQL ``READ ONLY``): a write in it fails instead of waiting for a lock.
    """
    return engine.execution_options(**{_READ_ONLY: True})


def make_engine(url: str) -> Engine:
    """Return an engine for ``url``, or raise :class:`StorageError` saying what is wrong.

    ``postgresql://`` (and ``postgres://``) URLs are mapped to psycopg 3. For a SQLite
    file the parent directory is created, so a fresh node home just works.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as e:
        msg = f"{url!r} is not a database URL"
        raise StorageError(msg, hint=f"use {_SUPPORTED}") from e
    if parsed.drivername in _SQLITE_ALIASES:
        return _sqlite_engine(parsed)
    if parsed.drivername in _POSTGRES_ALIASES:
        return _postgres_engine(parsed.set(drivername="postgresql+psycopg"))
    msg = f"database {redact(parsed)} uses {parsed.drivername!r}, which Accord does not support"
    raise StorageError(msg, hint=f"use {_SUPPORTED}")


def _sqlite_engine(url: URL) -> Engine:
    database = url.database or ""
    # ":memory:", "" and "file:" URIs name no directory we could or should create.
    if database and database != ":memory:" and not database.startswith("file:"):
        try:
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            msg = f"cannot create the directory for {database}: {e.strerror}"
            raise StorageError(msg, hint="check the path and its permissions") from e
    engine = create_engine(url)
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    # Python's sqlite3 (before 3.16) only opens a transaction at the first INSERT,
    # UPDATE or DELETE, so the reads a store makes before writing would fall outside
    # it and DDL would autocommit. Switching its own control off lets _sqlite_on_begin
    # issue BEGIN where SQLAlchemy begins, giving whole transactions (and
    # transactional migrations).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        # Enforced per connection, off by default in SQLite: without it the schema's
        # foreign keys and ON DELETE CASCADE are decoration.
        cursor.execute("PRAGMA foreign_keys = ON")
        # Wait for a concurrent writer instead of failing at once with "locked".
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS:d}")
        # WAL lets readers (API workers, the CLI) run while one writer commits. It is
        # persistent in the file; an in-memory database answers "memory" and stays so.
        cursor.execute("PRAGMA journal_mode = WAL")
    finally:
        cursor.close()


def _sqlite_on_begin(connection: Connection) -> None:
    # IMMEDIATE takes the write lock at BEGIN. A deferred transaction that reads and
    # then writes while another process writes fails at once with "database is locked"
    # (SQLite cannot upgrade its lock and the busy timeout does not apply); taking the
    # lock first makes it wait its turn instead. A transaction declared read-only (see
    # ``reading``) begins deferred under ``query_only``, so it cannot write at all.
    read_only = bool(connection.get_execution_options().get(_READ_ONLY))
    info = connection.connection.info
    if info.get(_QUERY_ONLY, False) is not read_only:
        connection.exec_driver_sql(f"PRAGMA query_only = {'ON' if read_only else 'OFF'}")
        info[_QUERY_ONLY] = read_only
    connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def _postgres_on_begin(connection: Connection) -> None:
    if connection.get_execution_options().get(_READ_ONLY):
        connection.exec_driver_sql("SET TRANSACTION READ ONLY")


def _postgres_engine(url: URL) -> Engine:
    try:
        # pre_ping: a server restart or an idle timeout must not surface as the next
        # request's error on a long-running node.
        engine = create_engine(url, pool_pre_ping=True)
    except ModuleNotFoundError as e:
        msg = f"PostgreSQL database {redact(url)} needs the psycopg driver, not installed"
        raise StorageError(msg, hint="install it with: pip install 'accord[postgres]'") from e
    event.listen(engine, "begin", _postgres_on_begin)
    return engine
