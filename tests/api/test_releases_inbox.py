"""Releases over HTTP: the direct path for disclosure officers, the sent list, the inbox and opening."""

from __future__ import annotations

import base64
import json

import pytest

from accord.services import node as nodes
from tests.api.conftest import SECRET_TEXT, build, receive_from_jpn

V1 = "/api/v1"


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    root = tmp_path_factory.mktemp("releases")
    api = build(root)
    api.received = receive_from_jpn(api, root)  # type: ignore[attr-defined]
    jpn_home = root / "jpn"
    api.jpn = nodes.read_identity(jpn_home).to_dict()  # type: ignore[attr-defined]
    return api


def release(node, who="officer", **overrides):
    body = {"record_id": node.secret_record, "recipient": "JPN", "on": "2017-01-01", "next_hop": node.jpn}
    return node.post(f"{V1}/releases", who, json=body | overrides)


def test_a_disclosure_officer_releases_and_gets_the_sealed_message(node):
    response = release(node)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["decision"]["allowed"] is True
    assert body["release"]["state"] == "sealed"
    message = json.loads(base64.b64decode(body["message"]))
    assert message["recipient"] == "JPN"
    assert SECRET_TEXT not in base64.b64decode(body["message"]).decode()
    sent = node.get(f"{V1}/releases/sent", "analyst").json()["items"]
    assert [s["release_id"] for s in sent] == [body["release"]["id"]]
    assert node.get(f"{V1}/releases/sent", "low").json()["items"] == []


def test_a_denied_release_is_a_decision_not_an_error(node):
    response = release(node, on="2013-01-01")
    assert response.status_code == 200
    assert response.json()["decision"]["allowed"] is False
    assert "message" not in response.json()


def test_only_disclosure_officers_release_directly(node):
    assert release(node, who="analyst").status_code == 403


def test_a_bad_next_hop_or_record_is_refused(node):
    assert release(node, next_hop={"format": "nope"}).status_code == 422
    missing = release(node, record_id="KOR-missing")
    assert missing.status_code == 404


def test_the_inbox_lists_and_opens_a_release_for_a_cleared_analyst(node):
    items = node.get(f"{V1}/inbox", "analyst").json()["items"]
    assert [i["release_id"] for i in items] == [node.received]
    assert items[0]["label"]["recipient_level"] == "KOR/MIL-II"
    assert items[0]["title"] == "JPN warning"
    opened = node.get(f"{V1}/inbox/{node.received}", "analyst")
    assert opened.status_code == 200
    body = opened.json()
    assert body["allowed"] is True
    assert body["portions"][0]["text"] == "radar track from the JPN side"
    assert body["reasons"]  # the checks that passed: the caller's own clearance against the marking


def test_a_disclosure_officer_without_clearance_for_it_sees_nothing(tmp_path):
    api = build(tmp_path)
    received = receive_from_jpn(api, tmp_path, level="JPN/GOKUHI")
    assert node_get_ids(api, "officer") == [received]
    assert node_get_ids(api, "low") == []


def node_get_ids(api, who):
    return [i["release_id"] for i in api.get(f"{V1}/inbox", who).json()["items"]]
