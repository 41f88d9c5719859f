"""``accord records`` through the real entry point: create, list, show, and refusals."""

from __future__ import annotations

import sqlite3

PASS = {"ACCORD_KEY_PASSPHRASE": "correct horse"}
CREATE = ("records", "create", "--title", "DPRK launch", "--topic", "dprk-missile", "--precedence", "FLASH")


def count(home, table):
    with sqlite3.connect(home / "accord.db") as connection:
        (n,) = connection.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608 - fixed test table names
    connection.close()
    return n


def test_create_list_show(accord, tmp_path, initialised):
    initialised("KOR")
    body = tmp_path / "body.txt"
    body.write_text("second portion: from a file\n", encoding="utf-8")
    made = accord(
        *CREATE,
        "--portion",
        "KOR/MIL-II:USA,JPN:launch at 05:10 from Sohae",
        "--portion-file",
        f"KOR/MIL-III:USA:{body}",
        "--json",
        extra_env=PASS,
    )
    assert made.code == 0, made.err
    record_id = made.json()["id"]
    listed = accord("records", "list", "--json")
    assert listed.code == 0, listed.err
    assert [r["id"] for r in listed.json()["records"]] == [record_id]
    assert record_id in accord("records", "list").out
    shown = accord("records", "show", record_id, "--json")  # markings only, no passphrase
    assert shown.code == 0, shown.err
    assert shown.json()["precedence"] == "FLASH"
    assert "text" not in shown.json()["portions"][0]
    opened = accord("records", "show", record_id, "--bodies", "--json", extra_env=PASS)
    assert opened.code == 0, opened.err
    first, second = opened.json()["portions"]
    assert first["text"] == "launch at 05:10 from Sohae"
    assert second["file"]["name"] == "body.txt"  # a file portion stays a file, read with --out
    assert second["file"]["size"] == len(b"second portion: from a file\n")
    assert accord("audit", "verify").code == 0


def test_bad_input_stores_only_the_refusal(accord, home, initialised):
    initialised("KOR")
    refused = accord(*CREATE, "--portion", "KOR/MIL-II:USA,XYZ:text", extra_env=PASS)
    assert refused.code == 2
    assert refused.err.startswith("error: unknown party 'XYZ'")
    assert len(refused.err.strip().splitlines()) <= 2  # one line, and a hint at most
    assert (count(home, "records"), count(home, "audit_entries")) == (0, 1)
    malformed = accord(*CREATE, "--portion", "just text", extra_env=PASS)
    assert malformed.code == 2
    assert "LEVEL:REL_TO" in malformed.err
    assert (count(home, "records"), count(home, "audit_entries")) == (0, 1)
    no_pass = accord(*CREATE, "--portion", "KOR/MIL-II:USA:text")
    assert no_pass.code == 2
    assert no_pass.err.startswith("error: no passphrase")
    assert count(home, "records") == 0
