"""``accord consent / recall / report-compromise / reclassify / obligations`` through the real entry point.

Three node homes (KOR, USA, JPN) are made once for the module: identities with a
cheap scrypt cost (the keys are real), then ``accord init`` for the database. Objects
go from node to node as signed files; each refused import must leave nothing but the
audit entry of its refusal, and every node's audit log must verify at the end.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import subprocess
import sys

import pytest

from accord.services import node
from accord.services.world import init_node
from tests.cli.conftest import SCRIPT, Result
from tests.unit.services.conftest import FAST, PASSPHRASE

AT = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
WINDOW = ("--from", "2026-01-01", "--until", "2099-12-31")  # the service dates requests by the clock


@pytest.fixture(scope="module")
def homes(tmp_path_factory):
    root = tmp_path_factory.mktemp("nodes")
    made = {}
    for name, party in (("kor", "KOR"), ("usa", "USA"), ("jpn", "JPN"), ("impostor", "KOR")):
        home = root / name
        node.create_identity(home=home, party=party, passphrase=PASSPHRASE, at=AT, scrypt=FAST)
        init_node(home=home, database_url=f"sqlite:///{home / 'accord.db'}")  # what `accord init` does
        made[name] = home
    return made


def run(home, *args: str, extra_env: dict[str, str] | None = None) -> Result:
    """``accord ARGS`` for the node at ``home``, with its passphrase set."""
    command = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "accord"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCORD_")}
    env.update(
        ACCORD_HOME=str(home), ACCORD_KEY_PASSPHRASE=PASSPHRASE, COLUMNS="200", PYTHONIOENCODING="utf-8", NO_COLOR="1"
    )
    env.update(extra_env or {})
    done = subprocess.run(  # noqa: S603 - our own entry point, fixed arguments
        [*command, *args], env=env, capture_output=True, text=True, encoding="utf-8", timeout=120, check=False
    )
    return Result(done.returncode, done.stdout, done.stderr)


def ok(home, *args: str) -> Result:
    done = run(home, *args)
    assert done.code == 0, done.err
    return done


def count(home, table):
    with sqlite3.connect(home / "accord.db") as connection:
        (n,) = connection.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608 - fixed test table names
    connection.close()
    return n


def held(home):
    """(audit entries, consents, recalls, reports) of a node."""
    return tuple(count(home, t) for t in ("audit_entries", "consents", "recalls", "compromise_reports"))


def refused(home, *args: str, match: str) -> Result:
    """Run a command that must be refused: exit 2, one error line, only a refusal entry stored."""
    before = held(home)
    done = run(home, *args)
    assert done.code == 2, (done.out, done.err)
    assert done.err.startswith("error: "), done.err
    assert match in done.err, done.err
    assert len(done.err.strip().splitlines()) <= 2  # the error, and a hint at most
    after = held(home)
    assert after[1:] == before[1:]
    assert after[0] == before[0] + 1
    return done


def new_record(home, rel_to="USA,JPN"):
    made = ok(
        home,
        "records",
        "create",
        "--title",
        "t",
        "--topic",
        "dprk-missile",
        "--portion",
        f"KOR/MIL-II:{rel_to}:x",
        "--json",
    )
    return made.json()["id"]


def test_a_consent_travels_from_kor_to_usa_and_nowhere_else(homes, tmp_path):
    kor, usa, jpn, impostor = homes["kor"], homes["usa"], homes["jpn"], homes["impostor"]
    record = new_record(kor)
    consent = ok(
        kor, "consent", "grant", "--holder", "USA", "--third-party", "JPN", "--record", record, *WINDOW, "--json"
    ).json()
    assert (consent["originator"], consent["record_id"]) == ("KOR", record)
    assert consent["id"] in [c["id"] for c in ok(kor, "consent", "list", "--json").json()["consents"]]
    path = tmp_path / "consent.json"
    assert "signed by KOR" in ok(kor, "consent", "export", consent["id"], "--out", str(path)).out
    kor_json = str(kor / "node.json")

    imported = ok(usa, "consent", "import", str(path), "--from", kor_json, "--json").json()
    assert (imported["type"], imported["new"], imported["value"]) == ("consent", True, consent)
    before = held(usa)
    again = ok(usa, "consent", "import", str(path), "--from", kor_json)
    assert "Already held" in again.out
    assert held(usa) == before  # the same file twice changes nothing
    listed = ok(usa, "consent", "list", "--holder", "USA", "--json").json()["consents"]
    assert [c["id"] for c in listed] == [consent["id"]]

    data = path.read_bytes()
    forged, spaced = tmp_path / "forged.json", tmp_path / "spaced.json"
    forged.write_bytes(data.replace(b"2099-12-31", b"2199-12-31"))
    spaced.write_bytes(data.replace(b'"signer":', b'"signer": '))
    refused(usa, "consent", "import", str(forged), "--from", kor_json, match="signature does not verify")
    refused(usa, "consent", "import", str(spaced), "--from", kor_json, match="canonical form")
    refused(jpn, "consent", "import", str(path), "--from", kor_json, match="is for USA, not for this node (JPN)")

    # Another node calling itself KOR: its consent does not verify with KOR's published keys.
    fake = ok(
        impostor, "consent", "grant", "--holder", "USA", "--third-party", "JPN", "--topic", "t", *WINDOW, "--json"
    )
    ok(impostor, "consent", "export", fake.json()["id"], "--out", str(tmp_path / "fake.json"))
    refused(usa, "consent", "import", str(tmp_path / "fake.json"), "--from", kor_json, match="KOR's keys")

    assert held(usa)[1] == 1
    assert held(jpn)[1] == 0
    for home in (kor, usa, jpn):
        assert ok(home, "audit", "verify").code == 0


def test_recall_report_and_reclassification_go_both_ways(homes, tmp_path):
    kor, usa = homes["kor"], homes["usa"]
    kor_json, usa_json = str(kor / "node.json"), str(usa / "node.json")
    record = new_record(kor)

    recall = ok(kor, "recall", "issue", record, "--disposition", "destroy", "--reason", "superseded", "--json").json()
    ok(kor, "obligations", "export", "recall", recall["id"], "--out", str(tmp_path / "recall.json"))
    refused(usa, "consent", "import", str(tmp_path / "recall.json"), "--from", kor_json, match="not a consent")
    ok(usa, "obligations", "import", str(tmp_path / "recall.json"), "--from", kor_json)
    ack = ok(usa, "recall", "acknowledge", recall["id"], "--note", "shredded", "--json").json()
    assert (ack["holder"], ack["done"]) == ("USA", "destroy")
    ok(usa, "obligations", "export", "recall-acknowledgement", recall["id"], "--out", str(tmp_path / "ack.json"))
    ok(kor, "obligations", "import", str(tmp_path / "ack.json"), "--from", usa_json)
    [status] = ok(kor, "recall", "list", "--record", record, "--json").json()["recalls"]
    assert (status["state"], [a["holder"] for a in status["acknowledgements"]]) == ("acknowledged", ["USA"])

    report = ok(
        usa,
        "report-compromise",
        "file",
        record,
        "--kind",
        "loss",
        "--details",
        "bag lost",
        "--originator",
        "KOR",
        "--json",
    ).json()
    ok(usa, "obligations", "export", "compromise-report", report["id"], "--out", str(tmp_path / "report.json"))
    ok(kor, "obligations", "import", str(tmp_path / "report.json"), "--from", usa_json)
    refused(
        kor, "report-compromise", "close", report["id"], "--findings", "f", "--measures", "m", match="was made by USA"
    )
    ok(usa, "report-compromise", "close", report["id"], "--findings", "bag found", "--measures", "two couriers")
    ok(usa, "obligations", "export", "investigation-result", report["id"], "--out", str(tmp_path / "result.json"))
    ok(kor, "obligations", "import", str(tmp_path / "result.json"), "--from", usa_json)
    closed = ok(kor, "report-compromise", "list", "--state", "closed", "--json").json()["reports"]
    assert [(r["report"]["id"], r["result"]["measures"]) for r in closed] == [(report["id"], "two couriers")]

    notice = ok(kor, "reclassify", record, "--portion", "1=KOR/MIL-III", "--reason", "declassified", "--json").json()
    assert notice["levels"] == [["1", "KOR/MIL-III"]]
    shown = ok(kor, "records", "show", record, "--json").json()
    assert shown["portions"][0]["level"] == "KOR/MIL-III"  # the originator's own copy is re-marked
    path = tmp_path / "notice.json"
    ok(kor, "obligations", "export", "reclassification", notice["id"], "--record", record, "--out", str(path))
    ok(usa, "obligations", "import", str(path), "--from", kor_json)
    about = ok(usa, "obligations", "list", record, "--json").json()
    assert about["levels"] == {"1": "KOR/MIL-III"}
    assert [r["recall"]["id"] for r in about["recalls"]] == [recall["id"]]

    for home in (kor, usa):
        assert ok(home, "audit", "verify").code == 0


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (("reclassify", "KOR-x", "--portion", "1:KOR/MIL-III"), "a portion is ID=LEVEL"),
        (
            ("consent", "grant", "--holder", "USA", "--third-party", "JPN", "--topic", "t", "--record", "r", *WINDOW),
            "one",
        ),
    ],
    ids=["bad-portion", "record-and-topic"],
)
def test_malformed_options_exit_2_and_store_nothing(homes, args, match):
    before = held(homes["jpn"])
    done = run(homes["jpn"], *args)
    assert done.code == 2
    assert match in done.err
    assert held(homes["jpn"]) == before


def test_a_refused_request_exits_2_and_is_audited(homes):
    refused(homes["kor"], "recall", "issue", "KOR-nope", "--disposition", "destroy", match="no record 'KOR-nope'")
    refused(homes["usa"], "report-compromise", "file", "KOR-x", "--kind", "theft", "--details", "d", match="theft")


def test_commands_honour_the_unsafe_fast_kdf_switch(tmp_path):
    home, fast = tmp_path / "fast", {"ACCORD_UNSAFE_FAST_KDF": "1"}
    assert run(home, "init", "--party", "KOR", extra_env=fast).code == 0  # a key file below the scrypt floor
    grant = ("consent", "grant", "--holder", "USA", "--third-party", "JPN", "--topic", "dprk-missile", *WINDOW)
    assert "below the floor" in run(home, *grant).err  # without the switch it does not open
    assert run(home, *grant, extra_env=fast).code == 0
