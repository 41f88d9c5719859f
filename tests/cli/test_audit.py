"""``accord audit`` through the real entry point: checkpoint, verify, prove, verify-proof, tampering."""

from __future__ import annotations

import datetime as dt
import sqlite3

from accord.audit.entry import EntryKind
from accord.services import audit
from accord.services._database import Database

PASS = {"ACCORD_KEY_PASSPHRASE": "correct horse"}
AT = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


def add_entries(home, n):
    db = Database(database_url=f"sqlite:///{home / 'accord.db'}")
    try:
        for i in range(n):
            with db.transaction("test") as session:
                audit.append(session, kind=EntryKind.ACCESS, actor="analyst", at=AT, subjects=(f"R-{i}",))
    finally:
        db.close()


def test_checkpoint_verify_prove_and_verify_offline(accord, home, tmp_path, initialised):
    initialised("KOR")
    add_entries(home, 4)
    made = accord("audit", "checkpoint", extra_env=PASS)
    assert made.code == 0, made.err
    assert "4 entries" in made.out
    verified = accord("audit", "verify")
    assert verified.code == 0, verified.err
    assert "verified: 4 entries, 1 signed checkpoints" in verified.out
    proved = accord("audit", "prove", "2")
    assert proved.code == 0, proved.err
    proof = tmp_path / "proof.json"
    proof.write_text(proved.out)
    offline = tmp_path / "offline"
    offline.mkdir()
    (offline / "node.json").write_bytes((home / "node.json").read_bytes())
    checked = accord("audit", "verify-proof", str(proof), "--node", str(offline / "node.json"))
    assert checked.code == 0, checked.err
    assert "entry 2 (access" in checked.out
    proof.write_text(proved.out.replace('"R-2"', '"R-3"'))
    forged = accord("audit", "verify-proof", str(proof), "--node", str(offline / "node.json"))
    assert forged.code == 2
    assert forged.err.startswith("error: ")


def test_one_changed_byte_in_the_database_is_named(accord, home, initialised):
    initialised("KOR")
    add_entries(home, 5)
    assert accord("audit", "checkpoint", extra_env=PASS).code == 0
    with sqlite3.connect(home / "accord.db") as connection:
        (data,) = connection.execute("SELECT entry FROM audit_entries WHERE seq = 3").fetchone()
        changed = bytes(data).replace(b"analyst", b"analyse")
        connection.execute("UPDATE audit_entries SET entry = ? WHERE seq = 3", (changed,))
    connection.close()
    broken = accord("audit", "verify")
    assert broken.code == 2
    assert "first bad entry is 3" in broken.err


def test_checkpoint_without_passphrase_is_one_clear_line(accord, initialised):
    initialised("KOR")
    refused = accord("audit", "checkpoint")
    assert refused.code == 2
    assert refused.err.startswith("error: no passphrase")
