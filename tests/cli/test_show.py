"""``accord world show``, ``accord agreements show`` and ``accord history`` through the entry point."""

from __future__ import annotations

import re
import subprocess
import sys


def test_world_show_on_2015_lists_tisa_in_force(accord):
    result = accord("world", "show", "--on", "2015-06-01")
    assert result.code == 0, result.err
    assert "Agreements in force on 2015-06-01" in result.out
    assert re.search(r"TISA .*hub-arrangement.*USA.*in-force", result.out)
    assert "KOR-JPN-GSOMIA" not in result.out
    assert "Republic of Korea (대한민국)" in result.out
    assert "the shipped dataset" in result.out


def test_world_show_json(accord):
    result = accord("world", "show", "--on", "2015-06-01", "--json")
    assert result.code == 0
    data = result.json()
    ids = [a["id"] for a in data["agreements"]]
    assert "TISA" in ids
    assert "KOR-JPN-GSOMIA" not in ids
    assert {p["code"] for p in data["parties"]} >= {"KOR", "JPN", "USA"}
    tisa = next(a for a in data["agreements"] if a["id"] == "TISA")
    assert (tisa["status"], tisa["hub"], tisa["in_force"]) == ("in-force", "USA", True)


def test_world_show_all_includes_agreements_not_in_force(accord):
    result = accord("world", "show", "--on", "2015-06-01", "--all", "--json")
    rows = {a["id"]: a for a in result.json()["agreements"]}
    assert rows["KOR-JPN-GSOMIA"]["status"] == "not-in-force"


def test_world_show_says_why_an_agreement_is_pending(accord):
    result = accord("world", "show", "--on", "2019-09-01")
    assert re.search(r"KOR-JPN-GSOMIA .*termination-pending .*2019-08-23", result.out)
    assert "KOR-JPN-GSOMIA: termination-notified on 2019-08-23, takes effect 2019-11-23" in result.out


def test_world_show_bad_date_is_bad_input(accord):
    result = accord("world", "show", "--on", "2015-13-01")
    assert result.code == 2
    assert result.err.startswith("error: --on: '2015-13-01'")


def test_agreements_show_has_the_2019_notice_and_its_suspension(accord):
    result = accord("agreements", "show", "KOR-JPN-GSOMIA", "--on", "2019-09-01")
    assert result.code == 0, result.err
    out = result.out
    assert re.search(r"2019-08-23 .*termination-notified \(effective 2019-11-23\)", out)
    assert re.search(r"2019-11-22 .*termination-notice-suspended", out)
    assert re.search(r"2023-03-21 .*termination-notice-withdrawn", out)
    assert "Status timeline" in out
    assert re.search(r"2019-08-23 .*termination-pending", out)
    assert "status   termination-pending on 2019-09-01" in out
    assert "Equivalences" in out


def test_agreements_show_json_timeline(accord):
    result = accord("agreements", "show", "KOR-JPN-GSOMIA", "--on", "2020-01-01", "--json")
    assert result.code == 0
    data = result.json()
    assert data["status"] == "in-force"
    assert [(t["on"], t["status"]) for t in data["timeline"]] == [
        ("2016-11-23", "in-force"),
        ("2019-08-23", "termination-pending"),
        ("2019-11-22", "in-force"),
        ("2023-03-21", "in-force"),
    ]
    kinds = [e["kind"] for e in data["events"]]
    assert kinds.index("termination-notified") < kinds.index("termination-notice-suspended")


def test_agreements_show_unknown_id(accord):
    result = accord("agreements", "show", "NOPE")
    assert result.code == 2
    assert result.err.startswith("error: unknown agreement 'NOPE' (known: ")


def test_history_replays_the_dates_through_the_engine(accord):
    result = accord("history")
    assert result.code == 0, result.err
    out = result.out
    assert "2006-07-03" in out
    assert "2023-08-18" in out
    blocks = dict(
        re.findall(r"^(\d{4}-\d{2}-\d{2}) ─+\n(.*?)(?=^\d{4}-\d{2}-\d{2} ─|^─)", out, re.MULTILINE | re.DOTALL)
    )
    assert "2014-12-29" in blocks
    assert "dprk-missile      ALLOWED  KOR → USA → JPN  (hub route via TISA" in blocks["2015-04-27"]
    assert "maritime-security DENIED" in blocks["2015-04-27"]
    for on in ("2016-11-23", "2019-08-23", "2019-11-22", "2023-03-21"):
        assert "dprk-missile      ALLOWED  KOR → JPN  (direct route; under KOR-JPN-GSOMIA)" in blocks[on]
        assert "maritime-security ALLOWED  KOR → JPN  (direct route" in blocks[on]
    assert "termination-pending" in blocks["2019-08-23"]
    assert "DENIED" in blocks["2012-06-29"]
    assert "KOR → JPN at KOR/MIL-II, by date" in out  # the summary table


def test_history_json(accord):
    result = accord("history", "--json")
    assert result.code == 0
    steps = {s["on"]: s for s in result.json()["steps"]}
    assert steps["2015-04-27"]["outcomes"][0]["via"] == "TISA"
    assert steps["2016-11-23"]["outcomes"][0]["route"] == ["KOR", "JPN"]


def test_python_dash_m_accord(env):
    done = subprocess.run(
        [sys.executable, "-m", "accord", "--help"], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0
    assert "decide" in done.stdout


def test_no_arguments_shows_help(accord):
    result = accord()
    assert "Usage" in result.out + result.err
