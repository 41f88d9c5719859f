"""Storage: the ports services depend on and their implementations.

``ports`` declares the Protocols, ``values`` the values they exchange beyond the
domain's, ``memory`` keeps values in memory (tests), and ``accord.storage.sql`` stores
them in SQLite or PostgreSQL through SQLAlchemy, with Alembic migrations. Nothing here
decides, signs, encrypts or reads the clock; nothing here commits on its own either:
services own transactions.
"""

from __future__ import annotations

from accord.storage.memory import (
    InMemoryAuditStore,
    InMemoryObligationStore,
    InMemoryRecordStore,
    InMemoryReleaseStore,
    InMemoryWorldStore,
)
from accord.storage.ports import AuditStore, ObligationStore, RecordStore, ReleaseStore, WorldStore
from accord.storage.values import (
    Body,
    FileBody,
    InlineBody,
    RecallState,
    RecallStatus,
    Release,
    ReleaseState,
    ReportState,
    ReportStatus,
    Signed,
    StoredRecord,
)

__all__ = [
    "AuditStore",
    "Body",
    "FileBody",
    "InMemoryAuditStore",
    "InMemoryObligationStore",
    "InMemoryRecordStore",
    "InMemoryReleaseStore",
    "InMemoryWorldStore",
    "InlineBody",
    "ObligationStore",
    "RecallState",
    "RecallStatus",
    "RecordStore",
    "Release",
    "ReleaseState",
    "ReleaseStore",
    "ReportState",
    "ReportStatus",
    "Signed",
    "StoredRecord",
    "WorldStore",
]
