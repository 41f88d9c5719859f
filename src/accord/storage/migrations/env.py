"""Alembic environment for the agreement registry.

``accord.storage.sql.migrate`` runs it with an open connection in
``config.attributes["connection"]`` (inside that connection's transaction), so an
installed Accord needs no ``alembic.ini``. A developer writing a new revision runs
``alembic -c src/accord/storage/migrations/alembic.ini revision --autogenerate -m …``
instead, and the URL comes from that file (``-x url=…`` overrides it).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from accord.storage.sql.engine import make_engine
from accord.storage.sql.tables import metadata

config = context.config


def _url() -> str:
    return context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url") or ""


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # Both databases roll DDL back (SQLite too: make_engine issues BEGIN itself),
        # so a migration that fails half-way leaves the schema as it was.
        transactional_ddl=True,
        # SQLite cannot ALTER most things in place; batch mode copies the table.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    """Run the migrations online (on a connection) or offline (printing SQL)."""
    if context.is_offline_mode():
        context.configure(url=_url(), target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url())
    try:
        with engine.connect() as fresh:
            _run(fresh)
            fresh.commit()
    finally:
        engine.dispose()


main()
