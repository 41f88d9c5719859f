"""``accord records release/receive/inbox/sent/open`` between two node homes, through the real entry point."""

from __future__ import annotations

import json

import pytest

PASS = {"ACCORD_KEY_PASSPHRASE": "correct horse"}
READER = ("--person", "tanaka", "--nationality", "JPN", "--need-to-know", "dprk-missile")


@pytest.fixture
def nodes(accord, tmp_path, initialised):
    """``run(party, *args)`` runs ``accord`` as the KOR or JPN node; both are initialised."""
    homes = {party: tmp_path / party.lower() for party in ("KOR", "JPN")}

    def run(party, *args):
        return accord(*args, extra_env={**PASS, "ACCORD_HOME": str(homes[party])})

    for party, home in homes.items():
        initialised(party, at=home)
    run.homes = homes
    return run


def create(nodes):
    made = nodes(
        "KOR",
        "records",
        "create",
        "--title",
        "DPRK launch",
        "--topic",
        "dprk-missile",
        "--portion",
        "KOR/MIL-II:JPN:launch at 05:10 from Sohae",
        "--portion",
        "KOR/MIL-III::our source",
        "--json",
    )
    assert made.code == 0, made.err
    return made.json()["id"]


def test_release_receive_open(nodes, tmp_path):
    record_id = create(nodes)
    message = tmp_path / "message.json"
    jpn_keys = str(nodes.homes["JPN"] / "node.json")
    released = nodes(
        "KOR", "records", "release", record_id, "--to", "JPN", "--keys", jpn_keys, "--on", "2017-01-01",
        "--out", str(message),
    )  # fmt: skip
    assert released.code == 0, released.err
    assert "Sealed release" in released.out
    assert "JPN 極秘" in released.out  # the recipient's marking
    assert "withheld 2" in released.out
    assert b"Sohae" not in message.read_bytes()
    sent = nodes("KOR", "records", "sent", "--json").json()["releases"]
    assert [(r["record_id"], r["state"], r["route"]) for r in sent] == [(record_id, "sealed", "KOR>JPN")]

    kor_keys = str(nodes.homes["KOR"] / "node.json")
    received = nodes("JPN", "records", "receive", str(message), "--from", kor_keys, "--json")
    assert received.code == 0, received.err
    body = received.json()
    assert body["new"] is True
    assert body["label"]["recipient_level"] == "JPN/GOKUHI"
    again = nodes("JPN", "records", "receive", str(message), "--from", kor_keys)
    assert again.code == 0
    assert "Already received" in again.out
    inbox = nodes("JPN", "records", "inbox", "--json").json()["releases"]
    assert [r["id"] for r in inbox] == [body["release_id"]]

    opened = nodes("JPN", "records", "open", body["release_id"], *READER, "--clearance", "JPN/GOKUHI", "--json")
    assert opened.code == 0, opened.err
    assert [p["text"] for p in opened.json()["portions"]] == ["launch at 05:10 from Sohae"]
    table = nodes("JPN", "records", "open", body["release_id"], *READER, "--clearance", "JPN/KIMITSU")
    assert "launch at 05:10 from Sohae" in table.out
    assert "ORIGINATOR KOR" in table.out
    refused = nodes("JPN", "records", "open", body["release_id"], *READER, "--clearance", "JPN/HI")
    assert refused.code == 1
    assert "REFUSED" in refused.out
    assert "Sohae" not in refused.out
    for party in ("KOR", "JPN"):
        assert nodes(party, "audit", "verify").code == 0


def test_denied_release_exits_1_and_writes_nothing(nodes, tmp_path):
    record_id = create(nodes)
    message = tmp_path / "message.json"
    jpn_keys = str(nodes.homes["JPN"] / "node.json")
    denied = nodes(
        "KOR", "records", "release", record_id, "--to", "JPN", "--keys", jpn_keys, "--on", "2013-01-01",
        "--out", str(message), "--json",
    )  # fmt: skip
    assert denied.code == 1
    assert denied.json()["decision"]["allowed"] is False
    assert "release" not in denied.json()
    assert not message.exists()
    assert nodes("KOR", "records", "sent", "--json").json()["releases"] == []


