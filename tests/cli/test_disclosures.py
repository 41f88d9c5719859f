"""``accord disclosures`` through the real entry point: ask, show, approve once, reject, withdraw.

People act with their own API tokens (``ACCORD_TOKEN``); the record's author, the
requester and an analyst are refused as approvers; a denial at approval exits 1 and
leaves the request pending.
"""

from __future__ import annotations

import pytest

PASS = {"ACCORD_KEY_PASSPHRASE": "correct horse"}
ADMIN = {"ACCORD_PERSON_PASSWORD": "admin passphrase one"}
PASSWORD = {"ACCORD_PERSON_PASSWORD": "a person passphrase"}
PEOPLE = {"lee": ("analyst",), "kim": ("disclosure-officer",), "choi": ("analyst", "disclosure-officer")}


@pytest.fixture
def tokens(accord, initialised):
    """A KOR node with an administrator and three people; each person's ``ACCORD_TOKEN`` env."""
    initialised("KOR")
    assert accord("people", "bootstrap", "--id", "admin", extra_env=ADMIN).code == 0
    admin = {"ACCORD_TOKEN": accord("tokens", "issue", "--person", "admin", "--json", extra_env=ADMIN).json()["token"]}
    out = {}
    for person, roles in PEOPLE.items():
        role_args = [a for r in roles for a in ("--role", r)]
        added = accord(
            "people", "add", person, "--clearance", "KOR/MIL-II", "--topic", "dprk-missile", *role_args,
            extra_env=admin | PASSWORD,
        )  # fmt: skip
        assert added.code == 0, added.err
        issued = accord("tokens", "issue", "--person", person, "--json", extra_env=PASSWORD)
        assert issued.code == 0, issued.err
        out[person] = {"ACCORD_TOKEN": issued.json()["token"]} | PASS
    return out


@pytest.fixture
def jpn_keys(initialised, tmp_path):
    return initialised("JPN", at=tmp_path / "jpn") / "node.json"


def create(accord, env):
    made = accord(
        "records", "create", "--title", "DPRK launch", "--topic", "dprk-missile",
        "--portion", "KOR/MIL-II:JPN:launch at 05:10", "--json", extra_env=env,
    )  # fmt: skip
    assert made.code == 0, made.err
    return made.json()["id"]


def ask(accord, env, record, on="2017-01-01"):
    asked = accord("disclosures", "request", "release", record, "--to", "JPN", "--on", on, "--json", extra_env=env)
    assert asked.code == 0, asked.err
    return asked.json()


def test_ask_show_approve_once(accord, tokens, jpn_keys, tmp_path):
    lee, kim, choi = tokens["lee"], tokens["kim"], tokens["choi"]
    record = create(accord, choi)
    shown_record = accord("records", "show", record, extra_env=choi)
    assert "author choi" in shown_record.out
    assert accord("records", "show", record, "--json", extra_env=choi).json()["author"] == "choi"

    asked = ask(accord, lee, record)
    assert (asked["state"], asked["requester"], asked["decision"]["allowed"]) == ("pending", "lee", True)
    request_id = asked["id"]
    shown = accord("disclosures", "show", request_id, extra_env=kim)
    assert shown.code == 0, shown.err
    assert "live decision: ALLOWED via KOR > JPN" in shown.out

    by_author = accord("disclosures", "approve", request_id, "--keys", str(jpn_keys), extra_env=choi)
    assert by_author.code == 2
    assert "choi wrote record" in by_author.err
    by_analyst = accord("disclosures", "approve", request_id, "--keys", str(jpn_keys), extra_env=lee)
    assert by_analyst.code == 2
    assert "lee may not release.approve" in by_analyst.err

    out = tmp_path / "message.json"
    approved = accord("disclosures", "approve", request_id, "--keys", str(jpn_keys), "--out", str(out), extra_env=kim)
    assert approved.code == 0, approved.err
    assert "sealed release" in approved.out
    assert out.exists()
    again = accord("disclosures", "approve", request_id, "--keys", str(jpn_keys), extra_env=choi | kim)
    assert again.code == 2
    assert "already decided: approved by kim" in again.err

    sent = accord("records", "sent", "--json", extra_env=kim)
    assert len(sent.json()["releases"]) == 1
    listed = accord("disclosures", "list", "--json", extra_env=lee).json()
    assert [(r["id"], r["state"], r["decider"]) for r in listed["requests"]] == [(request_id, "approved", "kim")]
    assert accord("audit", "verify", extra_env=PASS).code == 0


def test_denial_rejection_withdrawal_and_the_other_kinds(accord, tokens, jpn_keys):
    # One story, to keep the number of node set-ups (and subprocesses) down.
    lee, kim = tokens["lee"], tokens["kim"]
    refused = accord("disclosures", "list")
    assert refused.code == 2
    assert "no API token" in refused.err

    record = create(accord, PASS)  # the operator's path: no author
    request_id = ask(accord, lee, record, on="2013-01-01")["id"]
    shown = accord("disclosures", "show", request_id, extra_env=lee)
    assert "live decision: DENIED" in shown.out
    denied = accord("disclosures", "approve", request_id, "--keys", str(jpn_keys), extra_env=kim)
    assert denied.code == 1
    assert "DENIED" in denied.out
    assert accord("disclosures", "list", "--state", "pending", "--json", extra_env=kim).json()["requests"][0]["id"] == (
        request_id
    )
    no_reason = accord("disclosures", "reject", request_id, "--reason", " ", extra_env=kim)
    assert no_reason.code == 2
    assert "a rejection needs a reason" in no_reason.err
    rejected = accord("disclosures", "reject", request_id, "--reason", "no agreement on that date", extra_env=kim)
    assert rejected.code == 0, rejected.err
    seen = accord("disclosures", "show", request_id, "--json", extra_env=lee).json()
    assert (seen["state"], seen["reason"]) == ("rejected", "no agreement on that date")

    request_id = ask(accord, lee, record)["id"]
    assert accord("disclosures", "withdraw", request_id, extra_env=kim).code == 2
    withdrawn = accord("disclosures", "withdraw", request_id, "--json", extra_env=lee)
    assert withdrawn.json()["state"] == "withdrawn"

    recall = accord(
        "disclosures", "request", "recall", record, "--disposition", "destroy", "--reason", "superseded", "--json",
        extra_env=lee,
    )  # fmt: skip
    assert recall.code == 0, recall.err
    approved = accord("disclosures", "approve", recall.json()["id"], "--json", extra_env=kim)
    assert approved.code == 0, approved.err
    assert approved.json()["obligation"]["disposition"] == "destroy"
    assert len(accord("recall", "list", "--json", extra_env=kim).json()["recalls"]) == 1

    consent = accord(
        "disclosures", "request", "consent", "--holder", "JPN", "--third-party", "USA", "--from", "2026-01-01",
        "--until", "2099-12-31", "--topic", "dprk-missile", "--json", extra_env=lee,
    )  # fmt: skip
    assert consent.code == 0, consent.err
    report = accord(
        "disclosures", "request", "report", "JPN-9", "--kind", "loss", "--details", "left on a train",
        "--originator", "JPN", "--json", extra_env=lee,
    )  # fmt: skip
    assert report.code == 0, report.err
    kinds = accord("disclosures", "list", "--state", "pending", extra_env=kim)
    assert "consent" in kinds.out
    assert "compromise-report" in kinds.out
