"""Two node homes through the real entry point: pin each other, release, bundle there, receipt back."""

from __future__ import annotations

import json

import pytest

PASS = {"ACCORD_KEY_PASSPHRASE": "correct horse"}


@pytest.fixture
def nodes(accord, tmp_path, initialised):
    """``run(party, *args)`` runs ``accord`` as the KOR or JPN node; both initialised and pinned to each other."""
    homes = {party: tmp_path / party.lower() for party in ("KOR", "JPN")}

    def run(party, *args):
        return accord(*args, extra_env={**PASS, "ACCORD_HOME": str(homes[party])})

    for party, home in homes.items():
        initialised(party, at=home)
    run.homes = homes
    return run


def pin_each_other(nodes, tmp_path):
    descriptors = {}
    for party in ("KOR", "JPN"):
        path = tmp_path / f"{party}.descriptor"
        exported = nodes(party, "node", "export-descriptor", "--out", str(path))
        assert exported.code == 0, exported.err
        fingerprint = exported.err.split("fingerprint ")[1].split()[0]
        descriptors[party] = (path, fingerprint)
    path, fingerprint = descriptors["JPN"]
    added = nodes("KOR", "peers", "add", str(path), "--fingerprint", fingerprint, "--json")
    assert added.code == 0, added.err
    assert added.json()["party"] == "JPN"
    assert nodes("JPN", "peers", "add", str(descriptors["KOR"][0])).code == 0


def release_to_jpn(nodes, *, keys=True):
    made = nodes(
        "KOR", "records", "create", "--title", "DPRK launch", "--topic", "dprk-missile",
        "--portion", "KOR/MIL-II:JPN:launch at 05:10 from Sohae", "--json",
    )  # fmt: skip
    assert made.code == 0, made.err
    record_id = made.json()["id"]
    # Without --keys the pinned peer's keys seal it, and it waits for the next export.
    jpn_keys = ("--keys", str(nodes.homes["JPN"] / "node.json")) if keys else ()
    released = nodes("KOR", "records", "release", record_id, "--to", "JPN", *jpn_keys, "--on", "2017-03-01")
    assert released.code == 0, released.err
    return record_id


def sent_states(nodes):
    return [r["state"] for r in nodes("KOR", "records", "sent", "--json").json()["releases"]]


def audit_entries(nodes, party):
    verified = nodes(party, "audit", "verify", "--json")
    assert verified.code == 0, verified.err
    return verified.json()["entries"]


def test_bundle_there_and_receipt_back(nodes, tmp_path):
    pin_each_other(nodes, tmp_path)
    record_id = release_to_jpn(nodes, keys=False)
    assert sent_states(nodes) == ["sealed"]

    exported = nodes("KOR", "export", "--to", "JPN")  # to stdout
    assert exported.code == 0, exported.err
    assert "1 message" in exported.err
    bundle = tmp_path / "to-jpn.bundle"
    bundle.write_text(exported.out, encoding="utf-8")
    assert b"Sohae" not in bundle.read_bytes()
    assert sent_states(nodes) == ["queued"]

    imported = nodes("JPN", "import", str(bundle), "--json")
    assert imported.code == 0, imported.err
    assert (imported.json()["new"], imported.json()["rejected"]) == (1, 0)
    entries = audit_entries(nodes, "JPN")
    again = nodes("JPN", "import", str(bundle), "--json")
    assert (again.json()["new"], again.json()["duplicates"]) == (0, 1)
    assert audit_entries(nodes, "JPN") == entries  # importing twice changes nothing
    assert len(nodes("JPN", "records", "inbox", "--json").json()["releases"]) == 1

    back = tmp_path / "to-kor.bundle"
    receipts = nodes("JPN", "export", "--to", "KOR", "--out", str(back))
    assert receipts.code == 0, receipts.err
    assert "1 message" in receipts.err
    assert nodes("KOR", "import", str(back)).code == 0
    assert sent_states(nodes) == ["delivered"]
    entries = audit_entries(nodes, "KOR")
    assert nodes("KOR", "import", str(back)).code == 0
    assert audit_entries(nodes, "KOR") == entries
    assert sent_states(nodes) == ["delivered"]

    status = nodes("KOR", "peers", "status", "--json").json()["peers"]
    assert [(s["peer"], s["pending"], s["delivered"]) for s in status] == [("JPN", 0, 1)]
    table = nodes("KOR", "peers", "status")
    assert "JPN" in table.out
    # Nothing more to send; --since re-exports what was queued, delivered or not.
    assert "0 message" in nodes("KOR", "export", "--to", "JPN", "--out", str(tmp_path / "empty")).err
    since = nodes("KOR", "export", "--to", "JPN", "--since", "2000-01-01", "--out", str(tmp_path / "again"))
    assert "1 message" in since.err

    # An obligation travels the same way: JPN reports a loss of its copy to the originator.
    report = nodes("JPN", "report-compromise", "file", record_id, "--kind", "loss", "--details", "bag lost", "--json")
    assert report.code == 0, report.err
    report_id = report.json()["id"]
    queued = nodes("JPN", "obligations", "send", "compromise-report", report_id, "--to", "KOR")
    assert queued.code == 0, queued.err
    assert "FLASH" in queued.out
    reports = tmp_path / "reports.bundle"
    assert "1 message" in nodes("JPN", "export", "--to", "KOR", "--out", str(reports)).err
    assert nodes("KOR", "import", str(reports)).code == 0
    held = nodes("KOR", "report-compromise", "list", "--json").json()["reports"]
    assert [r["report"]["id"] for r in held] == [report_id]


