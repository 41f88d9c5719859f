"""Web sessions over the API: the session cookie reads; a change also needs the CSRF header."""

from __future__ import annotations

import pytest

from accord.services._database import Database
from accord.services.people import CSRF_HEADER, SESSION_COOKIE, People
from tests.api.conftest import FAST, PASSWORD

V1 = "/api/v1"


@pytest.fixture
def session(api):
    with People(database=Database(database_url=api.url), home=api.home, policy=FAST) as people:
        return people.login("analyst", PASSWORD)


def call(api, method, path, cookie=None, csrf=None, **kwargs):
    api.client.cookies.clear()
    headers = {CSRF_HEADER: csrf} if csrf else {}
    if cookie:
        headers["Cookie"] = f"{SESSION_COOKIE}={cookie}"
    return api.client.request(method, path, headers=headers, **kwargs)


def test_a_session_cookie_reads_without_csrf(api, session):
    response = call(api, "GET", f"{V1}/people/me", cookie=session.session_id)
    assert response.status_code == 200
    assert response.json()["via"] == "session"


def test_a_change_without_the_csrf_header_is_refused(api, session):
    body = {"title": "t", "topics": ["dprk-missile"], "portions": [{"level": "KOR/MIL-III", "text": "x"}]}
    refused = call(api, "POST", f"{V1}/records", cookie=session.session_id, json=body)
    assert refused.status_code == 403
    assert CSRF_HEADER in refused.json()["hint"]
    allowed = call(api, "POST", f"{V1}/records", cookie=session.session_id, csrf=session.csrf_token, json=body)
    assert allowed.status_code == 201


def test_a_wrong_csrf_token_or_session_is_a_401(api, session):
    wrong = call(api, "GET", f"{V1}/people/me", cookie=session.session_id, csrf="not-the-token")
    assert wrong.status_code == 401
    assert call(api, "GET", f"{V1}/people/me", cookie="made-up-session").status_code == 401


def test_a_session_with_csrf_issues_and_revokes_a_token(api, session):
    issued = call(api, "POST", f"{V1}/tokens", cookie=session.session_id, csrf=session.csrf_token, json={"name": "ci"})
    assert issued.status_code == 201, issued.text
    token = issued.json()["token"]
    me = api.client.get(f"{V1}/people/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["id"] == "analyst"
    token_id = issued.json()["id"]
    revoked = call(api, "DELETE", f"{V1}/tokens/{token_id}", cookie=session.session_id, csrf=session.csrf_token)
    assert revoked.status_code == 200
    assert revoked.json()["status"] == "revoked"
    assert api.client.get(f"{V1}/people/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
