"""No leak: a person never sees a record, portion, title or count they are not cleared for.

``low`` (KOR/MIL-III) and ``nontk`` (KOR/MIL-II, no need-to-know for dprk-missile) ask
for a SECRET (KOR/MIL-II) record and a received JPN 極秘 release through every
endpoint that can name a record; they see none of it, and what they get back is exactly
what a record that does not exist gets.
"""

from __future__ import annotations

import pytest

from accord.api.pagination import encode_cursor
from accord.audit.entry import AuditEntry
from accord.services._database import Database
from accord.storage.sql import SqlAuditStore
from tests.api.conftest import SECRET_TEXT, SECRET_TITLE, build, receive_from_jpn, write_record

V1 = "/api/v1"
BLIND = ("low", "nontk")


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    root = tmp_path_factory.mktemp("noleak")
    api = build(root)
    api.received = receive_from_jpn(api, root, title="JPN secret warning")  # type: ignore[attr-defined]
    body = {"kind": "release", "record_id": api.secret_record, "party": "JPN"}
    asked = api.post(f"{V1}/disclosures", "analyst", json=body)
    assert asked.status_code == 201, asked.text
    api.request = asked.json()["id"]  # type: ignore[attr-defined]
    return api


def everything_seen(node, who):
    """Every response body ``who`` gets from the endpoints that list or name records."""
    bodies = []
    for path, params in [
        ("/records", {"limit": 200}),
        ("/records", {"topic": "dprk-missile"}),
        ("/inbox", {}),
        ("/releases/sent", {}),
        ("/consents", {}),
        ("/recalls", {}),
        ("/reports", {}),
        ("/disclosures", {}),
        ("/disclosures", {"kind": "release", "state": "pending"}),
    ]:
        response = node.get(V1 + path, who, params=params)
        assert response.status_code == 200, (path, response.text)
        bodies.append(response.text)
    return "\n".join(bodies)


@pytest.mark.parametrize("who", BLIND)
def test_lists_show_nothing_of_the_secret_record_or_release(node, who):
    seen = everything_seen(node, who)
    for secret in (node.secret_record, SECRET_TITLE, SECRET_TEXT, node.received, "JPN secret warning", node.request):
        assert secret not in seen, f"{who} sees {secret!r}"


def test_the_cleared_analyst_sees_them(node):
    seen = everything_seen(node, "analyst")
    assert node.secret_record in seen
    assert SECRET_TITLE in seen
    assert node.received in seen
    assert node.request in seen


def test_portions_above_the_clearance_are_not_shown(node):
    listed = node.get(f"{V1}/records", "low").json()["items"]
    mixed = next(r for r in listed if r["id"] == node.open_record)
    assert [p["level"] for p in mixed["portions"]] == ["KOR/MIL-III"]
    opened = node.get(f"{V1}/records/{node.open_record}", "low").json()
    assert [p["text"] for p in opened["portions"]] == ["routine note"]
    assert "a secret paragraph" not in str(opened)
    assert node.get(f"{V1}/records/{node.open_record}", "nontk").status_code == 404


@pytest.mark.parametrize("who", BLIND)
def test_a_hidden_record_answers_exactly_like_a_missing_one(node, who):
    missing_record = "KOR-00000000-0000-0000-0000-000000000000"
    for path, hidden, missing_id in [
        ("/records/{}", node.secret_record, missing_record),
        ("/inbox/{}", node.received, missing_record),
        ("/disclosures/{}", node.request, "dr-0000000000000000"),
    ]:
        refused = node.get(V1 + path.format(hidden), who)
        absent = node.get(V1 + path.format(missing_id), who)
        assert refused.status_code == absent.status_code == 404
        assert refused.headers["content-type"] == absent.headers["content-type"]
        assert refused.text.replace(hidden, "ID") == absent.text.replace(missing_id, "ID")


@pytest.mark.parametrize("who", BLIND)
def test_asking_or_deciding_about_a_hidden_record_answers_like_a_missing_one(node, who):
    missing_id = "KOR-00000000-0000-0000-0000-000000000000"
    body = {"kind": "release", "party": "JPN"}
    refused = node.post(f"{V1}/disclosures", who, json=body | {"record_id": node.secret_record})
    absent = node.post(f"{V1}/disclosures", who, json=body | {"record_id": missing_id})
    assert refused.status_code == absent.status_code == 404
    assert refused.text.replace(node.secret_record, "ID") == absent.text.replace(missing_id, "ID")
    refused = node.post(f"{V1}/disclosures/{node.request}/withdraw", who, json={})
    absent = node.post(f"{V1}/disclosures/dr-0000000000000000/withdraw", who, json={})
    assert refused.status_code == absent.status_code == 404
    assert refused.text.replace(node.request, "ID") == absent.text.replace("dr-0000000000000000", "ID")


@pytest.mark.parametrize("who", BLIND)
def test_a_cursor_naming_a_hidden_record_answers_like_an_unknown_one(node, who):
    hidden = node.get(f"{V1}/records", who, params={"cursor": encode_cursor(node.secret_record)})
    unknown = node.get(f"{V1}/records", who, params={"cursor": encode_cursor("KOR-nope")})
    assert hidden.status_code == unknown.status_code == 422
    assert hidden.text == unknown.text


@pytest.mark.parametrize("who", BLIND)
def test_counts_do_not_change_when_a_secret_record_is_added(node, who):
    def pages():
        out, cursor = [], None
        while True:
            page = node.get(f"{V1}/records", who, params={"limit": 1} | ({"cursor": cursor} if cursor else {})).json()
            out.append(page)
            cursor = page["next_cursor"]
            if cursor is None:
                return out

    before = pages()
    write_record(node.home, node.url, "KOR/MIL-II:JPN:another secret", title="Another secret")
    write_record(node.home, node.url, "KOR/MIL-III::routine, other topic", title="Other topic", topics=("naval",))
    assert pages() == before
    assert "total" not in str(before[0])


def test_refused_opens_are_audited(node):
    node.get(f"{V1}/inbox/{node.received}", "low")
    with Database(database_url=node.url) as db, db.transaction("read") as session:
        last = AuditEntry.from_bytes(SqlAuditStore(session).entries()[-1])
    assert last.meta["action"] == "release.open"
    assert (last.meta["person"], last.meta["outcome"]) == ("low", "refused")
