"""``accord people`` and ``accord tokens`` through the real entry point: bootstrap, tokens, management, refusals."""

from __future__ import annotations

import sqlite3

import pytest

PASS = {"ACCORD_KEY_PASSPHRASE": "correct horse"}
ADMIN = {"ACCORD_PERSON_PASSWORD": "admin passphrase one"}
KIM = {"ACCORD_PERSON_PASSWORD": "analyst passphrase two"}


def audit_bytes(home) -> bytes:
    with sqlite3.connect(home / "accord.db") as connection:
        rows = connection.execute("SELECT entry FROM audit_entries ORDER BY seq").fetchall()
    connection.close()
    return b"\n".join(row[0] for row in rows)


@pytest.fixture
def node(accord, initialised):
    initialised("KOR")
    boot = accord("people", "bootstrap", "--id", "admin", "--name", "First Admin", extra_env=ADMIN)
    assert boot.code == 0, boot.err
    assert "first administrator" in boot.out
    issued = accord("tokens", "issue", "--person", "admin", "--name", "setup", "--json", extra_env=ADMIN)
    assert issued.code == 0, issued.err
    return {"ACCORD_TOKEN": issued.json()["token"]}


def test_bootstrap_then_manage_people_with_a_token(accord, node, home):
    admin = node
    added = accord(
        "people",
        "add",
        "kim",
        "--name",
        "Kim Min-jun",
        "--clearance",
        "KOR/MIL-II",
        "--topic",
        "dprk-missile",
        "--role",
        "analyst",
        "--json",
        extra_env=admin | KIM,
    )
    assert added.code == 0, added.err
    assert added.json()["roles"] == ["analyst"]
    assert added.json()["has_password"] is True

    listed = accord("people", "list", "--json", extra_env=admin)
    assert [p["id"] for p in listed.json()["people"]] == ["admin", "kim"]
    table = accord("people", "list", extra_env=admin)
    assert "administrator" in table.out
    assert "KOR/MIL-II" in table.out

    roles = accord(
        "people", "set-roles", "kim", "--role", "analyst", "--role", "disclosure-officer", "--json", extra_env=admin
    )
    assert roles.code == 0, roles.err
    assert roles.json()["roles"] == ["analyst", "disclosure-officer"]
    cleared = accord("people", "set-clearance", "kim", "KOR/MIL-I", "--json", extra_env=admin)
    assert cleared.json()["clearance"] == "KOR/MIL-I"
    topics = accord(
        "people",
        "set-need-to-know",
        "kim",
        "--topic",
        "dprk-missile",
        "--topic",
        "dprk-nuclear",
        "--json",
        extra_env=admin,
    )
    assert topics.json()["need_to_know"] == ["dprk-missile", "dprk-nuclear"]
    shown = accord("people", "show", "kim", extra_env=admin)
    assert "Kim Min-jun" in shown.out
    assert "dprk-nuclear" in shown.out

    foreign = accord("people", "set-clearance", "kim", "JPN/HI", extra_env=admin)
    assert foreign.code == 2
    assert foreign.err.startswith("error: person kim: clearance JPN/HI is not a level of KOR's own scheme")

    assert accord("audit", "verify").code == 0
    log = audit_bytes(home)
    for secret in (admin["ACCORD_TOKEN"], ADMIN["ACCORD_PERSON_PASSWORD"], KIM["ACCORD_PERSON_PASSWORD"]):
        assert secret.encode() not in log
    assert b'"kind":"person"' in log
    assert b'"kind":"login"' in log


def test_an_analyst_sees_only_themselves_and_changes_their_own_password(accord, node):
    admin = node
    assert accord("people", "add", "kim", "--role", "analyst", extra_env=admin | KIM).code == 0
    issued = accord("tokens", "issue", "--person", "kim", "--scope", "world.read", "--days", "7", extra_env=KIM)
    assert issued.code == 0, issued.err
    token = issued.out.strip()
    assert token.startswith("accord_")
    assert "shown only now" in issued.err
    kim = {"ACCORD_TOKEN": token}

    me = accord("people", "show", "--json", extra_env=kim)
    assert me.code == 0, me.err
    assert me.json()["id"] == "kim"
    refused = accord("people", "list", extra_env=kim)
    assert refused.code == 2
    assert "kim may not people.read" in refused.err

    changed = accord(
        "people",
        "passwd",
        "kim",
        extra_env=kim
        | {"ACCORD_CURRENT_PASSWORD": KIM["ACCORD_PERSON_PASSWORD"], "ACCORD_PERSON_PASSWORD": "new analyst words"},
    )
    assert changed.code == 0, changed.err
    old = accord("tokens", "issue", "--person", "kim", extra_env=KIM)
    assert old.code == 2
    assert old.err.startswith("error: authentication failed")
    assert (
        accord("tokens", "issue", "--person", "kim", extra_env={"ACCORD_PERSON_PASSWORD": "new analyst words"}).code
        == 0
    )


def test_lock_unlock_and_revoke_stop_a_token(accord, node):
    admin = node
    assert accord("people", "add", "kim", "--role", "analyst", extra_env=admin | KIM).code == 0
    issued = accord("tokens", "issue", "--person", "kim", "--json", extra_env=KIM).json()
    kim = {"ACCORD_TOKEN": issued["token"]}

    assert accord("people", "lock", "kim", extra_env=admin).code == 0
    locked = accord("people", "show", extra_env=kim)
    assert locked.code == 2
    assert "authentication failed" in locked.err
    assert accord("people", "unlock", "kim", "--json", extra_env=admin).json()["locked"] is False
    assert accord("people", "show", extra_env=kim).code == 0

    listed = accord("tokens", "list", "--all", "--json", extra_env=admin).json()["tokens"]
    assert {(t["person"], t["status"]) for t in listed} == {("admin", "active"), ("kim", "active")}
    assert all("token" not in t and "digest" not in t for t in listed)
    revoked = accord("tokens", "revoke", issued["id"], extra_env=admin)
    assert revoked.code == 0, revoked.err
    assert f"Revoked token {issued['id']} of kim" in revoked.out
    assert accord("people", "show", extra_env=kim).code == 2
    assert accord("tokens", "list", "--json", extra_env=admin).json()["tokens"][0]["person"] == "admin"


def test_refusals_exit_2_with_one_line(accord, node):
    admin = node
    cases = [
        (("people", "list"), {}, "error: no API token"),
        (("people", "add", "--first", "other"), ADMIN, "error: this node already has people"),
        (("people", "add", "Bad Id", "--role", "analyst"), admin | KIM, "error: a person id is 2 to 64"),
        (("people", "add", "kim", "--role", "general"), admin | KIM, "error: unknown role 'general'"),
        (("people", "add", "kim"), admin | {"ACCORD_PERSON_PASSWORD": "short"}, "error: a password has at least 12"),
        (("people", "set-roles", "admin"), admin, "error: give the new roles with --role"),
        (("people", "set-roles", "admin", "--none"), admin, "error: admin may not change their own roles"),
        (("people", "show"), {"ACCORD_TOKEN": "accord_not_a_token"}, "error: authentication failed"),
        (("tokens", "issue", "--person", "admin", "--days", "400"), ADMIN, "error: a token lives more than 0"),
        (("tokens", "revoke", "zzzzzzzzzzzzzzzz"), admin, "error: no token zzzzzzzzzzzzzzzz"),
    ]
    for args, extra, message in cases:
        result = accord(*args, extra_env=extra)
        assert result.code == 2, (args, result.out, result.err)
        assert result.err.startswith(message), (args, result.err)
        assert len(result.err.strip().splitlines()) <= 2, result.err
