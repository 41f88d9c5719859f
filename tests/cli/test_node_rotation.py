"""``accord node rotate-keys`` through the real entry point, and what survives a rotation."""

from __future__ import annotations

import json

import pytest

PASS = {"ACCORD_KEY_PASSPHRASE": "correct horse"}
CREATE = ("records", "create", "--title", "DPRK launch", "--topic", "dprk-missile", "--portion")


def files(home):
    return {p.name: p.read_bytes() for p in sorted(home.iterdir()) if p.name.startswith("node")}


def test_rotate_keys_then_show(accord, home):
    made = accord("init", "--party", "KOR", extra_env=PASS)
    assert made.code == 0, made.err
    assert "warning: ACCORD_UNSAFE_FAST_KDF is set" in made.err
    before = accord("node", "show", "--json").json()
    rotated = accord("node", "rotate-keys", "--json", extra_env=PASS)
    assert rotated.code == 0, rotated.err
    assert "warning: ACCORD_UNSAFE_FAST_KDF is set" in rotated.err
    data = rotated.json()
    assert data["fingerprint"] != before["fingerprint"]
    assert data["retired"]["fingerprint"] == before["fingerprint"]
    assert data["retired"]["valid_until"] == data["rotated_at"]
    assert data["generations"] == 2
    shown = accord("node", "show", "--json").json()
    assert shown["fingerprint"] == data["fingerprint"] == json.loads((home / "node.json").read_text())["fingerprint"]
    assert [g["valid_until"] for g in shown["key_history"]] == [data["rotated_at"], None]
    assert {k["key_id"] for k in shown["key_history"][0]["keys"]} == {k["key_id"] for k in before["keys"]}
    assert "Key history" in accord("node", "show").out
    text = accord("node", "rotate-keys", extra_env=PASS)
    assert text.code == 0, text.err
    assert f"retired {data['fingerprint']}" in text.out
    assert len(accord("node", "show", "--json").json()["key_history"]) == 3
    assert not (home / "node-kek.json").exists()


def test_rotate_keys_refusals_change_nothing(accord, home):
    no_identity = accord("node", "rotate-keys", extra_env=PASS)
    assert no_identity.code == 2
    assert "no identity" in no_identity.err
    assert accord("init", "--party", "KOR", extra_env=PASS).code == 0
    before = files(home)
    no_pass = accord("node", "rotate-keys")
    assert no_pass.code == 2
    assert "error: no passphrase" in no_pass.err
    wrong = accord("node", "rotate-keys", extra_env={"ACCORD_KEY_PASSPHRASE": "wrong"})
    assert wrong.code == 2
    assert "wrong passphrase" in wrong.err
    assert files(home) == before


@pytest.mark.usefixtures("real_kdf")
def test_a_test_grade_key_file_opens_only_with_the_switch(accord, home):
    made = accord("init", "--party", "KOR", extra_env={**PASS, "ACCORD_UNSAFE_FAST_KDF": "1"})
    assert made.code == 0, made.err
    assert json.loads((home / "node-keys.json").read_text())["kdf"]["n"] == 16
    before = files(home)
    refused = accord("node", "rotate-keys", extra_env=PASS)
    assert refused.code == 2
    assert refused.err.startswith("error: refusing to open the key file")
    assert "below the floor" in refused.err
    assert "ACCORD_UNSAFE_FAST_KDF=1" in refused.err  # the hint
    assert files(home) == before


@pytest.mark.usefixtures("real_kdf")
def test_every_command_that_unlocks_honours_the_switch(accord, tmp_path):
    """A test-grade key file opens in each command that unlocks only with the switch set, and is refused without."""
    fast = {**PASS, "ACCORD_UNSAFE_FAST_KDF": "1"}
    assert accord("init", "--party", "KOR", extra_env=fast).code == 0
    created = accord(*CREATE, "KOR/MIL-II:USA,JPN:launch at 05:10", "--json", extra_env=fast)
    assert created.code == 0, created.err
    record_id = created.json()["id"]
    jpn = tmp_path / "jpn"
    assert accord("init", "--party", "JPN", extra_env={**fast, "ACCORD_HOME": str(jpn)}).code == 0
    keys = ("--keys", str(jpn / "node.json"))
    commands = {
        "records create": (*CREATE, "KOR/MIL-II:USA,JPN:a second launch"),
        "records show --bodies": ("records", "show", record_id, "--bodies"),
        "records release": ("records", "release", record_id, "--to", "JPN", *keys, "--on", "2024-01-10"),
        "audit checkpoint": ("audit", "checkpoint"),
        "recall issue": ("recall", "issue", record_id, "--disposition", "destroy"),
        "node rotate-keys": ("node", "rotate-keys"),
    }
    for name, command in commands.items():
        refused = accord(*command, extra_env=PASS)
        assert refused.code == 2, (name, refused.err)
        assert "below the floor" in refused.err, name
        opened = accord(*command, extra_env=fast)
        assert opened.code == 0, (name, opened.err)
        assert "UNSAFE: opening the key file" in opened.err, name  # the key store says so


def test_checkpoints_proofs_and_bodies_survive_a_rotation(accord, home, tmp_path):
    # The test-only cost (the conftest's switch): `records` and `audit` honour it too.
    assert accord("init", "--party", "KOR", extra_env=PASS).code == 0
    created = accord(*CREATE, "KOR/MIL-II:USA,JPN:launch at 05:10 from Sohae", "--json", extra_env=PASS)
    assert created.code == 0, created.err
    record_id = created.json()["id"]
    assert accord("audit", "checkpoint", extra_env=PASS).code == 0
    proved = accord("audit", "prove", "0")
    assert proved.code == 0, proved.err
    proof = tmp_path / "proof.json"
    proof.write_text(proved.out)

    rotated = accord("node", "rotate-keys", extra_env=PASS)
    assert rotated.code == 0, rotated.err

    verified = accord("audit", "verify")
    assert verified.code == 0, verified.err
    assert "1 signed checkpoints" in verified.out
    checked = accord("audit", "verify-proof", str(proof), "--node", str(home / "node.json"))
    assert checked.code == 0, checked.err
    opened = accord("records", "show", record_id, "--bodies", "--json", extra_env=PASS)
    assert opened.code == 0, opened.err
    assert [p["text"] for p in opened.json()["portions"]] == ["launch at 05:10 from Sohae"]
    assert accord("audit", "checkpoint", extra_env=PASS).code == 0  # signed by the new keys
    again = accord("audit", "verify")
    assert again.code == 0, again.err
    assert "2 signed checkpoints" in again.out
