"""``accord decide`` through the real entry point: exit codes, output, --json, --world."""

from __future__ import annotations

import pytest

DECIDE = ("decide", "--from", "KOR", "--to", "JPN", "--level", "KOR/MIL-II", "--topic", "dprk-missile")


def test_allowed_exits_0_and_says_route_label_and_why(accord):
    result = accord(*DECIDE, "--on", "2015-06-01")
    assert result.code == 0, result.err
    assert "ALLOWED" in result.out
    assert "KOR → USA → JPN (through hub arrangement TISA)" in result.out
    assert "JPN 極秘 (Gokuhi)" in result.out
    assert "TISA names USA as hub" in result.out
    assert result.err == ""


def test_denied_exits_1_with_the_reasons(accord):
    result = accord(*DECIDE, "--on", "2012-06-29")
    assert result.code == 1
    assert "DENIED" in result.out
    assert "KOR-JPN-GSOMIA is not-in-force on 2012-06-29" in result.out


def test_json_is_one_object_with_the_documented_keys(accord):
    result = accord(*DECIDE, "--on", "2015-06-01", "--json")
    assert result.code == 0
    data = result.json()
    assert {"allowed", "route", "agreements", "recipient_label", "reasons", "checks"} <= set(data)
    assert data["allowed"] is True
    assert data["route"] == ["KOR", "USA", "JPN"]
    assert data["via"]["id"] == "TISA"
    assert [a["id"] for a in data["agreements"]] == ["TISA", "KOR-USA-GSOMIA", "USA-JPN-GSOMIA"]
    assert data["recipient_label"]["recipient_level"] == "JPN/GOKUHI"
    assert data["world"]["source"] == "shipped"
    assert data["on"] == "2015-06-01"


def test_json_denial_exits_1(accord):
    result = accord(*DECIDE, "--on", "2012-06-29", "--json")
    assert result.code == 1
    data = result.json()
    assert data["allowed"] is False
    assert data["route"] == []
    assert data["recipient_label"] is None
    assert data["reasons"]


def test_rel_to_defaults_to_the_recipient(accord):
    default = accord(*DECIDE, "--on", "2017-01-10", "--json").json()
    assert default["allowed"] is True
    assert "portion 1 is REL TO JPN" in default["reasons"]
    elsewhere = accord(*DECIDE, "--on", "2017-01-10", "--rel-to", "USA", "--json")
    assert elsewhere.code == 1
    assert any("not releasable to JPN (REL TO USA)" in r for r in elsewhere.json()["reasons"])
    both = accord(*DECIDE, "--on", "2017-01-10", "--rel-to", "usa,JPN", "--json")
    assert both.code == 0


def test_topic_repeats_and_scope_is_checked(accord):
    result = accord(*DECIDE, "--topic", "maritime-security", "--on", "2015-06-01", "--json")
    assert result.code == 1
    assert any("outside TISA" in r for r in result.json()["reasons"])


def test_on_defaults_to_today(accord):
    result = accord(*DECIDE, "--json")
    assert result.code in {0, 1}
    assert result.json()["on"] >= "2024-01-01"


def test_explain_lists_every_rule_with_its_source(accord):
    result = accord(*DECIDE, "--on", "2015-06-01", "--explain")
    assert result.code == 0
    assert "Every rule checked" in result.out
    assert "Para 4" in result.out  # TISA's hub clause


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--to", "XXX"), "unknown party 'XXX'"),
        (("--from", "QQQ"), "unknown party 'QQQ'"),
        (("--level", "KOR/MIL-IX"), "unknown level 'KOR/MIL-IX'"),
        (("--on", "2015-02-30"), "--on: '2015-02-30' is not a calendar day"),
        (("--on", "1899-12-31"), "--on: 1899-12-31 is outside the dates Accord handles"),
        (("--on", "June 2015"), "--on: 'June 2015' is not a date"),
        (("--rel-to", ","), "--rel-to: give at least one party code"),
        (("--to", "KOR"), "cannot release a record to itself"),
    ],
    ids=["party", "sender", "level", "date", "range", "format", "rel-to", "self"],
)
def test_bad_input_exits_2_with_one_line_naming_it(accord, args, fragment):
    flags = dict(zip(DECIDE[1::2], DECIDE[2::2], strict=True))
    flags.update(dict(zip(args[::2], args[1::2], strict=True)))
    result = accord("decide", *[x for kv in flags.items() for x in kv])
    assert result.code == 2
    assert result.out == ""
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("error: ")
    assert fragment in lines[0]


@pytest.mark.parametrize(
    "args",
    [("--bogus",), ("--topic",), ()],
    ids=["unknown-option", "missing-value", "missing-options"],
)
def test_usage_errors_exit_2(accord, args):
    result = accord("decide", "--from", "KOR", *args)
    assert result.code == 2
    assert result.out == ""
    assert result.err


def test_world_option_reads_that_directory(accord, world_copy):
    result = accord(*DECIDE, "--on", "2015-06-01", "--world", str(world_copy), "--json")
    assert result.code == 0
    assert result.json()["world"] == {
        "source": "option",
        "location": str(world_copy),
        "fingerprint": result.json()["world"]["fingerprint"],
    }


def test_world_option_changes_the_answer(accord, unsuspended_world):
    direct = accord(*DECIDE, "--topic", "maritime-security", "--on", "2020-06-01", "--world", str(unsuspended_world))
    assert direct.code == 1
    assert "terminated" in direct.out
    missile = accord(*DECIDE, "--on", "2020-06-01", "--world", str(unsuspended_world), "--json")
    assert missile.code == 0
    assert missile.json()["route"] == ["KOR", "USA", "JPN"]


def test_accord_world_environment_variable_is_the_next_source(accord, world_copy):
    result = accord(*DECIDE, "--on", "2015-06-01", "--json", extra_env={"ACCORD_WORLD": str(world_copy)})
    assert result.code == 0
    assert result.json()["world"]["source"] == "environment"


def test_a_broken_world_names_file_line_and_field(accord, world_copy, corrupt):
    number = corrupt("agreements.yaml", "kind: hub-arrangement", "kind: hub-arangement")
    result = accord(*DECIDE, "--on", "2015-06-01", "--world", str(world_copy))
    assert result.code == 2
    assert result.out == ""
    line = result.err.strip().splitlines()[0]
    assert line.startswith("error: ")
    assert f"agreements.yaml:{number}:" in line
    assert ".kind:" in line
    assert "hub-arangement" in line


def test_invalid_yaml_names_file_and_line(accord, world_copy):
    path = world_copy / "parties.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "  - code: [unclosed\n", encoding="utf-8")
    result = accord(*DECIDE, "--world", str(world_copy))
    assert result.code == 2
    assert "parties.yaml:" in result.err
    assert "error: " in result.err


def test_a_missing_world_directory_is_bad_input(accord, tmp_path):
    result = accord(*DECIDE, "--world", str(tmp_path / "nowhere"))
    assert result.code == 2
    assert "nowhere" in result.err
    assert "not a directory" in result.err
