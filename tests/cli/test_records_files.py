"""``accord records`` with file portions, through the real entry point.

One node home for the module (keys with the lowest accepted scrypt cost, so each
unlock is cheap); each test counts what it adds rather than assuming an empty node.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3
from pathlib import Path

import pytest

from accord.services import node
from accord.services.world import init_node
from tests.cli.test_records import PASS
from tests.unit.services.conftest import FAST

CREATE = ("records", "create", "--title", "Sohae imagery", "--topic", "dprk-missile", "--json")
DATA = bytes(range(256)) * 1000 + b"\x00\xff"  # any bytes, not UTF-8


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """Overrides the per-test home of tests/cli/conftest.py: one identity for the module."""
    home = tmp_path_factory.mktemp("node") / "home"
    init_node(home=home, database_url=f"sqlite:///{home / 'accord.db'}")
    node.create_identity(
        home=home, party="KOR", passphrase=PASS["ACCORD_KEY_PASSPHRASE"], at=dt.datetime.now(dt.UTC), scrypt=FAST
    )
    return home


def count(home, table):
    with sqlite3.connect(home / "accord.db") as connection:
        (n,) = connection.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608 - fixed test table names
    connection.close()
    return n


def listed(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def body_files(home):
    return sorted(p for p in (home / "bodies").rglob("*") if p.is_file()) if (home / "bodies").exists() else []


def test_files_go_in_encrypted_and_come_out_checked(accord, home, tmp_path):
    scan = tmp_path / "in" / "scan 042.tif"
    scan.parent.mkdir()
    scan.write_bytes(DATA)
    (tmp_path / "in" / "notes.txt").write_text("분석 notes\n", encoding="utf-8")
    made = accord(
        *CREATE,
        "--portion",
        "KOR/MIL-II:USA,JPN:launch at 05:10",
        "--portion-file",
        f"KOR/MIL-II:USA:{scan}",
        "--portion-file",
        f"KOR/MIL-III::{tmp_path / 'in' / 'notes.txt'}",
        extra_env=PASS,
    )
    assert made.code == 0, made.err
    record_id = made.json()["id"]
    assert {p.parent.name for p in body_files(home)} >= {record_id}
    assert all(DATA[:64] not in p.read_bytes() for p in body_files(home))

    out = tmp_path / "out"
    out.mkdir()
    shown = accord("records", "show", record_id, "--out", str(out), extra_env=PASS)
    assert shown.code == 0, shown.err
    assert (out / "scan 042.tif").read_bytes() == DATA
    assert (out / "notes.txt").read_text(encoding="utf-8") == "분석 notes\n"
    assert listed(out) == ["notes.txt", "scan 042.tif"]
    assert "launch at 05:10" in shown.out  # text portions print as before
    assert "scan 042.tif" in shown.out

    again = accord("records", "show", record_id, "--out", str(out), extra_env=PASS)
    assert again.code == 2
    assert "exists; refusing to overwrite it" in again.err
    assert "--force" in again.err
    (out / "notes.txt").write_text("edited", encoding="utf-8")
    forced = accord("records", "show", record_id, "--out", str(out), "--force", "--json", extra_env=PASS)
    assert forced.code == 0, forced.err
    portions = forced.json()["portions"]
    assert portions[0]["text"] == "launch at 05:10"
    assert (portions[1]["file"]["name"], portions[1]["file"]["size"]) == ("scan 042.tif", len(DATA))
    assert portions[1]["file"]["sha256"] == hashlib.sha256(DATA).hexdigest()
    assert portions[2]["file"]["written"] == str(out / "notes.txt")
    assert (out / "notes.txt").read_text(encoding="utf-8") == "분석 notes\n"

    encrypted = home / "bodies" / record_id / "2.enc"
    encrypted.write_bytes(encrypted.read_bytes()[:-1] + b"\x00")
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    tampered = accord("records", "show", record_id, "--out", str(fresh), extra_env=PASS)
    assert tampered.code == 2
    assert tampered.err.strip() == "error: encrypted body failed its integrity check"
    assert listed(fresh) == []
    assert accord("audit", "verify").code == 0


def test_a_refused_file_leaves_only_the_refusal(accord, home, tmp_path):
    records, entries, files = count(home, "records"), count(home, "audit_entries"), body_files(home)
    (tmp_path / "empty.bin").write_bytes(b"")
    ok = tmp_path / "ok.bin"
    ok.write_bytes(DATA)
    refused = accord(
        *CREATE,
        "--portion-file",
        f"KOR/MIL-II:USA:{ok}",
        "--portion-file",
        f"KOR/MIL-II:USA:{tmp_path / 'empty.bin'}",
        extra_env=PASS,
    )
    assert refused.code == 2
    assert refused.err.startswith("error: portion 2: the file ")
    assert (count(home, "records"), count(home, "audit_entries")) == (records, entries + 1)
    assert body_files(home) == files
    listed = accord("records", "orphans", "--older-than", "0", "--json")
    assert listed.code == 0, listed.err
    assert listed.json() == {"orphans": [], "deleted": False}
