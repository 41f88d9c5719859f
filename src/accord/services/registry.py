"""The node's agreement registry: set up its database, load a world into it, read it back.

:class:`Registry` owns the engine and the transactions: ``init`` migrates the schema,
``load_world`` stores a world in one transaction (all or nothing), and ``world`` reads
it back equal to what was loaded. Every database failure leaves here as a
:class:`~accord.errors.StorageError` with a message saying what to do; no SQLAlchemy
or Alembic exception escapes. Reading world files is ``services.world``'s job, and
deciding releases the policy engine's: this module only stores and fetches.
:class:`WorldCache` keeps the registry's world in a server's memory, keyed by its
fingerprint.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from accord.domain.world import World
from accord.errors import StorageError
from accord.services._database import Database
from accord.services.world import LoadedWorld, WorldSource, open_world
from accord.storage.sql import SqlWorldStore, migrate

__all__ = ["LoadReport", "Registry", "WorldCache"]

_SHIPPED = "shipped"  # the cache key when the registry holds no world


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

    @property
    def where(self) -> str:
        """The database, credentials redacted, for messages."""
        return self._where

    def fingerprint(self) -> str | None:
        """The loaded world's fingerprint (one small query), or ``None`` when none is loaded.

        A caller keeping the world in memory reads it again only when this changes.
        """
        self._require_schema()
        with self._errors("read the world from"), self._transaction() as session:
            return SqlWorldStore(session).fingerprint()

    def has_world(self) -> bool:
        """Whether a world is loaded; False for a database that was never initialised."""
        with self._errors("read"):
            if migrate.current(self._engine) is None:
                return False
        self._require_schema()
        with self._errors("read the world from"), self._transaction() as session:
            return SqlWorldStore(session).fingerprint() is not None


class WorldCache:
    """The world a long-running server answers from, read again only when the registry changes.

    The source rule of ``services.world.open_world``: ``env_path`` (``ACCORD_WORLD``)
    when given, read once; else the registry's world, kept in memory and keyed by its
    fingerprint (one small query per :meth:`current`, so a ``world load`` by another
    process is seen at the next request); else the shipped dataset.
    """

    def __init__(self, *, registry: Registry, env_path: Path | None = None) -> None:
        """Answer from ``registry``, or from ``env_path`` when it is given."""
        self._registry = registry
        self._env_path = env_path
        self._held: LoadedWorld | None = None
        self._key: str | None = None

    def close(self) -> None:
        """Close the registry's connections (a later call reconnects)."""
        self._registry.close()

    def current(self) -> LoadedWorld:
        """The world to answer from now."""
        held = self._held
        if self._env_path is not None:
            if held is None:
                held = self._held = open_world(env_path=self._env_path)
            return held
        key = self._registry.fingerprint() or _SHIPPED
        if held is None or key != self._key:
            if key == _SHIPPED:
                held = open_world()
            else:
                held = LoadedWorld(
                    world=self._registry.world(), source=WorldSource.REGISTRY, location=self._registry.where
                )
            self._held, self._key = held, key
        return held
