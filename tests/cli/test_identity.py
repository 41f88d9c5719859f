"""``accord init --party`` and ``accord node show`` through the real entry point."""

from __future__ import annotations

import json

PASS = {"ACCORD_KEY_PASSPHRASE": "correct horse"}


def test_init_without_party_says_there_is_no_identity(accord):
    result = accord("init")
    assert result.code == 0, result.err
    assert "no identity yet" in result.out
    shown = accord("node", "show")
    assert shown.code == 2
    assert "no identity" in shown.err


def test_init_with_party_needs_the_passphrase_and_writes_nothing_without(accord, home):
    refused = accord("init", "--party", "KOR")
    assert refused.code == 2
    assert refused.err.startswith("error: no passphrase")
    assert "ACCORD_KEY_PASSPHRASE" in refused.err
    assert not home.exists()


def test_init_with_party_then_show_then_refuse_overwrite(accord, home):
    made = accord("init", "--party", "KOR", extra_env=PASS)
    assert made.code == 0, made.err
    assert "identity KOR" in made.out
    descriptor = json.loads((home / "node.json").read_text())
    shown = accord("node", "show", "--json")  # no passphrase needed
    assert shown.code == 0, shown.err
    data = shown.json()
    assert data["party"] == "KOR"
    assert data["fingerprint"] == descriptor["fingerprint"]
    assert {k["algorithm"] for k in data["keys"]} == {"Ed25519", "ML-DSA-65", "MLKEM768-X25519", "X25519"}
    assert data["keys"][0]["key_id"] in accord("node", "show").out
    key_file = (home / "node-keys.json").read_bytes()
    again = accord("init", "--party", "JPN", extra_env=PASS)
    assert again.code == 2
    assert "already has an identity" in again.err
    assert (home / "node-keys.json").read_bytes() == key_file
    assert accord("init").code == 0  # the registry part stays repeatable


def test_init_with_an_unknown_party_writes_nothing(accord, home):
    refused = accord("init", "--party", "XYZ", extra_env=PASS)
    assert refused.code == 2
    assert refused.err.startswith("error: unknown party 'XYZ'")
    assert not home.exists()
