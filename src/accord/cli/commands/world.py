"""``accord world``: load a world into the node's registry, and show it as of a date.

``world show`` lists the parties with their levels and the agreements in force on the
date (``--all`` adds the others with their status). ``world load`` validates a world
directory (default: the shipped dataset) and stores it in the node's registry; loading
the same world twice changes nothing and says so.
"""

from __future__ import annotations

from pathlib import Path  # used at run time: Typer reads the annotations
from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from accord.cli.commands._shared import (
    JsonOption,
    OnOption,
    WorldOption,
    new_table,
    open_cli_world,
    print_json,
    settings,
    stdout,
)
from accord.services.decisions import parse_date
from accord.services.world import load_into_registry, summarise_world

if TYPE_CHECKING:
    from accord.services.world import WorldSummary

__all__ = ["app"]

app = typer.Typer(
    name="world",
    help="The parties, schemes and agreements a node knows.",
    no_args_is_help=True,
)


@app.command("show")
def show(
    on: OnOption = None,
    world: WorldOption = None,
    everything: Annotated[bool, typer.Option("--all", help="Also list agreements not in force on the date.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Show the parties and the agreements in force on a date.

    The world comes from --world PATH if given, else $ACCORD_WORLD if set, else the
    node's registry if the node is initialised and a world is loaded, else the dataset
    shipped with Accord.
    """
    day = parse_date(on, field="--on")
    summary = summarise_world(open_cli_world(world), day, everything=everything)
    if as_json:
        print_json(summary.to_dict())
        return
    _print_summary(summary, everything=everything)


def _print_summary(summary: WorldSummary, *, everything: bool) -> None:
    console = stdout()
    console.print(Text(f"World as of {summary.on}, from {summary.loaded.describe()}"), soft_wrap=True)
    levels = "levels (highest first)"
    party_table = new_table("Parties", ("code", "name", "kind", levels), wrap=("name", levels))
    for party in summary.parties:
        name = f"{party.name} ({party.native_name})" if party.native_name else party.name
        party_table.add_row(party.code, Text(name), party.kind, Text(", ".join(party.levels)))
    console.print(party_table)
    what = "Agreements" if everything else "Agreements in force"
    columns = ("agreement", "kind", "parties", "status", "since")
    table = new_table(f"{what} on {summary.on}", columns, wrap=("kind", "parties"))
    notes: list[str] = []
    for row in summary.agreements:
        parties = ", ".join(row.parties) + (f" (hub {row.hub})" if row.hub else "")
        status = Text(str(row.status), style="green" if row.carries else "red")
        since = row.since.isoformat() if row.since else ""
        table.add_row(row.id, row.kind, parties, status, since)
        if row.status is not row.status.IN_FORCE:  # pending, not yet or no longer: say why
            notes.append(f"  {row.id}: {row.reason}")
    if not summary.agreements:
        console.print(Text(f"No agreement is in force on {summary.on}."))
        return
    console.print(table)
    for note in notes:
        console.print(Text(note), soft_wrap=True)


@app.command("load")
def load(
    path: Annotated[
        Path | None,
        typer.Argument(
            metavar="PATH",
            help="World directory to load (default: the dataset shipped with Accord).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Validate a world directory and store it in the node's registry.

    Run `accord init` first. Loading a world identical to the one stored changes
    nothing and says so.
    """
    current = settings()
    report = load_into_registry(path, database_url=current.resolved_database_url)
    console = stdout()
    where = "the shipped dataset" if path is None else str(path)
    counts = f"{report.parties} parties, {report.schemes} schemes, {report.agreements} agreements"
    if report.changed:
        console.print(Text(f"Loaded {where} into the registry: {counts}."), soft_wrap=True)
    else:
        console.print(Text(f"No change: the registry already holds {where} ({counts})."), soft_wrap=True)
    console.print(Text(f"World fingerprint {report.fingerprint}"), soft_wrap=True)
