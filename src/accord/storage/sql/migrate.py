"""Run the registry's Alembic migrations from code, and read the schema revision cheaply.

The migration scripts ship inside the package (``accord/storage/migrations``), and the
Alembic configuration is built here, so an installed node needs no ``alembic.ini``.
Each call runs in one transaction on the given engine: a migration that fails leaves
the schema as it was. Deciding *when* to migrate is the caller's business
(``accord init`` through ``services.registry``); this module never does it on its own.

Every service checks the schema before its first transaction (:func:`current` against
:func:`head`), so those two do not import Alembic (about half a second per process):
``head`` reads the ``revision``/``down_revision`` lines of the shipped scripts, and
``current`` reads Alembic's version table with one query. Alembic itself loads only to
migrate; ``tests/contract/test_migrations_contract.py`` checks both readings against it.
"""

from __future__ import annotations

import importlib.resources
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text

from accord.errors import StorageError
from accord.storage.sql.engine import redact

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["VERSION_TABLE", "current", "downgrade", "head", "upgrade"]

_SCRIPTS = Path(str(importlib.resources.files("accord.storage") / "migrations"))
VERSION_TABLE = "alembic_version"  # Alembic's default, which env.py keeps
_REVISION = re.compile(r'^revision(?:: str)? = "([0-9a-f]+)"$', re.MULTILINE)
_DOWN = re.compile(r'^down_revision(?:: [^=]+)? = (?:"([0-9a-f]+)"|None)$', re.MULTILINE)


def _config(connection: Connection | None = None) -> Config:
    from alembic.config import Config  # noqa: PLC0415 - Alembic loads only to migrate

    config = Config()
    # ConfigParser interpolates '%': double it so any install path survives.
    config.set_main_option("script_location", str(_SCRIPTS).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@cache
def head() -> str:
    """The newest revision this version of Accord knows: the one no script names as its parent."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (_SCRIPTS / "versions").glob("*.py"):
        source = script.read_text(encoding="utf-8")
        revision, down = _REVISION.search(source), _DOWN.search(source)
        if revision is None or down is None:  # pragma: no cover - every shipped script has both lines
            msg = f"cannot read the revision of migration {script.name}"
            raise StorageError(msg, hint="reinstall Accord")
        revisions.add(revision.group(1))
        if down.group(1):
            parents.add(down.group(1))
    heads = revisions - parents
    if len(heads) != 1:  # pragma: no cover - the package always ships one chain
        msg = f"the migrations under {_SCRIPTS} have {len(heads)} heads, not one"
        raise StorageError(msg, hint="reinstall Accord")
    return heads.pop()


def current(engine: Engine) -> str | None:
    """The revision the database is at, or ``None`` if it was never migrated."""
    with engine.connect() as connection:
        if not inspect(connection).has_table(VERSION_TABLE):
            return None
        row = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).first()  # noqa: S608 - a constant
        return None if row is None else str(row[0])


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database up to ``revision`` (default: the newest); idempotent."""
    from alembic import command  # noqa: PLC0415 - Alembic loads only to migrate

    with engine.begin() as connection:
        _run(command.upgrade, connection, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Migrate the database down to ``revision`` (``"base"`` drops every table)."""
    from alembic import command  # noqa: PLC0415 - Alembic loads only to migrate

    with engine.begin() as connection:
        _run(command.downgrade, connection, revision)


def _run(step: Callable[[Config, str], None], connection: Connection, revision: str) -> None:
    from alembic.util.exc import CommandError  # noqa: PLC0415 - Alembic loads only to migrate

    try:
        step(_config(connection), revision)
    except CommandError as e:
        # Typically a database migrated by a newer Accord: its revision is unknown here.
        msg = f"cannot migrate {redact(connection.engine.url)} to {revision}: {e}"
        raise StorageError(msg, hint="use the Accord version that last migrated this database") from e
