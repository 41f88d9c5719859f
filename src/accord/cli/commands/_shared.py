"""What every command shares: exit codes, the common options, consoles and JSON output.

Settings are read here, when a command runs, never at import time; the world a
reading command works on comes from :func:`open_cli_world`, which applies the one
source rule of ``accord.services.world``. Every command that opens the node's keys
does so through :func:`unlock` (or passes the switch to the service that does), so
the test-only ``$ACCORD_UNSAFE_FAST_KDF`` works alike everywhere: the key store logs
a warning whenever it opens a file at that cost; commands that write key files say
so too (:func:`unsafe_fast_kdf`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Final

import typer
from rich.console import Console
from rich.table import Table

from accord.config import Settings
from accord.services.world import SOURCE_RULE, LoadedWorld, open_world

if TYPE_CHECKING:
    from accord.services.node import UnlockedNode

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
    "passphrase",
    "print_json",
    "settings",
    "stdout",
    "unlock",
    "unsafe_fast_kdf",
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


def unsafe_fast_kdf(current: Settings) -> bool:
    """Whether the test-only fast-KDF switch is on; says so on stderr when it is."""
    if current.unsafe_fast_kdf:
        typer.echo(
            "warning: ACCORD_UNSAFE_FAST_KDF is set: key files use a test-only scrypt cost far below "
            "the floor; never use it for a real node",
            err=True,
        )
    return current.unsafe_fast_kdf


def passphrase(current: Settings) -> str | None:
    """``$ACCORD_KEY_PASSPHRASE``, or ``None`` when unset."""
    return current.key_passphrase.get_secret_value() if current.key_passphrase else None


def unlock(home: Path, secret: str | None) -> UnlockedNode:
    """The node's keys at ``home`` under ``secret``.

    With the test-only switch on, a key file made at the test-only cost opens too (the
    key store then logs a warning on stderr); without it, such a file is refused.
    """
    from accord.services import node  # noqa: PLC0415 - the crypto loads only for commands that unlock

    return node.unlock(home, secret, unsafe_fast_kdf=settings().unsafe_fast_kdf)


def open_cli_world(path: Path | None) -> LoadedWorld:
    """The world a reading command works on (``SOURCE_RULE``)."""
    current = settings()
    return open_world(path=path, env_path=current.world, database_url=current.resolved_database_url)