def test_peers_list_show_remove_and_refusals(nodes, tmp_path):
    pin_each_other(nodes, tmp_path)
    listed = nodes("KOR", "peers", "list", "--json").json()["peers"]
    assert [p["party"] for p in listed] == ["JPN"]
    shown = nodes("KOR", "peers", "show", "jpn")
    assert shown.code == 0
    assert "fingerprint" in shown.out
    again = nodes("KOR", "peers", "add", str(tmp_path / "JPN.descriptor"))
    assert again.code == 2
    assert "already stored" in again.err
    broken = tmp_path / "broken.descriptor"
    broken.write_text(json.dumps({"descriptor": {}, "signature": {}}), encoding="utf-8")
    assert nodes("KOR", "peers", "add", str(broken)).code == 2
    assert nodes("KOR", "peers", "remove", "JPN").code == 0
    assert nodes("KOR", "peers", "show", "JPN").code == 2
    assert nodes("KOR", "export", "--to", "JPN").code == 2  # not pinned any more


def test_a_bundle_from_an_unpinned_node_is_refused(nodes, tmp_path):
    release_to_jpn(nodes)
    descriptor = tmp_path / "JPN.descriptor"
    assert nodes("JPN", "node", "export-descriptor", "--out", str(descriptor)).code == 0
    assert nodes("KOR", "peers", "add", str(descriptor)).code == 0
    bundle = tmp_path / "b"
    assert nodes("KOR", "export", "--to", "JPN", "--out", str(bundle)).code == 0
    entries = audit_entries(nodes, "JPN")
    refused = nodes("JPN", "import", str(bundle))  # JPN never pinned KOR
    assert refused.code == 2
    assert "federation message refused" in refused.err
    assert audit_entries(nodes, "JPN") == entries + 1
    assert nodes("JPN", "records", "inbox", "--json").json()["releases"] == []
    # Once KOR is pinned the bundle opens, but an envelope over the size limit is still refused.
    kor_descriptor = tmp_path / "KOR.descriptor"
    assert nodes("KOR", "node", "export-descriptor", "--out", str(kor_descriptor)).code == 0
    assert nodes("JPN", "peers", "add", str(kor_descriptor)).code == 0
    small = nodes("JPN", "import", str(bundle), "--max-envelope-bytes", "1000", "--json")
    assert small.code == 0, small.err
    assert (small.json()["new"], small.json()["rejected"]) == (0, 1)
    assert nodes("JPN", "records", "inbox", "--json").json()["releases"] == []
    assert nodes("JPN", "import", str(bundle), "--json").json()["new"] == 1
