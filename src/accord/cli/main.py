"""The ``accord`` command: the Typer application and its one error handler.

Exit status, which scripts can rely on: 0 success (and "allowed" for ``decide``), 1 a
denied release, 2 bad input: an ``accord.errors.Error`` (printed as one ``error:``
line, with a hint when there is one) or a usage error (unknown option, missing value),
3 an open witness alarm (``accord audit witness``: a peer's log was not an extension
of what it showed before).
Any other exception is a bug and keeps its traceback.

Commands load lazily: each top-level command is an entry of :data:`COMMANDS` that
imports its module (and through it the services, SQLAlchemy, httpx, uvicorn...) only
when that command runs or shows its own help, so ``accord decide`` does not pay for
the HTTP server and ``accord --help`` pays for none of them. The top-level help lists
each command with the one-line summary kept here; ``tests/cli/test_help.py`` checks
that these summaries are exactly what the loaded commands say. This module does not
define any command itself.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any, Final

import typer
from typer.core import TyperGroup

from accord.errors import Error

__all__ = ["COMMANDS", "Command", "app", "eager_app", "run"]

_HELP: Final = (
    "Accord: agreement-governed information sharing between allied parties. "
    "Exit status: 0 success or allowed, 1 denied, 2 bad input, 3 witness alarm open."
)
_SETTINGS: Final[dict[str, Any]] = {
    "name": "accord",
    "help": _HELP,
    "no_args_is_help": True,
    "add_completion": False,
    "pretty_exceptions_show_locals": False,  # locals may hold secrets
}


# -- how each command is found: a module of accord.cli.commands and a name in it ----------


def _wire_node() -> None:
    from accord.cli.commands import node, peers  # noqa: PLC0415 - loaded when the command runs

    if "export-descriptor" not in {c.name for c in node.app.registered_commands}:
        node.app.command("export-descriptor")(peers.export_descriptor_command)


def _wire_records() -> None:
    # Releases are commands of ``accord records``: a release is always of one record.
    from accord.cli.commands import records, releases  # noqa: PLC0415 - loaded when the command runs

    if "release" not in {c.name for c in records.app.registered_commands}:
        records.app.command("release")(releases.release)
        records.app.command("receive")(releases.receive)
        records.app.command("inbox")(releases.inbox)
        records.app.command("sent")(releases.sent)
        records.app.command("open")(releases.open_release)


def _wire_obligations() -> None:
    from accord.cli.commands import bundles, obligations  # noqa: PLC0415 - loaded when the command runs

    if "send" not in {c.name for c in obligations.app.registered_commands}:
        obligations.app.command("send")(bundles.send_obligation)


@dataclass(frozen=True, slots=True, kw_only=True)
class Command:
    """A top-level command: its summary for ``accord --help``, and where it is defined.

    ``attribute`` of ``accord.cli.commands.<module>`` is a function (one command) or a
    Typer app (a group); ``wire`` first adds the commands defined in other modules.
    """

    summary: str
    module: str
    attribute: str
    wire: Callable[[], None] | None = None

    def register(self, app: typer.Typer, name: str) -> None:
        """Import the command's module and add the command to ``app`` as ``name``."""
        if self.wire is not None:
            self.wire()
        target = getattr(importlib.import_module(f"accord.cli.commands.{self.module}"), self.attribute)
        if isinstance(target, typer.Typer):
            app.add_typer(target, name=name)
        else:
            app.command(name)(target)


