"""The lazily loaded ``accord`` says exactly what the eagerly registered one says, and loads less.

``accord.cli.main`` keeps a one-line summary per top-level command so that ``accord
--help`` loads no command module; these tests hold those summaries, and every help
text, usage error and suggestion, to what the same commands registered at once print.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

from accord.cli.main import COMMANDS, app, eager_app

HEAVY = ("alembic", "httpx", "fastapi", "uvicorn", "sqlalchemy", "accord.services", "accord.cli.commands.")


def _paths(command: object, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command path under ``command`` (a Click group), depth first."""
    found: list[tuple[str, ...]] = []
    if hasattr(command, "list_commands"):
        ctx = command.context_class(command)
        for name in command.list_commands(ctx):
            found.append((*path, name))
            found.extend(_paths(command.get_command(ctx, name), (*path, name)))
    return found


def _say(target: typer.Typer, args: list[str]) -> tuple[int, str]:
    done = CliRunner().invoke(target, args, prog_name="accord", env={"COLUMNS": "120", "NO_COLOR": "1"})
    return done.exit_code, done.output


def test_the_summaries_are_the_commands_own():
    eager = eager_app()
    assert list(COMMANDS) == [path[0] for path in _paths(typer.main.get_command(eager)) if len(path) == 1]
    assert _say(app, ["--help"]) == _say(eager, ["--help"])
    assert _say(app, []) == _say(eager, [])


ERRORS = [["nosuch"], ["recrods"], ["decide", "--bogus"], ["records"], ["node", "nosuch"], ["consent", "grant"]]


def test_each_command_help_and_usage_error_is_the_same_as_when_registered_at_once():
    """Below the top level the lazy app hands over the very Typer objects: one level down suffices."""
    eager = eager_app()
    for args in [[name, "--help"] for name in COMMANDS] + ERRORS:
        assert _say(app, args) == _say(eager, args), args


def _loaded_by(*args: str) -> list[str]:
    """The modules ``accord ARGS`` imported, in a fresh interpreter."""
    script = (
        "import json, sys\n"
        "from accord.cli.main import run\n"
        f"sys.argv = ['accord', *{list(args)!r}]\n"
        "try:\n    run()\nexcept SystemExit:\n    pass\n"
        "print(json.dumps(sorted(sys.modules)), file=sys.stderr)\n"
    )
    done = subprocess.run(  # noqa: S603 - our own interpreter, a fixed script
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    return json.loads(done.stderr.strip().splitlines()[-1])


def test_the_top_level_help_loads_no_command():
    loaded = _loaded_by("--help")
    assert [m for m in loaded if m.startswith(HEAVY)] == []


@pytest.mark.parametrize(
    ("args", "absent"),
    [
        (("decide", "--help"), ("alembic", "httpx", "fastapi", "uvicorn", "accord.cli.commands.serve")),
        (("records", "--help"), ("alembic", "httpx", "fastapi", "uvicorn", "accord.cli.commands.peers")),
        (("node", "show", "--help"), ("alembic", "httpx", "fastapi", "uvicorn")),
        (("audit", "--help"), ("alembic", "httpx", "fastapi", "uvicorn")),
    ],
    ids=["decide", "records", "node", "audit"],
)
def test_a_command_loads_what_it_needs(args, absent):
    loaded = _loaded_by(*args)
    assert [m for m in loaded if m.startswith(absent)] == []
