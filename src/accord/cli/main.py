"""The ``accord`` command: the Typer application and its one error handler.

Exit status, which scripts can rely on: 0 success (and "allowed" for ``decide``), 1 a
denied release, 2 bad input: an ``accord.errors.Error`` (printed as one ``error:``
line, with a hint when there is one) or a usage error (unknown option, missing value),
3 an open witness alarm (``accord audit witness``: a peer's log was not an extension
of what it showed before).
Any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import typer

from accord.cli.commands import (
    agreements,
    audit,
    bundles,
    decide,
    demo,
    disclosures,
    history,
    node,
    obligations,
    peers,
    people,
    records,
    releases,
    serve,
    world,
)
from accord.cli.commands._shared import EXIT_BAD_INPUT
from accord.errors import Error

__all__ = ["app", "run"]

app = typer.Typer(
    name="accord",
    help=(
        "Accord: agreement-governed information sharing between allied parties. "
        "Exit status: 0 success or allowed, 1 denied, 2 bad input, 3 witness alarm open."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals may hold secrets
)
app.command("init")(node.init)
node.app.command("export-descriptor")(peers.export_descriptor_command)
app.add_typer(node.app, name="node")
app.add_typer(peers.app, name="peers")
app.command("export")(bundles.export)
app.command("import")(bundles.import_bundle)
# Releases are commands of ``accord records``: a release is always of one record.
records.app.command("release")(releases.release)
records.app.command("receive")(releases.receive)
records.app.command("inbox")(releases.inbox)
records.app.command("sent")(releases.sent)
records.app.command("open")(releases.open_release)
app.add_typer(records.app, name="records")
app.add_typer(world.app, name="world")
app.add_typer(agreements.app, name="agreements")
app.add_typer(audit.app, name="audit")
app.add_typer(people.app, name="people")
app.add_typer(people.tokens_app, name="tokens")
app.command("decide")(decide.decide)
app.command("demo")(demo.demo)
app.command("history")(history.history)
app.add_typer(obligations.consent_app, name="consent")
app.add_typer(obligations.recall_app, name="recall")
app.add_typer(obligations.report_app, name="report-compromise")
app.command("reclassify")(obligations.reclassify)
obligations.app.command("send")(bundles.send_obligation)
app.add_typer(obligations.app, name="obligations")
app.command("serve")(serve.serve)
app.add_typer(disclosures.app, name="disclosures")


def run() -> None:
    """Console-script entry point (``accord``); also ``python -m accord``."""
    try:
        app(prog_name="accord")
    except Error as e:
        typer.echo(f"error: {e.diagnostics()}", err=True)
        raise SystemExit(EXIT_BAD_INPUT) from None
