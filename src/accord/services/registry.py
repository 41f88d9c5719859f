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
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Self

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from accord.domain.world import World
from accord.errors import StorageError
from accord.storage.sql import SqlWorldStore, make_engine, migrate, redact

__all__ = ["LoadReport", "Registry"]

_INIT_HINT = "run `accord init` to set up the node's database"


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


class Registry:
    """The agreement registry in one database (SQLite file or PostgreSQL)."""

    def __init__(self, *, database_url: str) -> None:
        """Prepare to use ``database_url``; nothing connects until the first call."""
        self._engine = make_engine(database_url)
        self._where = redact(database_url)
        self._schema_ok = False

    def __enter__(self) -> Self:
        """Use as ``with Registry(database_url=…) as registry:``."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the registry's connections."""
        self.close()

    def close(self) -> None:
        """Close every pooled connection; a later call reconnects."""
        self._engine.dispose()

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

    # -- internals ------------------------------------------------------------------

    def _require_schema(self) -> None:
        """Fail with the fix when the schema is missing or older than this code needs."""
        if self._schema_ok:
            return
        with self._errors("read"):
            found, wanted = migrate.current(self._engine), migrate.head()
        if found is None:
            msg = f"the database {self._where} is not initialised"
            raise StorageError(msg, hint=_INIT_HINT)
        if found != wanted:
            msg = f"the database {self._where} has schema revision {found}; this Accord needs {wanted}"
            raise StorageError(msg, hint="run `accord init` to upgrade it (back it up first)")
        self._schema_ok = True

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        # Session.begin commits when the block ends and rolls back on any exception,
        # ours or the database's: the "all or nothing" of load_world lives here.
        with Session(self._engine) as session, session.begin():
            yield session

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Turn SQLAlchemy's exceptions into a StorageError naming the database."""
        try:
            yield
        except SQLAlchemyError as e:
            msg = f"cannot {action} {self._where}: {_reason(e)}"
            raise StorageError(msg, hint=_hint(e)) from e


def _reason(error: SQLAlchemyError) -> str:
    # The driver's own message, first line only: SQLAlchemy appends the statement and
    # its parameters, which are long and may hold values the reader should not see.
    original = error.orig if isinstance(error, DBAPIError) else error
    text = str(original).strip().splitlines()
    return text[0] if text else type(error).__name__


def _hint(error: SQLAlchemyError) -> str:
    if isinstance(error, IntegrityError):
        return "the data breaks a rule of the registry schema; nothing was changed"
    if isinstance(error, OperationalError):
        return "check that the database is reachable and not locked by another process, then retry"
    return "nothing was changed; see the database's message above"
