"""Run the real ``accord`` entry point in a subprocess, with a node home under tmp_path."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from accord.serialization.world import default_world_path

SCRIPT = Path(sys.executable).with_name("accord")


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)


@pytest.fixture
def home(tmp_path):
    return tmp_path / "home"


def _base_env(home: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("ACCORD_")}
    base.update(ACCORD_HOME=str(home), COLUMNS="200", PYTHONIOENCODING="utf-8", NO_COLOR="1")
    return base


def _command() -> list[str]:
    return [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "accord"]


@pytest.fixture
def env(home):
    return _base_env(home)


@pytest.fixture(autouse=True)
def unsafe_fast_kdf(env):
    """``ACCORD_UNSAFE_FAST_KDF=1`` for every command of every CLI test: key files with a test-only scrypt cost.

    Every command that makes or opens the node's keys honours the switch, so a node made
    by ``accord init`` opens in all of them at almost no cost (the default cost takes
    about a second and 128 MiB per command). Tests of the key file and its floor take
    :func:`real_kdf` instead.
    """
    env["ACCORD_UNSAFE_FAST_KDF"] = "1"


@pytest.fixture
def real_kdf(env, unsafe_fast_kdf):  # noqa: ARG001 - runs after the switch is set, to unset it
    """The real scrypt cost: the test-only switch is off for every command of the test."""
    del env["ACCORD_UNSAFE_FAST_KDF"]


@pytest.fixture
def accord(env):
    """``accord(*args)`` runs the installed console script (``python -m accord`` if absent)."""
    command = _command()

    def run(*args: str, extra_env: dict[str, str] | None = None) -> Result:
        done = subprocess.run(  # noqa: S603 - our own entry point, fixed arguments
            [*command, *args],
            env={**env, **(extra_env or {})},
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=120,
            check=False,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    return run


@pytest.fixture
def world_copy(tmp_path):
    """A copy of the shipped world directory, to break or change."""
    target = tmp_path / "world"
    shutil.copytree(default_world_path(), target)
    return target


@pytest.fixture
def unsuspended_world(world_copy):
    """The shipped world, but the 2019 notice was never suspended: the GSOMIA ends 2019-11-23."""
    path = world_copy / "agreements.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(line for line in lines if "termination-notice-" not in line) + "\n", encoding="utf-8")
    return world_copy


@pytest.fixture
def corrupt(world_copy):
    """``corrupt(file, old, new)`` replaces ``old`` on its first line in a world file; returns that line's number."""

    def replace(file: str, old: str, new: str) -> int:
        path = world_copy / file
        lines = path.read_text(encoding="utf-8").splitlines()
        number = next(i for i, line in enumerate(lines, 1) if old in line)
        lines[number - 1] = lines[number - 1].replace(old, new)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return number

    return replace


TEMPLATE_PASSPHRASE = "correct horse"  # noqa: S105 - a test node's; the passphrase of every node a template is copied into


@pytest.fixture(scope="session")
def _templates() -> dict[str, Path]:
    return {}


@pytest.fixture
def initialised(_templates, tmp_path_factory, home):
    """``initialised(party, at=home)``: the node home ``accord init --party PARTY`` makes, copied into ``at``.

    The real command runs once per party and session (with the test-only KDF and the
    passphrase ``correct horse``); each test gets its own copy of that home, so tests
    stay independent and skip one ``accord`` start per node. Tests of ``init`` itself
    run the command.
    """

    def copy(party: str, at: Path | None = None) -> Path:
        if party not in _templates:
            template = tmp_path_factory.mktemp("template") / party.lower()
            made = subprocess.run(  # noqa: S603 - our own entry point, fixed arguments
                [*_command(), "init", "--party", party],
                env=_base_env(template) | {"ACCORD_KEY_PASSPHRASE": TEMPLATE_PASSPHRASE, "ACCORD_UNSAFE_FAST_KDF": "1"},
                capture_output=True,
                text=True,
                encoding="utf-8",
                timeout=120,
                check=False,
            )
            assert made.returncode == 0, made.stderr
            _templates[party] = template
        target = at or home
        shutil.copytree(_templates[party], target)
        return target

    return copy
