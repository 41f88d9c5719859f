"""``accord decide``: may a record go from one party to another on a date, and how?

Exit status 0 when the release may go, 1 when it may not, 2 for bad input. The answer
lists the route, each hop with the agreement and the levels on each side, the label
the recipient will see and the reasons; ``--explain`` adds every rule checked with the
clause it rests on, ``--json`` prints the whole decision as one JSON object.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from accord.cli.commands._shared import (
    EXIT_DENIED,
    JsonOption,
    OnOption,
    WorldOption,
    new_table,
    open_cli_world,
    print_json,
    stdout,
)
from accord.services.decisions import ReleaseQuestion, decide_release

if TYPE_CHECKING:
    from rich.console import Console

    from accord.services.decisions import Decision
    from accord.services.world import LoadedWorld

__all__ = ["decide"]


def decide(  # one parameter per flag, all by keyword
    *,
    sender: Annotated[str, typer.Option("--from", metavar="PARTY", help="The originator, e.g. KOR.")],
    recipient: Annotated[str, typer.Option("--to", metavar="PARTY", help="The recipient, e.g. JPN.")],
    level: Annotated[
        str,
        typer.Option(
            "--level",
            metavar="LEVEL",
            help="The record's level in the originator's scheme, e.g. KOR/MIL-II (or MIL-II).",
        ),
    ],
    topics: Annotated[
        list[str],
        typer.Option("--topic", metavar="TOPIC", help="A topic of the record; repeat for more."),
    ],
    rel_to: Annotated[
        str | None,
        typer.Option(
            "--rel-to",
            metavar="P,P",
            help="Parties the record is releasable to (default: the recipient only).",
            show_default=False,
        ),
    ] = None,
    purpose: Annotated[str, typer.Option("--purpose", help="The record's purpose, if agreements limit it.")] = "",
    on: OnOption = None,
    world: WorldOption = None,
    as_json: JsonOption = False,
    explain: Annotated[bool, typer.Option("--explain", help="List every rule checked, with its source.")] = False,
) -> None:
    """Decide whether a record may go from one party to another, by which route and why.

    Exit status: 0 allowed, 1 denied, 2 bad input. The world comes from --world PATH if
    given, else $ACCORD_WORLD if set, else the node's registry if the node is
    initialised and a world is loaded, else the dataset shipped with Accord.
    """
    question = ReleaseQuestion.from_flags(
        sender=sender,
        recipient=recipient,
        level=level,
        topics=topics,
        rel_to=[rel_to] if rel_to is not None else None,
        on=on,
        purpose=purpose,
    )
    loaded = open_cli_world(world)
    decision = decide_release(loaded.world, question)
    via = decision.via[0] if decision.via else None
    if as_json:
        print_json({**decision.to_dict(), "world": loaded.to_dict()})
    else:
        _show(stdout(), decision, via, loaded, explain=explain)
    if not decision.allowed:
        raise typer.Exit(EXIT_DENIED)


def _show(console: Console, decision: Decision, via: str | None, loaded: LoadedWorld, *, explain: bool) -> None:
    verdict = "ALLOWED" if decision.allowed else "DENIED"
    may = "may" if decision.allowed else "may not"
    console.print(
        Text.assemble(
            (verdict, "bold green" if decision.allowed else "bold red"),
            f": {decision.sender} {may} release it to {decision.recipient} on {decision.on}",
        )
    )
    lines: list[tuple[str, str]] = []
    if decision.allowed:
        route = " → ".join(decision.route)
        lines.append(("route", f"{route} (through hub arrangement {via})" if via else route))
        for number, hop in enumerate(decision.hops, 1):
            inferred = " (inferred equivalence)" if hop.inferred else ""
            lines.append(
                (
                    f"hop {number}",
                    (
                        f"{hop.sender} → {hop.receiver} under {hop.agreement}: "
                        f"{hop.level_in} → {hop.level_out}{inferred}"
                    ),
                )
            )
        if decision.label is not None:
            lines.append(("label", decision.label.text()))
    lines.append(("world", f"{loaded.describe()} ({loaded.world.fingerprint[:12]})"))
    for key, value in lines:
        console.print(Text(f"  {key:<7} {value}"), soft_wrap=True)
    mark = "✓" if decision.allowed else "✗"
    console.print(Text("why" if decision.allowed else "why not", style="bold"))
    for reason in decision.reasons:
        console.print(Text(f"  {mark} {reason}"), soft_wrap=True)
    if explain:
        console.print(_checks_table(decision))


def _checks_table(decision: Decision) -> Table:
    table = new_table(
        "Every rule checked", ("rule", "ok", "detail", "route", "source"), wrap=("detail", "route", "source")
    )
    for check in decision.checks:
        table.add_row(
            Text(str(check.rule)),
            Text("✓" if check.passed else "✗", style="green" if check.passed else "red"),
            Text(check.detail),
            Text(check.route.replace(">", " → ") or "—"),
            Text(check.source),
        )
    return table
