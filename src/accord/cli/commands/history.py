"""``accord history``: the 2006 → 2023 history replayed through the decision engine alone.

For each dated milestone it says what a ROK record at 군사 II급비밀 could do on its way
to Japan: on a North Korean missile topic (which TISA covers) and on another military
topic (which it does not): allowed or not, by which route, under which agreements,
marked how, and why. It uses the shipped dataset and no database or node, and answers
in a second: the quick view of what ``accord demo`` (three real nodes) then plays.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.rule import Rule
from rich.text import Text

from accord.cli.commands._shared import JsonOption, new_table, print_json, stdout
from accord.services.history import OTHER_TOPIC, TISA_TOPIC, replay
from accord.services.world import read_world

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from accord.services.history import HistoryStep, Outcome

__all__ = ["history"]

INTRO = (
    "A Republic of Korea record marked 군사 II급비밀 (KOR/MIL-II), releasable to Japan, "
    "asked on each date: may it go from Seoul to Tokyo, by which route, and why? "
    f"Once on {TISA_TOPIC} (a North Korean threat, within TISA) and once on {OTHER_TOPIC} "
    "(outside TISA)."
)


def history(as_json: JsonOption = False) -> None:
    """Replay 2006 → 2023 through the engine: what could go from Seoul to Tokyo, and how."""
    steps = replay(read_world(None))
    if as_json:
        print_json({"sender": "KOR", "recipient": "JPN", "steps": [s.to_dict() for s in steps]})
        return
    console = stdout()
    console.print(Text("Accord: Seoul → Tokyo, 2006 → 2023", style="bold"))
    console.print(Text(INTRO), soft_wrap=True)
    for step in steps:
        _narrate(console, step)
    console.print(Rule())
    console.print(_summary(steps))


def _narrate(console: Console, step: HistoryStep) -> None:
    console.print(Rule(Text(f"{step.on}", style="bold"), align="left"))
    console.print(
        Text.assemble(step.milestone.title, (f"  [{step.milestone.source}]", "dim")),
        soft_wrap=True,
    )
    for outcome in (step.covered, step.other):
        head = Text.assemble(
            f"  {outcome.topic:<18}",
            ("ALLOWED" if outcome.allowed else "DENIED ", "bold green" if outcome.allowed else "bold red"),
        )
        if outcome.allowed:
            kind = f"hub route via {outcome.via}" if outcome.via else "direct route"
            head.append(f"  {outcome.route_text}  ({kind}; under {', '.join(outcome.agreements)})")
        console.print(head, soft_wrap=True)
        pad = " " * 20
        if outcome.label:
            console.print(Text(f"{pad}label: {outcome.label}"), soft_wrap=True)
        console.print(Text(f"{pad}why: {outcome.reason}"), soft_wrap=True)


def _cell(outcome: Outcome) -> Text:
    if not outcome.allowed:
        return Text("denied", style="red")
    where = f"via {outcome.via}" if outcome.via else ", ".join(outcome.agreements)
    return Text(f"{outcome.route_text}\n({where})", style="green")


def _summary(steps: tuple[HistoryStep, ...]) -> Table:
    columns = ("date", "event", TISA_TOPIC, OTHER_TOPIC)
    table = new_table("KOR → JPN at KOR/MIL-II, by date", columns, wrap=("event",))
    for step in steps:
        table.add_row(
            step.on.isoformat(),
            Text(step.milestone.title),
            _cell(step.covered),
            _cell(step.other),
        )
    return table
