"""The node's agreement registry: set up its database, load a world into it, read it back.

:class:`Registry` owns the engine and the transactions: ``init`` migrates the schema,
``load_world`` stores a world in one transaction (all or nothing), and ``world`` reads
it back equal to what was loaded. Every database failure leaves here as a
:class:`~accord.errors.StorageError` with a message saying what to do; no SQLAlchemy
or Alembic exception escapes. Reading world files is ``services.world``'s job, and
deciding releases the policy engine's: this module only stores and fetches.
"""

from __future__ import annotations

import dataclasses

from accord.domain.world import World
from accord.errors import StorageError
from accord.services._database import Database
from accord.storage.sql import SqlWorldStore, migrate

__all__ = ["LoadReport", "Registry"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class LoadReport:
    """What a world load did: whether anything changed, and what the world holds."""

    changed: bool
    parties: int
    schemes: int
    agreements: int
    fingerprint: str  # World.fingerprint of the world now stored

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-compatible form (for ``--json`` output)."""
        return dataclasses.asdict(self)


class Registry(Database):
    """The agreement registry in one database (SQLite file or PostgreSQL)."""

    def init(self) -> None:
        """Create or upgrade the schema to this version's newest; safe to repeat."""
        with self._errors("set up"):
            migrate.upgrade(self._engine)
        self._schema_ok = True

    def load_world(self, world: World) -> LoadReport:
        """Store ``world`` in one transaction, replacing agreements whose fingerprint changed.

        Loading the same world again changes nothing and reports ``changed=False``. A
        load that fails for any reason rolls back and leaves the registry as it was.
        """
        self._require_schema()
        with self._errors("load the world into"), self._transaction() as session:
            changed = SqlWorldStore(session).save(world)
        return LoadReport(
            changed=changed,
            parties=len(world.parties),
            schemes=len(world.schemes),
            agreements=len(world.agreements),
            fingerprint=world.fingerprint,
        )

    def world(self) -> World:
        """The world loaded last, equal to the one given to :meth:`load_world`.

        Raises:
            StorageError: the database is not initialised, holds no world, or refused.
        """
        self._require_schema()
        with self._errors("read the world from"), self._transaction() as session:
            world = SqlWorldStore(session).load()
        if world is None:
            msg = f"no world loaded in {self._where}"
            raise StorageError(msg, hint="run `accord world load` to load the agreement dataset")
        return world

    def has_world(self) -> bool:
        """Whether a world is loaded; False for a database that was never initialised."""
        with self._errors("read"):
            if migrate.current(self._engine) is None:
                return False
        self._require_schema()
        with self._errors("read the world from"), self._transaction() as session:
            return SqlWorldStore(session).fingerprint() is not None