def test_tampered_message_is_refused_with_one_opaque_error(nodes, tmp_path):
    record_id = create(nodes)
    message = tmp_path / "message.json"
    jpn_keys = str(nodes.homes["JPN"] / "node.json")
    args = ("records", "release", record_id, "--to", "JPN", "--keys", jpn_keys, "--on", "2017-01-01")
    assert nodes("KOR", *args, "--out", str(message)).code == 0
    doc = json.loads(message.read_bytes())
    ciphertext = doc["sealed"]["envelope"]["ct"]
    doc["sealed"]["envelope"]["ct"] = ("A" if ciphertext[5] != "A" else "B").join([ciphertext[:5], ciphertext[6:]])
    message.write_text(json.dumps(doc), encoding="utf-8")
    refused = nodes("JPN", "records", "receive", str(message), "--from", str(nodes.homes["KOR"] / "node.json"))
    assert refused.code == 2
    # The one line, after the key store's warning that the test-only KDF opened the keys.
    lines = [line for line in refused.err.splitlines() if not line.startswith("UNSAFE: opening the key file")]
    assert lines[0] == "error: sealed release failed its integrity check"
    assert nodes("JPN", "records", "inbox", "--json").json()["releases"] == []
    assert nodes("JPN", "audit", "verify", "--json").json()["entries"] == 1  # the refusal only


def test_release_needs_the_next_hops_keys_and_a_free_out_path(nodes, tmp_path):
    record_id = create(nodes)
    taken = tmp_path / "taken.json"
    taken.write_text("{}", encoding="utf-8")
    jpn_keys = str(nodes.homes["JPN"] / "node.json")
    exists = nodes("KOR", "records", "release", record_id, "--to", "JPN", "--keys", jpn_keys, "--out", str(taken))
    assert exists.code == 2
    assert "refusing to overwrite" in exists.err
    missing = nodes("KOR", "records", "release", record_id, "--to", "JPN", "--keys", str(tmp_path / "none.json"))
    assert missing.code == 2


def test_a_file_portion_released_received_and_saved(nodes, tmp_path):
    annex = tmp_path / "annex.pdf"
    annex.write_bytes(b"%PDF-1.7 " + bytes(range(256)) * 100)
    made = nodes(
        "KOR", "records", "create", "--title", "Imagery", "--topic", "dprk-missile",
        "--portion", "KOR/MIL-II:JPN:summary", "--portion-file", f"KOR/MIL-II:JPN:{annex}", "--json",
    )  # fmt: skip
    assert made.code == 0, made.err
    message = tmp_path / "message.json"
    jpn_keys = str(nodes.homes["JPN"] / "node.json")
    released = nodes(
        "KOR", "records", "release", made.json()["id"], "--to", "JPN", "--keys", jpn_keys, "--on", "2017-01-01",
        "--out", str(message),
    )  # fmt: skip
    assert released.code == 0, released.err
    assert (tmp_path / "message.json.parts" / "2.enc").is_file()
    received = nodes(
        "JPN", "records", "receive", str(message), "--from", str(nodes.homes["KOR"] / "node.json"), "--json"
    )
    assert received.code == 0, received.err
    saved = tmp_path / "saved"
    saved.mkdir()
    release_id = received.json()["release_id"]
    opened = nodes("JPN", "records", "open", release_id, *READER, "--clearance", "JPN/GOKUHI", "--out", str(saved))
    assert opened.code == 0, opened.err
    assert (saved / "annex.pdf").read_bytes() == annex.read_bytes()
    again = nodes("JPN", "records", "open", release_id, *READER, "--clearance", "JPN/GOKUHI", "--out", str(saved))
    assert again.code == 2  # never over an existing file without --force
    assert "exists" in again.err