# In the order ``accord --help`` lists them (Typer's: single commands, then groups).
COMMANDS: Final[dict[str, Command]] = {
    "init": Command(
        summary=(
            "Initialise this node: its home directory and database (safe to repeat), and with --party its identity."
        ),
        module="node",
        attribute="init",
    ),
    "export": Command(
        summary="Write the messages pending for a peer to a signed bundle.", module="bundles", attribute="export"
    ),
    "import": Command(
        summary="Apply a bundle from a pinned peer; receipts for it go into the outbox for the way back.",
        module="bundles",
        attribute="import_bundle",
    ),
    "decide": Command(
        summary="Decide whether a record may go from one party to another, by which route and why.",
        module="decide",
        attribute="decide",
    ),
    "demo": Command(
        summary="Three real nodes (KOR, USA, JPN) play 2006 → 2023: releases, the hub, recall, report, audit.",
        module="demo",
        attribute="demo",
    ),
    "history": Command(
        summary="Replay 2006 → 2023 through the engine: what could go from Seoul to Tokyo, and how.",
        module="history",
        attribute="history",
    ),
    "reclassify": Command(
        summary="Re-mark portions of a record this node originated, and sign the notice for its holders.",
        module="obligations",
        attribute="reclassify",
    ),
    "serve": Command(
        summary="Serve the node's REST API under /api/v1 (OpenAPI at /openapi.json) until interrupted.",
        module="serve",
        attribute="serve",
    ),
    "node": Command(summary="The node's identity.", module="node", attribute="app", wire=_wire_node),
    "peers": Command(summary="Peer nodes: pinned descriptors and delivery state.", module="peers", attribute="app"),
    "records": Command(summary="The node's records.", module="records", attribute="app", wire=_wire_records),
    "world": Command(summary="The parties, schemes and agreements a node knows.", module="world", attribute="app"),
    "agreements": Command(
        summary="Agreements: their scope, equivalences and lifecycle.", module="agreements", attribute="app"
    ),
    "audit": Command(summary="The node's tamper-evident audit log.", module="audit", attribute="app"),
    "people": Command(
        summary="The node's people: accounts, roles, clearance and need-to-know.", module="people", attribute="app"
    ),
    "tokens": Command(
        summary="API tokens for scripts and the CLI (shown once, stored hashed).",
        module="people",
        attribute="tokens_app",
    ),
    "consent": Command(
        summary="Consent to onward release of this node's records (GSOMIA Art.5).",
        module="obligations",
        attribute="consent_app",
    ),
    "recall": Command(
        summary="Recall records (return or destroy) and acknowledge recalls.",
        module="obligations",
        attribute="recall_app",
    ),
    "report-compromise": Command(
        summary="Report a loss or compromise to the originator, then close it.",
        module="obligations",
        attribute="report_app",
    ),
    "obligations": Command(
        summary="Signed obligations as files between nodes: export, import, and a record's list.",
        module="obligations",
        attribute="app",
        wire=_wire_obligations,
    ),
    "disclosures": Command(
        summary="Disclosure requests: an analyst asks, another officer approves or rejects.",
        module="disclosures",
        attribute="app",
    ),
}


def _load(name: str) -> typer.core.TyperCommand | TyperGroup:
    """The Click command ``name``, built by Typer exactly as an eagerly registered one would be."""
    single = typer.Typer(**_SETTINGS)
    COMMANDS[name].register(single, name)
    loaded = typer.main.get_group(single).commands[name]
    if not isinstance(loaded, typer.core.TyperCommand | TyperGroup):  # pragma: no cover - Typer builds these
        msg = f"command {name} did not load"
        raise TypeError(msg)
    return loaded


class _LazyCommands(MutableMapping[str, Any]):
    """The top-level commands by name: every name known at once, each loaded on first use."""

    def __init__(self) -> None:
        self._loaded: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:  # noqa: ANN401 - a Click command
        if name not in self._loaded:
            if name not in COMMANDS:
                raise KeyError(name)
            self._loaded[name] = _load(name)
        return self._loaded[name]

    def __setitem__(self, name: str, command: Any) -> None:  # noqa: ANN401 - a Click command
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        del self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(COMMANDS)

    def __len__(self) -> int:
        return len(COMMANDS)


class _LazyGroup(TyperGroup):
    """The ``accord`` group: commands load when used; the group's help shows their summaries."""

    def __init__(self, **attrs: Any) -> None:  # noqa: ANN401 - Click's keyword arguments
        super().__init__(**attrs)
        self.commands = _LazyCommands()
        self._summaries_only = False

    def list_commands(self, ctx: Any) -> list[str]:  # noqa: ANN401, ARG002 - Click's context, unused
        """Every command's name, in the order of :data:`COMMANDS`, loading none."""
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:  # noqa: ANN401 - Click's context and command
        """The command ``cmd_name``; while the group's own help is drawn, a stand-in with its summary."""
        if self._summaries_only:
            entry = COMMANDS.get(cmd_name)
            return None if entry is None else typer.core.TyperCommand(name=cmd_name, help=entry.summary)
        return super().get_command(ctx, cmd_name)

    def format_help(self, ctx: Any, formatter: Any) -> None:  # noqa: ANN401 - Click's context and formatter
        """Draw the group's help from the summaries, loading no command."""
        self._summaries_only = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._summaries_only = False


app = typer.Typer(cls=_LazyGroup, **_SETTINGS)


@app.callback()
def _accord() -> None:
    """Nothing to do before a command: the group needs a callback to be a group without commands."""


def eager_app() -> typer.Typer:
    """The same application with every command registered at once (for tests and tools)."""
    eager = typer.Typer(**_SETTINGS)
    for name, command in COMMANDS.items():
        command.register(eager, name)
    return eager


def run() -> None:
    """Console-script entry point (``accord``); also ``python -m accord``."""
    try:
        app(prog_name="accord")
    except Error as e:
        from accord.cli.commands._shared import EXIT_BAD_INPUT  # noqa: PLC0415 - a command has loaded it already

        typer.echo(f"error: {e.diagnostics()}", err=True)
        raise SystemExit(EXIT_BAD_INPUT) from None
