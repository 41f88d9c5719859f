"""Checkpoint witnessing through the real entry point and bundles: KOR's head co-signed by JPN, then a fork.

KOR queues a checkpoint for JPN (``accord audit witness --send``), the bundle carries
it to JPN, JPN's bundle back carries the receipt and the cosignature. A copy of KOR's
node taken earlier (the same keys) then rewrites history and sends its own head: JPN
raises an alarm, shown by ``peers status`` and ``audit witness`` (exit 3) until resolved.
"""

from __future__ import annotations

import shutil

import pytest

from tests.cli.test_federation import PASS, audit_entries, pin_each_other


@pytest.fixture
def nodes(accord, tmp_path, initialised):
    """``run(party, *args)`` runs ``accord`` as KOR, JPN or FORK (a later copy of KOR's home)."""
    homes = {party: tmp_path / party.lower() for party in ("KOR", "JPN", "FORK")}

    def run(party, *args):
        return accord(*args, extra_env={**PASS, "ACCORD_HOME": str(homes[party])})

    for party in ("KOR", "JPN"):
        initialised(party, at=homes[party])
    run.homes = homes
    return run


def repin(nodes, tmp_path, party):
    """Unpin JPN and pin it again: two audit entries that differ between the two copies of KOR (their times)."""
    assert nodes(party, "peers", "remove", "JPN").code == 0
    assert nodes(party, "peers", "add", str(tmp_path / "JPN.descriptor")).code == 0


def carry(nodes, tmp_path, sender, recipient, name):
    """Export what ``sender`` has for ``recipient`` and import it there; how many messages went."""
    path = tmp_path / name
    exported = nodes(sender, "export", "--to", recipient, "--out", str(path))
    assert exported.code == 0, exported.err
    imported = nodes(recipient, "import", str(path), "--json")
    assert imported.code == 0, imported.err
    return imported.json()


def witness(nodes, party):
    shown = nodes(party, "audit", "witness", "--json")
    return shown.code, {p["peer"]: p for p in shown.json()["peers"]}


def test_a_checkpoint_goes_by_bundle_and_its_cosignature_comes_back_then_a_fork_raises_the_alarm(nodes, tmp_path):
    pin_each_other(nodes, tmp_path)
    shutil.copytree(nodes.homes["KOR"], nodes.homes["FORK"])  # the same keys and log, to be rewritten later
    repin(nodes, tmp_path, "KOR")

    sent = nodes("KOR", "audit", "witness", "--send", "--to", "jpn", "--json")
    assert sent.code == 0, sent.err
    head = sent.json()["checkpoint"]
    assert (sent.json()["peers"], sent.json()["new"]) == (["JPN"], True)
    assert carry(nodes, tmp_path, "KOR", "JPN", "1.bundle")["new"] == 1

    code, seen = witness(nodes, "JPN")
    assert code == 0
    assert (seen["KOR"]["seen"]["size"], seen["KOR"]["seen"]["root"]) == (head["size"], head["root"])
    back = carry(nodes, tmp_path, "JPN", "KOR", "2.bundle")
    assert sorted(m["type"] for m in back["accepted"]) == ["cosignature", "receipt"]
    code, cosigned = witness(nodes, "KOR")
    assert code == 0
    assert (cosigned["JPN"]["cosigned"]["size"], cosigned["JPN"]["cosigned"]["root"]) == (head["size"], head["root"])
    table = nodes("KOR", "audit", "witness")
    assert table.code == 0
    assert "JPN" in table.out
    assert "none" in table.out

    # The copy rewrites what came after it and shows JPN a head of the same size with another root.
    repin(nodes, tmp_path, "FORK")
    forged = nodes("FORK", "audit", "witness", "--send", "--json")
    assert forged.code == 0, forged.err
    assert forged.json()["checkpoint"]["size"] == head["size"]
    assert forged.json()["checkpoint"]["root"] != head["root"]
    exported = nodes("FORK", "export", "--to", "JPN", "--out", str(tmp_path / "fork.bundle"))
    assert exported.code == 0, exported.err
    entries = audit_entries(nodes, "JPN")
    imported = nodes("JPN", "import", str(tmp_path / "fork.bundle"), "--json")
    assert imported.code == 0, imported.err
    assert [m["outcome"] for m in imported.json()["accepted"]] == ["refused"]
    assert audit_entries(nodes, "JPN") == entries + 1  # the alarm

    code, alarmed = witness(nodes, "JPN")
    assert code == 3
    (alarm,) = alarmed["KOR"]["alarms"]
    assert (alarm["kind"], alarm["open"], alarm["seen_size"]) == ("forked", True, head["size"])
    assert alarmed["KOR"]["seen"]["root"] == head["root"]  # the head JPN keeps is the one it co-signed
    shown = nodes("JPN", "audit", "witness")
    assert shown.code == 3
    assert f"ALARM {alarm['id']}: KOR's log forked" in shown.out
    status = nodes("JPN", "peers", "status", "--json")
    assert status.code == 0
    assert [(p["peer"], p["witness"]["open_alarms"]) for p in status.json()["peers"]] == [("KOR", 1)]
    assert "ALARM" in nodes("JPN", "peers", "status").out

    assert nodes("JPN", "audit", "witness", "--resolve", str(alarm["id"])).code == 2  # a note is required
    resolved = nodes("JPN", "audit", "witness", "--resolve", str(alarm["id"]), "--note", "KOR restored; confirmed")
    assert resolved.code == 0, resolved.err
    assert witness(nodes, "JPN")[0] == 0
    assert "ok," in nodes("JPN", "peers", "status").out
    assert nodes("JPN", "audit", "verify").code == 0
