"""One database for the node's services: the engine, the schema check and transactions.

A service that writes (records, audit) opens a :meth:`Database.transaction`, calls the
stores inside it and lets it commit at the end; any exception rolls everything back.
SQLAlchemy errors leave as :class:`~accord.errors.StorageError` naming the database
(credentials redacted). The registry keeps its own copy of this pattern for now.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Self

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from accord.errors import StorageError
from accord.services.registry import _hint, _reason
from accord.storage.sql import make_engine, migrate, redact

__all__ = ["Database"]


class Database:
    """The node's database (SQLite file or PostgreSQL), opened lazily."""

    def __init__(self, *, database_url: str) -> None:
        """Prepare to use ``database_url``; nothing connects until the first transaction."""
        self._engine = make_engine(database_url)
        self.where = redact(database_url)
        self._schema_ok = False

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
        """A session in one transaction: commits at the end, rolls back on any exception."""
        self._require_schema(action)
        try:
            with Session(self._engine) as session, session.begin():
                yield session
        except SQLAlchemyError as e:
            msg = f"cannot {action} in {self.where}: {_reason(e)}"
            raise StorageError(msg, hint=_hint(e)) from e

    def _require_schema(self, action: str) -> None:
        if self._schema_ok:
            return
        try:
            found, wanted = migrate.current(self._engine), migrate.head()
        except SQLAlchemyError as e:
            msg = f"cannot {action} in {self.where}: {_reason(e)}"
            raise StorageError(msg, hint=_hint(e)) from e
        if found != wanted:
            msg = f"the database {self.where} is not initialised at this Accord's schema ({wanted})"
            raise StorageError(msg, hint="run `accord init` to set up or upgrade it (back it up first)")
        self._schema_ok = True
