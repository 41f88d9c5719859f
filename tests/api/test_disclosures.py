"""The approval workflow over HTTP: ask with the live decision, list and show, approve once, reject, withdraw."""

from __future__ import annotations

import base64

import pytest

from accord.services import node as nodes
from tests.api.conftest import build, make_home

V1 = "/api/v1/disclosures"


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    root = tmp_path_factory.mktemp("disclosures")
    api = build(root)
    api.jpn = nodes.read_identity(make_home(root, "JPN")[0]).to_dict()  # type: ignore[attr-defined]
    return api


def ask(node, who="analyst", **body):
    body = {"kind": "release", "record_id": node.secret_record, "party": "JPN", "on": "2017-01-01"} | body
    return node.post(V1, who, json=body)


def test_asking_answers_the_live_decision_with_its_reasons(node):
    response = ask(node)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["state"] == "pending"
    assert body["requester"] == "analyst"
    assert body["decision"]["allowed"] is True
    assert body["decision"]["route"]
    denied = ask(node, on="1999-01-01").json()
    assert denied["decision"]["allowed"] is False
    assert denied["decision"]["reasons"]
    shown = node.get(f"{V1}/{denied['id']}", "officer").json()
    assert shown["decision"] == denied["decision"]


def test_list_filters_and_pages(node):
    ids = {ask(node).json()["id"] for _ in range(3)}
    seen, cursor = [], None
    while True:
        params = {"state": "pending", "kind": "release", "limit": 1} | ({"cursor": cursor} if cursor else {})
        page = node.get(V1, "officer", params=params).json()
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert ids <= {item["id"] for item in seen}
    assert {item["state"] for item in seen} == {"pending"}
    assert node.get(V1, "officer", params={"kind": "recall"}).json()["items"] == []
    assert node.get(V1, "officer", params={"state": "nonsense"}).status_code == 422


def test_an_officer_approves_once_and_the_second_approval_conflicts(node):
    request_id = ask(node).json()["id"]
    assert node.post(f"{V1}/{request_id}/approve", "analyst", json={"next_hop": node.jpn}).status_code == 403
    approved = node.post(f"{V1}/{request_id}/approve", "officer", json={"next_hop": node.jpn, "note": "ok"})
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert body["request"]["state"] == "approved"
    assert body["request"]["outcome"] == body["release"]["release"]["id"]
    assert base64.b64decode(body["message"])
    again = node.post(f"{V1}/{request_id}/approve", "officer", json={"next_hop": node.jpn})
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert again.json()["type"] == "urn:accord:problem:conflict"
    assert "already decided" in again.json()["detail"]
    assert node.get(f"{V1}/{request_id}", "analyst").json()["outcome"] == body["request"]["outcome"]


def test_a_release_denied_now_is_not_approved_and_stays_pending(node):
    request_id = ask(node, on="1999-01-01").json()["id"]
    refused = node.post(f"{V1}/{request_id}/approve", "officer", json={"next_hop": node.jpn})
    assert refused.status_code == 422
    assert "denied" in refused.json()["detail"]
    assert node.get(f"{V1}/{request_id}", "officer").json()["state"] == "pending"


def test_reject_needs_a_reason_and_withdraw_is_the_requesters(node):
    request_id = ask(node).json()["id"]
    assert node.post(f"{V1}/{request_id}/reject", "officer", json={}).status_code == 422
    rejected = node.post(f"{V1}/{request_id}/reject", "officer", json={"reason": "outside the scope"})
    assert rejected.status_code == 200
    assert (rejected.json()["state"], rejected.json()["reason"]) == ("rejected", "outside the scope")
    other = ask(node).json()["id"]
    assert node.post(f"{V1}/{other}/withdraw", "officer", json={}).status_code == 403
    assert node.post(f"{V1}/{other}/withdraw", "analyst", json={}).json()["state"] == "withdrawn"
    assert node.post(f"{V1}/{other}/withdraw", "analyst", json={}).status_code == 409


def test_the_kind_s_own_action_is_checked(node):
    assert ask(node, "security").status_code == 403  # may file reports, may not ask for releases
    details = {"kind": "loss", "details": "a copy left on a train"}
    report = ask(node, "security", kind="compromise-report", party=None, on=None, details=details)
    assert report.status_code == 404  # no clearance: the record is hidden from them, as if missing
    report = ask(node, kind="compromise-report", party=None, on=None, details=details)
    assert report.status_code == 201, report.text
    assert report.json()["decision"] is None  # only a pending release is decided live
    assert node.post(V1, "analyst", json={"kind": "release", "record_id": node.secret_record}).status_code == 422
