"""The SQL implementation of the storage ports: SQLite by default, PostgreSQL by URL.

``engine`` builds a configured engine from a URL, ``tables`` declares the schema,
``stores`` maps rows to domain values, and ``migrate`` runs the Alembic migrations
under ``accord/storage/migrations``. Nothing here commits: the caller's session does.
"""

from __future__ import annotations

from accord.storage.sql.engine import make_engine, redact
from accord.storage.sql.stores import SqlWorldStore

__all__ = ["SqlWorldStore", "make_engine", "redact"]
