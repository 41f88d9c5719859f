"""``accord agreements show ID``: one agreement's events, status timeline and tables.

The status on ``--on`` (default today) is computed from the dated events; the timeline
shows every change of status with the event behind it, so a termination notice, its
suspension and its withdrawal read in order.
"""

from __future__ import annotations

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
    stdout,
)
from accord.services.decisions import parse_date
from accord.services.world import describe_agreement

if TYPE_CHECKING:
    from rich.console import Console

    from accord.services.world import AgreementDetail

__all__ = ["app"]

app = typer.Typer(
    name="agreements",
    help="Agreements: their scope, equivalences and lifecycle.",
    no_args_is_help=True,
)


@app.command("show")
def show(
    agreement_id: Annotated[str, typer.Argument(metavar="ID", help="The agreement's id, e.g. KOR-JPN-GSOMIA.")],
    on: OnOption = None,
    world: WorldOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show an agreement's events and status timeline, and its status on a date.

    The world comes from --world PATH if given, else $ACCORD_WORLD if set, else the
    node's registry if the node is initialised and a world is loaded, else the dataset
    shipped with Accord.
    """
    day = parse_date(on, field="--on")
    loaded = open_cli_world(world)
    detail = describe_agreement(loaded.world, agreement_id, day)
    if as_json:
        print_json({**detail.to_dict(), "world": loaded.to_dict()})
        return
    console = stdout()
    _print_header(console, detail)
    _print_lifecycle(console, detail)
    _print_terms(console, detail)
    console.print(Text(f"World: {loaded.describe()}"), soft_wrap=True)


def _print_header(console: Console, detail: AgreementDetail) -> None:
    row = detail.row
    topics = ", ".join(row.topics) if row.topics is not None else "any"
    facts = [
        ("title", row.title),
        ("kind", row.kind + ("" if row.binding else " (not legally binding)")),
        ("parties", ", ".join(row.parties) + (f" (hub {row.hub})" if row.hub else "")),
        ("topics", topics),
        ("status", f"{row.status} on {detail.on} ({row.reason})"),
        ("version", row.fingerprint),
    ]
    if detail.notes:
        facts.append(("notes", detail.notes))
    console.print(Text(row.id, style="bold"))
    for key, value in facts:
        console.print(Text(f"  {key:<8} {value}"), soft_wrap=True)


def _print_lifecycle(console: Console, detail: AgreementDetail) -> None:
    events = new_table("Events", ("date", "event", "party", "summary"), wrap=("event", "summary"))
    for event in detail.events:
        kind = event.kind + (f" (effective {event.effective})" if event.effective else "")
        summary = event.summary + (" [inferred]" if event.inferred else "")
        events.add_row(event.on.isoformat(), kind, event.party or "", Text(summary))
    console.print(events)
    timeline = new_table("Status timeline", ("from", "status", "because"), wrap=("because",))
    for change in detail.timeline:
        style = "green" if change.status.carries else "red"
        timeline.add_row(change.on.isoformat(), Text(str(change.status), style=style), Text(change.cause))
    if detail.timeline:
        console.print(timeline)
    else:
        console.print(Text("Status timeline: never entered into force."))


def _print_terms(console: Console, detail: AgreementDetail) -> None:
    if detail.equivalences:
        parties = detail.row.parties
        table = new_table("Equivalences", (*parties, "english"), wrap=parties)
        for row in detail.equivalences:
            levels = dict(row.levels)
            english = row.english + (" (inferred)" if row.inferred else "")
            table.add_row(*(", ".join(levels.get(p, ())) for p in parties), english)
        console.print(table)
    if detail.excluded_levels:
        excluded = ", ".join(detail.excluded_levels)
        console.print(Text(f"Never covered: {excluded}"), soft_wrap=True)
    if detail.clauses:
        console.print(Text("Clauses", style="bold"))
        for rule, cite in detail.clauses:
            console.print(Text(f"  {rule:<18} {cite}"), soft_wrap=True)
