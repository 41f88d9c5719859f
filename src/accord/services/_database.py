"""One database for the node's services: the engine, the schema check and transactions.

A service that writes (records, audit) opens a :meth:`Database.transaction`, calls the
stores inside it and lets it commit at the end; any exception rolls everything back.
SQLAlchemy and Alembic errors leave as :class:`~accord.errors.StorageError` naming the
database (credentials redacted) with a hint on what to do. The registry is a
``Database`` too; :class:`NodeService` is the base of services that also need the
node's home (its identity and keys).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Self

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from accord.errors import StorageError
from accord.services.node import UnlockedNode, unlock

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: the SQLite lease is this process's only
    fcntl = None  # type: ignore[assignment]
from accord.services._turns import WriterTurns, turns_for
from accord.storage.sql import BUSY_TIMEOUT_MS, make_engine, migrate, reading, redact

__all__ = ["Database", "NodeService"]

_LOCAL_LEASES: dict[str, threading.Lock] = {}
_INIT_HINT = "run `accord init` to set up the node's database"


class Database:
    """The node's database (SQLite file or PostgreSQL), opened lazily."""

    def __init__(self, *, database_url: str) -> None:
        """Prepare to use ``database_url``; nothing connects until the first call."""
        self._engine = make_engine(database_url)
        self._reader = reading(self._engine)
        self._where = redact(database_url)
        self._schema_ok = False
        self._turns = _turns(self._engine.dialect.name, self._engine.url.database)

    @classmethod
    def sharing(cls, database: Database) -> Self:
        """A ``cls`` on ``database``'s engine: one connection pool per process (the registry beside the services)."""
        out = cls.__new__(cls)
        out._engine, out._reader, out._where = database._engine, database._reader, database._where  # noqa: SLF001 - the same class
        out._schema_ok, out._turns = database._schema_ok, database._turns  # noqa: SLF001 - the same class
        return out

    def __enter__(self) -> Self:
        """Use as ``with Database(database_url=…) as db:``."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the pooled connections."""
        self.close()

    def close(self) -> None:
        """Close every pooled connection; a later call reconnects."""
        self._engine.dispose()

    @contextmanager
    def transaction(self, action: str) -> Iterator[Session]:
        """A session in one transaction on an up-to-date schema: commits at the end,
        rolls back on any exception; ``action`` names the work in error messages.
        """  # noqa: D205 - the summary needs two lines
        self._require_schema()
        if self._turns is None:
            with self._errors(f"{action} in"), self._transaction() as session:
                yield session
            return
        with (
            self._turns.turn(f"{action} in {self._where}"),
            self._errors(f"{action} in"),
            self._transaction() as session,
        ):
            yield session

    @contextmanager
    def reading(self, action: str) -> Iterator[Session]:
        """A session in one transaction that only reads (a write in it fails); ``action`` as above.

        On SQLite it takes no write lock, so it neither waits for writers nor holds
        them up: it reads the last committed state.
        """
        self._require_schema()
        with self._errors(f"{action} in"), Session(self._reader) as session, session.begin():
            yield session

    @contextmanager
    def lease(self, name: str) -> Iterator[bool]:
        """Whether this process holds the lease ``name`` for the block (never waits).

        On PostgreSQL a session advisory lock on a connection of its own, so worker
        processes sharing the database exclude each other; on SQLite an exclusive
        ``flock`` on a lock file beside the database file, so ``accord serve`` and
        ``accord peers deliver`` on one node exclude each other too (an in-memory
        database: a lock of this process). Released at the end of the block, and by
        the operating system or the database when the holder dies.
        """
        if self._engine.dialect.name != "postgresql":
            with self._file_lease(name) as held:
                yield held
            return
        key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        with self._errors("take a lease in"), self._engine.connect() as connection:
            held = bool(connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
            connection.commit()
            try:
                yield held
            finally:
                if held:
                    connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    connection.commit()

    @contextmanager
    def _file_lease(self, name: str) -> Iterator[bool]:
        where = self._engine.url.database
        if not where or where == ":memory:" or fcntl is None:
            lock = _LOCAL_LEASES.setdefault(name, threading.Lock())
            held = lock.acquire(blocking=False)
            try:
                yield held
            finally:
                if held:
                    lock.release()
            return
        digest = hashlib.sha256(name.encode()).hexdigest()[:16]
        path = Path(f"{where}.lease-{digest}")
        try:
            handle = path.open("a+b")
        except OSError as e:
            msg = f"cannot open the lease file {path}: {e.strerror}"
            raise StorageError(msg, hint="the node's database folder must be writable") from e
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                held = True
            except BlockingIOError:
                held = False  # another process (or another open lease here) holds it
            try:
                yield held
            finally:
                if held:
                    fcntl.flock(handle, fcntl.LOCK_UN)

    def _require_schema(self) -> None:
        """Fail with the fix when the schema is missing or older than this code needs."""
        if self._schema_ok:
            return
        with self._errors("read"):
            found, wanted = migrate.current(self._reader), migrate.head()  # a read: no write lock
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
        # ours or the database's: "all or nothing" lives here.
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


def _turns(dialect: str, database: str | None) -> WriterTurns | None:
    """The process's turns at a SQLite file's write lock; none for PostgreSQL or an in-memory database."""
    if dialect != "sqlite" or not database or database == ":memory:" or database.startswith("file:"):
        return None
    return turns_for(Path(database).expanduser().resolve(), timeout=BUSY_TIMEOUT_MS / 1000)


class NodeService:
    """A service on the node's database that also uses the node's home (identity, keys)."""

    def __init__(self, *, database: Database, home: Path, unsafe_fast_kdf: bool = False) -> None:
        """Use ``database`` and the node identity under ``home``.

        ``unsafe_fast_kdf`` (tests only) lets the service open a key file made with the
        test-only scrypt cost when it unlocks the node itself from a passphrase; the
        entry point that sets it says so (see ``accord.config.Settings``).
        """
        self._db = database
        self._home = home
        self._unsafe_fast_kdf = unsafe_fast_kdf

    @classmethod
    def open(cls, *, database_url: str, home: Path, unsafe_fast_kdf: bool = False) -> Self:
        """The service of the node at ``home`` with its database at ``database_url``."""
        return cls(database=Database(database_url=database_url), home=home, unsafe_fast_kdf=unsafe_fast_kdf)

    def _unlock(self, passphrase: str | None) -> UnlockedNode:
        """The node's keys under ``passphrase`` (with the test-only cost if the service allows it)."""
        return unlock(self._home, passphrase, unsafe_fast_kdf=self._unsafe_fast_kdf)

    def __enter__(self) -> Self:
        """Use as ``with Service.open(…) as service:``; the connections close at the end."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the database connections."""
        self.close()

    def close(self) -> None:
        """Close the database connections."""
        self._db.close()


def _reason(error: SQLAlchemyError) -> str:
    # The driver's own message, first line only: SQLAlchemy appends the statement and
    # its parameters, which are long and may hold values the reader should not see.
    original = error.orig if isinstance(error, DBAPIError) else error
    text = str(original).strip().splitlines()
    return text[0] if text else type(error).__name__


def _hint(error: SQLAlchemyError) -> str:
    if isinstance(error, IntegrityError):
        return "the data breaks a rule of the schema; nothing was changed"
    if isinstance(error, OperationalError):
        return "check that the database is reachable and not locked by another process, then retry"
    return "nothing was changed; see the database's message above"
