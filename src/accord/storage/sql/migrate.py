"""Run the registry's Alembic migrations from code.

The migration scripts ship inside the package (``accord/storage/migrations``), and the
Alembic configuration is built here, so an installed node needs no ``alembic.ini``.
Each call runs in one transaction on the given engine: a migration that fails leaves
the schema as it was. Deciding *when* to migrate is the caller's business
(``accord init`` through ``services.registry``); this module never does it on its own.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Connection, Engine

from accord.errors import StorageError
from accord.storage.sql.engine import redact

__all__ = ["current", "downgrade", "head", "upgrade"]

_SCRIPTS = Path(str(importlib.resources.files("accord.storage") / "migrations"))


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    # ConfigParser interpolates '%': double it so any install path survives.
    config.set_main_option("script_location", str(_SCRIPTS).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head() -> str:
    """The newest revision this version of Accord knows."""
    revision = ScriptDirectory.from_config(_config()).get_current_head()
    if revision is None:  # pragma: no cover - the package always ships its revisions
        msg = f"no migrations found under {_SCRIPTS}"
        raise StorageError(msg, hint="reinstall Accord")
    return revision


def current(engine: Engine) -> str | None:
    """The revision the database is at, or ``None`` if it was never migrated."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database up to ``revision`` (default: the newest); idempotent."""
    with engine.begin() as connection:
        _run(command.upgrade, connection, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Migrate the database down to ``revision`` (``"base"`` drops every table)."""
    with engine.begin() as connection:
        _run(command.downgrade, connection, revision)


def _run(step: Callable[[Config, str], None], connection: Connection, revision: str) -> None:
    try:
        step(_config(connection), revision)
    except CommandError as e:
        # Typically a database migrated by a newer Accord: its revision is unknown here.
        msg = f"cannot migrate {redact(connection.engine.url)} to {revision}: {e}"
        raise StorageError(msg, hint="use the Accord version that last migrated this database") from e
