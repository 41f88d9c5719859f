"""The ``accord`` command: the Typer application and its one error handler.

Exit status, which scripts can rely on: 0 success (and "allowed" for ``decide``), 1 a
denied release, 2 bad input: an ``accord.errors.Error`` (printed as one ``error:``
line, with a hint when there is one) or a usage error (unknown option, missing value),
3 an open witness alarm (``accord audit witness``: a peer's log was not an extension
of what it showed before).
Any other exception is a bug and keeps its traceback.

Commands load lazily: each top-level command is a registrar in :data:`COMMANDS` that
imports its module (and through it the services, SQLAlchemy, httpx, uvicorn...) only
when that command runs or shows its own help, so ``accord decide`` does not pay for
the HTTP server and ``accord --help`` pays for none of them. The top-level help lists
each command with the one-line summary kept here; ``tests/cli/test_help.py`` checks
that these summaries are exactly what the loaded commands say. This module does not
define any command itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any, Final

import typer
from typer.core import TyperGroup

from accord.errors import Error

__all__ = ["COMMANDS", "app", "eager_app", "run"]

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


# -- registrars: each adds one top-level command to a Typer app, importing its module -------


def _init(app: typer.Typer) -> None:
    from accord.cli.commands import node  # noqa: PLC0415 - loaded when the command runs

    app.command("init")(node.init)


def _export(app: typer.Typer) -> None:
    from accord.cli.commands import bundles  # noqa: PLC0415 - loaded when the command runs

    app.command("export")(bundles.export)


def _import(app: typer.Typer) -> None:
    from accord.cli.commands import bundles  # noqa: PLC0415 - loaded when the command runs

    app.command("import")(bundles.import_bundle)


def _decide(app: typer.Typer) -> None:
    from accord.cli.commands import decide  # noqa: PLC0415 - loaded when the command runs

    app.command("decide")(decide.decide)


def _demo(app: typer.Typer) -> None:
    from accord.cli.commands import demo  # noqa: PLC0415 - loaded when the command runs

    app.command("demo")(demo.demo)


def _reclassify(app: typer.Typer) -> None:
    from accord.cli.commands import obligations  # noqa: PLC0415 - loaded when the command runs

    app.command("reclassify")(obligations.reclassify)


def _serve(app: typer.Typer) -> None:
    from accord.cli.commands import serve  # noqa: PLC0415 - loaded when the command runs

    app.command("serve")(serve.serve)


def _node(app: typer.Typer) -> None:
    from accord.cli.commands import node, peers  # noqa: PLC0415 - loaded when the command runs

    if "export-descriptor" not in {c.name for c in node.app.registered_commands}:
        node.app.command("export-descriptor")(peers.export_descriptor_command)
    app.add_typer(node.app, name="node")


def _peers(app: typer.Typer) -> None:
    from accord.cli.commands import peers  # noqa: PLC0415 - loaded when the command runs

    app.add_typer(peers.app, name="peers")


def _records(app: typer.Typer) -> None:
    # Releases are commands of ``accord records``: a release is always of one record.
    from accord.cli.commands import records, releases  # noqa: PLC0415 - loaded when the command runs

    if "release" not in {c.name for c in records.app.registered_commands}:
        records.app.command("release")(releases.release)
        records.app.command("receive")(releases.receive)
        records.app.command("inbox")(releases.inbox)
        records.app.command("sent")(releases.sent)
        records.app.command("open")(releases.open_release)
    app.add_typer(records.app, name="records")


def _world(app: typer.Typer) -> None:
    from accord.cli.commands import world  # noqa: PLC0415 - loaded when the command runs

    app.add_typer(world.app, name="world")


def _agreements(app: typer.Typer) -> None:
    from accord.cli.commands import agreements  # noqa: PLC0415 - loaded when the command runs

    app.add_typer(agreements.app, name="agreements")


def _audit(app: typer.Typer) -> None:
    from accord.cli.commands import audit  # noqa: PLC0415 - loaded when the command runs

    app.add_typer(audit.app, name="audit")


def _people(app: typer.Typer) -> None:
    from accord.cli.commands import people  # noqa: PLC0415 - loaded when the command runs

    app.add_typer(people.app, name="people")


def _tokens(app: typer.Typer) -> None:
    from accord.cli.commands import people  # noqa: PLC0415 - loaded when the command runs

    app.add_typer(people.tokens_app, name="tokens")


def _consent(app: typer.Typer) -> None:
    from accord.cli.commands import obligations  # noqa: PLC0415 - loaded when the command runs

    app.add_typer(obligations.consent_app, name="consent")


def _recall(app: typer.Typer) -> None:
    from accord.cli.commands import obligations  # noqa: PLC0415 - loaded when the command runs

    app.add_typer(obligations.recall_app, name="recall")


def _report(app: typer.Typer) -> None:
    from accord.cli.commands import obligations  # noqa: PLC0415 - loaded when the command runs

    app.add_typer(obligations.report_app, name="report-compromise")


def _obligations(app: typer.Typer) -> None:
    from accord.cli.commands import bundles, obligations  # noqa: PLC0415 - loaded when the command runs

    if "send" not in {c.name for c in obligations.app.registered_commands}:
        obligations.app.command("send")(bundles.send_obligation)
    app.add_typer(obligations.app, name="obligations")


def _disclosures(app: typer.Typer) -> None:
    from accord.cli.commands import disclosures  # noqa: PLC0415 - loaded when the command runs

    app.add_typer(disclosures.app, name="disclosures")


@dataclass(frozen=True, slots=True, kw_only=True)
class Command:
    """A top-level command: its summary for ``accord --help`` and how to register it."""

    summary: str
    register: Callable[[typer.Typer], None]


# In the order ``accord --help`` lists them (Typer's: single commands, then groups).
COMMANDS: Final[dict[str, Command]] = {
    "init": Command(
        summary=(
            "Initialise this node: its home directory and database (safe to repeat), and with --party its identity."
        ),
        register=_init,
    ),
    "export": Command(summary="Write the messages pending for a peer to a signed bundle.", register=_export),
    "import": Command(
        summary="Apply a bundle from a pinned peer; receipts for it go into the outbox for the way back.",
        register=_import,
    ),
    "decide": Command(
        summary="Decide whether a record may go from one party to another, by which route and why.", register=_decide
    ),
    "demo": Command(
        summary="Replay 2006 → 2023 through the engine: what could go from Seoul to Tokyo, and how.", register=_demo
    ),
    "reclassify": Command(
        summary="Re-mark portions of a record this node originated, and sign the notice for its holders.",
        register=_reclassify,
    ),
    "serve": Command(
        summary="Serve the node's REST API under /api/v1 (OpenAPI at /openapi.json) until interrupted.",
        register=_serve,
    ),
    "node": Command(summary="The node's identity.", register=_node),
    "peers": Command(summary="Peer nodes: pinned descriptors and delivery state.", register=_peers),
    "records": Command(summary="The node's records.", register=_records),
    "world": Command(summary="The parties, schemes and agreements a node knows.", register=_world),
    "agreements": Command(summary="Agreements: their scope, equivalences and lifecycle.", register=_agreements),
    "audit": Command(summary="The node's tamper-evident audit log.", register=_audit),
    "people": Command(summary="The node's people: accounts, roles, clearance and need-to-know.", register=_people),
    "tokens": Command(summary="API tokens for scripts and the CLI (shown once, stored hashed).", register=_tokens),
    "consent": Command(summary="Consent to onward release of this node's records (GSOMIA Art.5).", register=_consent),
    "recall": Command(summary="Recall records (return or destroy) and acknowledge recalls.", register=_recall),
    "report-compromise": Command(
        summary="Report a loss or compromise to the originator, then close it.", register=_report
    ),
    "obligations": Command(
        summary="Signed obligations as files between nodes: export, import, and a record's list.",
        register=_obligations,
    ),
    "disclosures": Command(
        summary="Disclosure requests: an analyst asks, another officer approves or rejects.", register=_disclosures
    ),
}


def _load(name: str) -> typer.core.TyperCommand | TyperGroup:
    """The Click command ``name``, built by Typer exactly as an eagerly registered one would be."""
    single = typer.Typer(**_SETTINGS)
    COMMANDS[name].register(single)
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
    for command in COMMANDS.values():
        command.register(eager)
    return eager


def run() -> None:
    """Console-script entry point (``accord``); also ``python -m accord``."""
    try:
        app(prog_name="accord")
    except Error as e:
        from accord.cli.commands._shared import EXIT_BAD_INPUT  # noqa: PLC0415 - a command has loaded it already

        typer.echo(f"error: {e.diagnostics()}", err=True)
        raise SystemExit(EXIT_BAD_INPUT) from None
