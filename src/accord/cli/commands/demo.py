"""``accord demo``: three real nodes (KOR, USA, JPN) play the 2006 → 2023 history over HTTP.

It makes three node homes (a temporary directory, or ``--dir``), starts each as its
own ``accord serve`` process on 127.0.0.1, and narrates each dated step as the nodes
play it (``services.demo``): what was asked, the decision and its reasons, the route,
what arrived in Tokyo marked how, and what each node audited; then the three audit
logs verified and witnessed by each other, as a table. ``--json`` prints the same as
one JSON document. Every process it started is stopped at the end, also on an error,
Ctrl-C or SIGTERM; the temporary directory is removed (a ``--dir`` is kept).
``--serve`` leaves the nodes running after the story and prints their URLs and
tokens until Ctrl-C. The engine-only replay, without nodes, is ``accord history``.
"""

from __future__ import annotations

import json
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.rule import Rule
from rich.text import Text

from accord.cli.commands._shared import JsonOption, new_table, print_json, stdout
from accord.errors import ValidationError
from accord.services.demo import AuditRow, DemoNode, DemoStep, nodes_running, play

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["demo"]

INTRO = (
    "Three Accord nodes, each its own process with its own database, keys and people: "
    "Seoul (KOR), Washington (USA) and Tokyo (JPN), pinned to each other. A KOR record "
    "marked 군사 II급비밀 (KOR/MIL-II) is asked to go to Tokyo on the dates of the history; "
    "every release travels over HTTP between the processes."
)


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _root(directory: Path | None) -> Path:
    if directory is None:
        return Path(tempfile.mkdtemp(prefix="accord-demo-"))
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        msg = f"--dir {directory} is not an empty directory"
        raise ValidationError(msg, hint="give a new or empty directory: the demo makes three node homes in it")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _node_dict(node: DemoNode) -> dict[str, Any]:
    return {"party": node.party, "url": node.url, "port": node.port, "pid": node.pid, "home": str(node.home)}


def demo(
    as_json: JsonOption = False,
    serve: Annotated[
        bool, typer.Option("--serve", help="Leave the nodes running afterwards, print their URLs; Ctrl-C stops them.")
    ] = False,
    directory: Annotated[
        Path | None,
        typer.Option("--dir", metavar="DIR", help="Make the node homes here (new or empty) and keep them."),
    ] = None,
) -> None:
    """Three real nodes (KOR, USA, JPN) play 2006 → 2023: releases, the hub, recall, report, audit."""
    root = _root(directory)
    # SIGTERM (`kill`) cleans up like Ctrl-C; SIGINT is set explicitly because a shell
    # starts background jobs with it ignored, and the nodes must stop on it all the same.
    previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGTERM, signal.SIGINT)}
    console = stdout()
    started = time.monotonic()
    steps: list[DemoStep] = []
    try:
        with nodes_running(root) as nodes:
            node_list = [_node_dict(n) for n in nodes.values()]
            if as_json:
                print(json.dumps({"event": "nodes", "nodes": node_list}), file=sys.stderr, flush=True)  # noqa: T201
            else:
                _intro(console, node_list)

            def shown(step: DemoStep) -> None:
                steps.append(step)
                if not as_json:
                    _narrate(console, step)

            rows = play(nodes, shown)
            seconds = round(time.monotonic() - started, 1)
            if as_json:
                print_json(
                    {
                        "nodes": node_list,
                        "steps": [s.to_dict() for s in steps],
                        "audit": [r.to_dict() for r in rows],
                        "seconds": seconds,
                        "kdf": "scrypt",
                        "serving": serve,
                    }
                )
            else:
                console.print(Rule())
                console.print(_audit_table(rows))
                console.print(Text(f"Played in {seconds} s; key files under the real scrypt KDF."))
            if serve:
                _serve(console, nodes, as_json=as_json)
    except KeyboardInterrupt:
        print("interrupted: every node stopped", file=sys.stderr)  # noqa: T201
        raise typer.Exit(130) from None
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if directory is None:
            shutil.rmtree(root, ignore_errors=True)
    if not as_json:
        console.print(Text("Every node stopped." + ("" if directory is None else f" Their homes are in {root}.")))


def _intro(console: Console, nodes: list[dict[str, Any]]) -> None:
    console.print(Text("Accord: Seoul → Tokyo, 2006 → 2023, on three real nodes", style="bold"))
    console.print(Text(INTRO), soft_wrap=True)
    table = new_table("Nodes", ("party", "URL", "pid", "home"))
    for node in nodes:
        table.add_row(node["party"], node["url"], str(node["pid"]), node["home"])
    console.print(table)


def _narrate(console: Console, step: DemoStep) -> None:
    when = "today" if step.on is None else step.on.isoformat()
    console.print(Rule(Text(when, style="bold"), align="left"))
    console.print(Text.assemble((step.title, "bold"), (f"  [{step.source}]", "dim")), soft_wrap=True)
    for line in step.lines:
        style = "red" if "REFUSED" in line else "green" if "ALLOWED" in line else ""
        console.print(Text(f"  {line}", style=style), soft_wrap=True)


def _audit_table(rows: list[AuditRow]) -> Any:  # noqa: ANN401 - a Rich table
    columns = ("node", "entries", "verified", "co-signed by", "witnessed here", "alarms")
    table = new_table("Audit logs: verified, and witnessed by the others", columns, wrap=columns[2:5])
    for row in rows:
        table.add_row(
            row.party,
            str(row.entries),
            f"yes, root {row.root[:8]}",
            "\n".join(f"{p} at {n}" for p, n in sorted(row.cosigned_by.items())),
            "\n".join(f"{p} at {n}" for p, n in sorted(row.seen.items())),
            str(row.alarms),
        )
    return table


def _serve(console: Console, nodes: dict[str, DemoNode], *, as_json: bool) -> None:
    """Keep the nodes running, say where they are and how to call them, until Ctrl-C."""
    if as_json:
        tokens = {p: {"url": n.url, "tokens": n.tokens} for p, n in nodes.items()}
        print(json.dumps({"event": "serving", "nodes": tokens}), file=sys.stderr, flush=True)  # noqa: T201
    else:
        console.print(Rule(Text("Serving until Ctrl-C", style="bold"), align="left"))
        for party, node in nodes.items():
            console.print(Text(f"{party}  {node.url}", style="bold"), soft_wrap=True)
            for who, token in node.tokens.items():
                console.print(Text(f"  {who:<8} {token}"), soft_wrap=True)
        console.print(
            Text('Try: curl -H "Authorization: Bearer TOKEN" URL/api/v1/inbox  with the JPN analyst\'s token'),
            soft_wrap=True,
        )
    while True:
        time.sleep(3600)
