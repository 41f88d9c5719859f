"""World, decisions and people over HTTP: answers, pagination with cursors, and refusals."""

from __future__ import annotations

from tests.api.conftest import PEOPLE

V1 = "/api/v1"


def test_parties_page_through_with_a_cursor_and_no_total(api):
    first = api.get(f"{V1}/world/parties", "analyst", params={"limit": 2}).json()
    assert set(first) == {"items", "next_cursor"}
    assert len(first["items"]) == 2
    seen = [p["code"] for p in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = api.get(f"{V1}/world/parties", "analyst", params={"limit": 2, "cursor": cursor}).json()
        seen += [p["code"] for p in page["items"]]
        cursor = page["next_cursor"]
    assert seen == sorted(seen)
    assert {"KOR", "JPN", "USA"} <= set(seen)
    assert len(seen) == len(set(seen))


def test_agreements_as_of_a_date(api):
    in_2010 = api.get(f"{V1}/world/agreements", "analyst", params={"on": "2010-01-01", "limit": 200}).json()
    in_2017 = api.get(f"{V1}/world/agreements", "analyst", params={"on": "2017-01-01", "limit": 200}).json()
    ids_2010 = {a["id"] for a in in_2010["items"]}
    ids_2017 = {a["id"] for a in in_2017["items"]}
    assert "KOR-JPN-GSOMIA" not in ids_2010
    assert {"KOR-JPN-GSOMIA", "TISA"} <= ids_2017
    everything = api.get(f"{V1}/world/agreements", "analyst", params={"on": "2010-01-01", "all": "true"}).json()
    assert "KOR-JPN-GSOMIA" in {a["id"] for a in everything["items"]}


def test_agreement_detail_and_unknown_agreement(api):
    detail = api.get(f"{V1}/world/agreements/KOR-JPN-GSOMIA", "security", params={"on": "2017-01-01"})
    assert detail.status_code == 200
    body = detail.json()
    assert body["id"] == "KOR-JPN-GSOMIA"
    assert body["events"]
    missing = api.get(f"{V1}/world/agreements/NO-SUCH", "security")
    assert missing.status_code == 404
    assert "KOR-JPN-GSOMIA" in missing.json()["detail"]  # the message lists the known ones


def test_a_date_out_of_range_is_a_422(api):
    response = api.get(f"{V1}/world/agreements", "analyst", params={"on": "0001-01-01"})
    assert response.status_code == 422
    assert "outside the dates" in response.json()["detail"]


def test_history_replays_the_milestones(api):
    steps = api.get(f"{V1}/world/history", "logistics").json()["steps"]
    assert len(steps) > 5


def test_a_decision_lists_its_rules_and_route(api):
    question = {"sender": "KOR", "recipient": "JPN", "level": "KOR/MIL-II", "topics": ["dprk-missile"]}
    allowed = api.post(f"{V1}/decisions", "analyst", json=question | {"on": "2017-01-01"}).json()
    assert allowed["allowed"] is True
    assert allowed["route"] == ["KOR", "JPN"]
    assert allowed["checks"]
    denied = api.post(f"{V1}/decisions", "officer", json=question | {"on": "2013-01-01"}).json()
    assert denied["allowed"] is False
    assert denied["reasons"]


def test_a_decision_about_an_unknown_level_is_a_404(api):
    question = {"sender": "KOR", "recipient": "JPN", "level": "KOR/NOPE", "topics": ["x"], "on": "2017-01-01"}
    response = api.post(f"{V1}/decisions", "analyst", json=question)
    assert response.status_code == 404
    assert "KOR/MIL-II" in response.json()["detail"]


def test_me_and_people(api):
    me = api.get(f"{V1}/people/me", "analyst").json()
    assert me["id"] == "analyst"
    assert me["via"] == "token"
    assert "password_hash" not in me
    listed = api.get(f"{V1}/people", "security", params={"limit": 3}).json()
    ids = [p["id"] for p in listed["items"]]
    page2 = api.get(f"{V1}/people", "security", params={"limit": 50, "cursor": listed["next_cursor"]}).json()
    ids += [p["id"] for p in page2["items"]]
    assert sorted(ids) == sorted(["admin", *PEOPLE])
    assert page2["next_cursor"] is None
    assert api.get(f"{V1}/people/low", "admin").json()["clearance"] == "KOR/MIL-III"
    assert api.get(f"{V1}/people/ghost", "admin").status_code == 404


def test_tokens_are_listed_without_secrets_and_a_token_cannot_issue_tokens(api):
    listed = api.get(f"{V1}/tokens", "analyst").json()["items"]
    assert len(listed) == 1
    assert listed[0]["status"] == "active"
    assert api.tokens["analyst"] not in str(listed)
    refused = api.post(f"{V1}/tokens", "analyst", json={"name": "more"})
    assert refused.status_code == 403
    assert "token cannot issue" in refused.json()["detail"]
    others = api.get(f"{V1}/tokens", "analyst", params={"person": "low"})
    assert others.status_code == 403
