"""The SQL implementation of the storage ports: SQLite by default, PostgreSQL by URL.

``engine`` builds a configured engine from a URL, ``tables``, ``node_tables``,
``federation_tables``, ``disclosure_tables`` and ``witness_tables`` declare the schema,
``stores`` (the world), ``record_stores`` (records), ``release_stores`` (releases), ``audit_stores``,
``obligation_stores``, ``people_stores``, ``federation_stores``, ``disclosure_stores``
and ``witness_stores`` map rows to values, and ``migrate`` runs
the Alembic migrations under ``accord/storage/migrations``. Nothing here commits: the
caller's session does.
"""

from __future__ import annotations

# node_tables declares its tables on the registry's metadata: importing it here means
# that whoever imports anything of this package (migrations included) sees them all.
from accord.storage.sql import disclosure_tables as _disclosure_tables  # noqa: F401
from accord.storage.sql import node_tables as _node_tables  # noqa: F401
from accord.storage.sql.audit_stores import SqlAuditStore
from accord.storage.sql.engine import BUSY_TIMEOUT_MS, make_engine, reading, redact
from accord.storage.sql.federation_stores import SqlFederationStore
from accord.storage.sql.obligation_stores import SqlObligationStore
from accord.storage.sql.people_stores import SqlPeopleStore
from accord.storage.sql.record_stores import SqlRecordStore
from accord.storage.sql.release_stores import SqlReleaseStore
from accord.storage.sql.stores import SqlWorldStore
from accord.storage.sql.witness_stores import SqlWitnessStore

__all__ = [
    "BUSY_TIMEOUT_MS",
    "SqlAuditStore",
    "SqlFederationStore",
    "SqlObligationStore",
    "SqlPeopleStore",
    "SqlRecordStore",
    "SqlReleaseStore",
    "SqlWitnessStore",
    "SqlWorldStore",
    "make_engine",
    "reading",
    "redact",
]
