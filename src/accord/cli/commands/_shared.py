"""What every command shares: exit codes, the common options, consoles and JSON output.

Settings are read here, when a command runs, never at import time; the world a
reading command works on comes from :func:`open_cli_world`, which applies the one
source rule of ``accord.services.world``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Final

import typer
from rich.console import Console
from rich.table import Table

from accord.config import Settings
from accord.services.world import SOURCE_RULE, LoadedWorld, open_world

__all__ = [
    "EXIT_ALARM",
    "EXIT_BAD_INPUT",
    "EXIT_DENIED",
    "EXIT_OK",
    "SOURCE_RULE",
    "JsonOption",
    "OnOption",
    "WorldOption",
    "new_table",
    "open_cli_world",
    "print_json",
    "stdout",
]

EXIT_OK: Final = 0
EXIT_DENIED: Final = 1
EXIT_BAD_INPUT: Final = 2
EXIT_ALARM: Final = 3  # `accord audit witness`: a peer's audit log was found rewritten (an open alarm)

WorldOption = Annotated[
    Path | None,
    typer.Option(
        "--world",
        metavar="PATH",
        help=f"World directory to read instead of the default. {SOURCE_RULE}",
        show_default=False,
    ),
]
OnOption = Annotated[
    str | None,
    typer.Option(
        "--on",
        metavar="DATE",
        help="The date to answer for, YYYY-MM-DD (default: today).",
        show_default=False,
    ),
]
JsonOption = Annotated[
    bool,
    typer.Option("--json", help="Print exactly one JSON object on stdout instead of tables."),
]


def stdout() -> Console:
    """A console on stdout; plain text when piped (Rich drops colour and styles)."""
    return Console(highlight=False)


def new_table(title: str, columns: tuple[str, ...], *, wrap: tuple[str, ...] = ()) -> Table:
    """A table whose columns keep ids and dates on one line; ``wrap`` columns fold text."""
    table = Table(title=title)
    for column in columns:
        if column in wrap:
            table.add_column(column, overflow="fold")
        else:
            table.add_column(column, no_wrap=True)
    return table


def print_json(value: object) -> None:
    """Print one JSON object, UTF-8 and indented, and nothing else on stdout."""
    typer.echo(json.dumps(value, ensure_ascii=False, indent=2))


def settings() -> Settings:
    """The node's settings, read from ``ACCORD_*`` now (not at import time)."""
    return Settings()


def open_cli_world(path: Path | None) -> LoadedWorld:
    """The world a reading command works on (``SOURCE_RULE``)."""
    current = settings()
    return open_world(path=path, env_path=current.world, database_url=current.resolved_database_url)
