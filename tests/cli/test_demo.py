"""``accord demo`` end to end: the real command, three real ``accord serve`` processes, real HTTP.

The first test runs ``accord demo --json`` to the end and checks the outcome of every
step (refused before 2014, the hub route in 2015 with both legs, refused off-topic,
direct from November 2016, the 2019 notice and its suspension, the recall answered,
the compromise report received), the three audit logs verified and co-signed, the
time taken, and that no process it started is left and its directory is gone. The
second interrupts it with SIGINT while it plays and checks the same clean-up.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

TIMEOUT_S = 240  # the demo must finish in 120 s; the margin is for a loaded test machine


def command() -> list[str]:
    return [sys.executable, "-m", "accord", "demo", "--json"]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purposes (its parent has not reaped it yet).
    with contextlib.suppress(OSError):
        if Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z"):
            return False
    return True


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_gone(nodes: list[dict]) -> None:
    deadline = time.monotonic() + 30
    while any(alive(n["pid"]) for n in nodes) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [n["party"] for n in nodes if alive(n["pid"])] == []
    assert [n["port"] for n in nodes if listening(n["port"])] == []


def reported_nodes(process: subprocess.Popen) -> list[dict]:
    """The nodes (pid, port, home) the running demo reports on stderr once they are started."""
    assert process.stderr is not None
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        with contextlib.suppress(json.JSONDecodeError):
            event = json.loads(line)
            if event.get("event") == "nodes":
                return event["nodes"]
    pytest.fail("the demo never reported its nodes")


def demo_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCORD_")}
    return env | {"PYTHONIOENCODING": "utf-8", "NO_COLOR": "1"}


@pytest.fixture(scope="module")
def played():
    """One run of ``accord demo --json`` to the end: its output and how long it took."""
    started = time.monotonic()
    done = subprocess.run(command(), env=demo_env(), capture_output=True, text=True, timeout=TIMEOUT_S, check=False)  # noqa: S603
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout), elapsed


@pytest.fixture(scope="module")
def steps(played):
    return {s["key"]: s for s in played[0]["steps"]}


def test_demo_finishes_in_time_and_leaves_no_process_or_directory(played):
    out, elapsed = played
    nodes = out["nodes"]
    assert [n["party"] for n in nodes] == ["KOR", "USA", "JPN"]
    assert len({n["pid"] for n in nodes}) == len({n["port"] for n in nodes}) == 3
    wait_gone(nodes)
    assert not any(Path(n["home"]).exists() for n in nodes)  # the temporary directory is removed
    assert out["seconds"] < 120
    assert elapsed < 150  # including the interpreter's start and the clean-up
    assert out["kdf"] == "scrypt"


def test_every_step_is_played_in_order(steps):
    assert list(steps) == [
        "before-2014",
        "hub-2015",
        "other-topic-2015",
        "direct-2016",
        "other-topic-2016",
        "notice-2019",
        "suspended-2019",
        "recall",
        "compromise-report",
    ]


def test_before_2014_seoul_cannot_send_to_tokyo(steps):
    before = steps["before-2014"]["facts"]
    assert (before["allowed"], before["sealed"], before["reached"]) == (False, False, {"USA": False, "JPN": False})
    assert any("not-in-force on 2012-06-29" in r for r in before["reasons"])


def test_2015_missile_data_goes_through_washington_with_both_legs(steps):
    hub = steps["hub-2015"]["facts"]
    assert (hub["allowed"], hub["route"], hub["kor_state"]) == (True, ["KOR", "USA", "JPN"], "delivered")
    assert hub["hub"]["party"] == "USA"
    assert hub["hub"]["onward"]["pending"] == 0
    assert hub["hub"]["onward"]["delivered"] >= 1
    assert {"release.seal:allowed", "delivery.receipt:accepted"} <= set(hub["audit"]["KOR"])
    assert "release.relay:relayed" in hub["audit"]["USA"]
    assert "release.receive:accepted" in hub["audit"]["JPN"]
    label = hub["jpn_label"]
    assert label.startswith("JPN 極秘")
    assert "ORIGINATOR KOR" in label
    assert "군사 II급비밀" in label


def test_2015_another_topic_is_refused_by_the_sender(steps):
    off_topic = steps["other-topic-2015"]["facts"]
    assert (off_topic["allowed"], off_topic["sealed"]) == (False, False)
    assert off_topic["refused_by"].startswith("KOR")
    assert any("outside TISA" in r for r in off_topic["reasons"])
    assert off_topic["reached"] == {"USA": False, "JPN": False}


@pytest.mark.parametrize("key", ["direct-2016", "other-topic-2016", "notice-2019", "suspended-2019"])
def test_from_november_2016_releases_go_directly(steps, key):
    facts = steps[key]["facts"]
    assert (facts["allowed"], facts["route"], facts["kor_state"]) == (True, ["KOR", "JPN"], "delivered")
    assert facts["audit"]["USA"] == []  # direct: the hub sees nothing
    assert "release.receive:accepted" in facts["audit"]["JPN"]
    assert "ORIGINATOR KOR" in facts["jpn_label"]


def test_the_2019_notice_still_allows_and_its_suspension_keeps_it_in_force(steps):
    assert any("termination-pending" in line for line in steps["notice-2019"]["lines"])
    suspended = steps["suspended-2019"]
    assert suspended["facts"]["asked_on"] > "2019-11-23"  # after the date the notice would have taken effect
    assert any("termination-notice-suspended" in line for line in suspended["lines"])


def test_a_recall_is_acknowledged_back_and_a_compromise_reported_to_the_originator(steps):
    recall = steps["recall"]["facts"]
    assert (recall["acknowledged_by"], recall["kor_state"], recall["done"]) == (["JPN"], "acknowledged", "destroy")
    assert "recall.import" in recall["audit"]["JPN"]
    assert "recall-acknowledgement.import" in recall["audit"]["KOR"]
    report = steps["compromise-report"]["facts"]
    assert (report["reported_to"], report["precedence"]) == ("KOR", "FLASH")
    assert "compromise-report.import" in report["audit"]["KOR"]
    assert "report.file" in report["audit"]["JPN"]


def test_the_three_logs_verify_and_witness_each_other(played):
    audit = {row["party"]: row for row in played[0]["audit"]}
    assert set(audit) == {"KOR", "USA", "JPN"}
    for party, row in audit.items():
        others = {"KOR", "USA", "JPN"} - {party}
        assert row["verified"] is True
        assert row["entries"] > 0
        assert row["checkpoints"] >= 1
        assert set(row["cosigned_by"]) == others, party
        assert set(row["seen"]) == others, party
        assert row["open_alarms"] == 0
        for other in others:  # what each peer co-signed of this log is what it saw of it
            assert audit[other]["seen"][party] == row["cosigned_by"][other]


def test_sigint_while_playing_stops_every_node():
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    with subprocess.Popen(command(), env=demo_env(), text=True, **pipes) as process:  # noqa: S603 - our own entry point
        try:
            nodes = reported_nodes(process)
            assert all(alive(n["pid"]) for n in nodes)
            time.sleep(1)  # into the first steps
            process.send_signal(signal.SIGINT)
            process.wait(timeout=60)
            rest = process.stderr.read()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert process.returncode == 130, rest
    assert "interrupted" in rest
    wait_gone(nodes)
    assert not any(Path(n["home"]).exists() for n in nodes)


def test_killing_the_demo_with_sigkill_still_stops_its_nodes(tmp_path):
    """SIGKILL leaves the demo no chance to clean up: its nodes end with it (Linux's parent-death signal)."""
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    with subprocess.Popen([*command(), "--dir", str(tmp_path / "demo")], env=demo_env(), text=True, **pipes) as process:  # noqa: S603
        try:
            nodes = reported_nodes(process)
            assert all(alive(n["pid"]) for n in nodes)
            process.kill()
            process.wait(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    wait_gone(nodes)


def test_a_dir_that_is_not_empty_is_refused_before_anything_starts(tmp_path):
    (tmp_path / "something").write_text("kept")
    done = subprocess.run(  # noqa: S603 - our own entry point
        [*command(), "--dir", str(tmp_path)], env=demo_env(), capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: --dir {tmp_path} is not an empty directory")
    assert [p.name for p in tmp_path.iterdir()] == ["something"]
