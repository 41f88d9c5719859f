"""Consents, recalls and reports over HTTP, and the audit log's checkpoint, verification and proofs."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from accord.services.audit import verify_bundle
from accord.services.node import read_identity
from tests.api.conftest import build, receive_from_jpn

V1 = "/api/v1"


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    root = tmp_path_factory.mktemp("obligations")
    api = build(root)
    api.received = receive_from_jpn(api, root)  # type: ignore[attr-defined]
    return api


def test_an_officer_grants_a_consent_that_only_the_cleared_see(node):
    today = dt.datetime.now(dt.UTC).date()
    body = {
        "holder": "JPN",
        "third_party": "USA",
        "valid_from": today.isoformat(),
        "valid_until": (today + dt.timedelta(days=30)).isoformat(),
        "record_id": node.secret_record,
    }
    response = node.post(f"{V1}/consents", "officer", json=body)
    assert response.status_code == 201, response.text
    consent = response.json()
    assert consent["holder"] == "JPN"
    listed = node.get(f"{V1}/consents", "analyst").json()["items"]
    assert [c["id"] for c in listed] == [consent["id"]]
    assert node.get(f"{V1}/consents", "low").json()["items"] == []
    assert node.post(f"{V1}/consents", "analyst", json=body).status_code == 403


def test_a_refused_consent_names_the_problem(node):
    body = {"holder": "JPN", "third_party": "USA", "valid_from": "2020-01-01", "valid_until": "2020-02-01"}
    response = node.post(f"{V1}/consents", "officer", json=body)
    assert response.status_code == 422
    assert "over already" in response.json()["detail"]


def test_an_officer_recalls_a_record_of_this_node(node):
    response = node.post(f"{V1}/recalls", "officer", json={"record_id": node.open_record, "disposition": "destroy"})
    assert response.status_code == 201, response.text
    recalls = node.get(f"{V1}/recalls", "officer").json()["items"]
    assert recalls[0]["record_id"] == node.open_record
    assert recalls[0]["state"]
    foreign = node.post(f"{V1}/recalls", "officer", json={"record_id": "JPN-x", "disposition": "destroy"})
    assert foreign.status_code in {404, 422}


def test_an_analyst_reports_a_compromise_of_a_received_record(node):
    items = node.get(f"{V1}/inbox", "analyst").json()["items"]
    record_id = items[0]["record_id"]
    body = {"record_id": record_id, "kind": "loss", "details": "a printed copy is missing"}
    response = node.post(f"{V1}/reports", "analyst", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["originator"] == "JPN"
    assert [r["record_id"] for r in node.get(f"{V1}/reports", "analyst").json()["items"]] == [record_id]
    assert node.get(f"{V1}/reports", "low").json()["items"] == []
    bad = node.post(f"{V1}/reports", "analyst", json=body | {"kind": "stolen-ish"})
    assert bad.status_code == 422


def test_checkpoint_verify_and_prove(node):
    assert node.post(f"{V1}/audit/checkpoints", "analyst").status_code == 403
    created = node.post(f"{V1}/audit/checkpoints", "security")
    assert created.status_code == 201, created.text
    size = created.json()["size"]
    again = node.post(f"{V1}/audit/checkpoints", "security")
    assert again.status_code == 422
    assert "no new entries" in again.json()["detail"]
    verified = node.get(f"{V1}/audit/verify", "admin").json()
    assert verified["ok"] is True
    assert verified["entries"] >= size
    proof = node.get(f"{V1}/audit/proofs/0", "security")
    assert proof.status_code == 200
    entry = verify_bundle(json.dumps(proof.json()), read_identity(node.home).to_dict())
    assert entry.seq == 0
    beyond = node.get(f"{V1}/audit/proofs/{size + 100}", "security")
    assert beyond.status_code == 422
    assert node.get(f"{V1}/audit/proofs/-1", "security").status_code == 422
