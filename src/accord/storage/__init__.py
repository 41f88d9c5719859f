"""Storage: the ports services depend on and their implementations.

``ports`` declares the Protocols, ``memory`` keeps values in memory (tests), and
``accord.storage.sql`` stores them in SQLite or PostgreSQL through SQLAlchemy, with
Alembic migrations. Nothing here decides, signs or reads the clock; nothing here
commits on its own either: services own transactions.
"""

from __future__ import annotations

from accord.storage.memory import InMemoryWorldStore
from accord.storage.ports import WorldStore

__all__ = ["InMemoryWorldStore", "WorldStore"]
