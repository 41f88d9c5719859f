"""Health, authentication and the problem documents every error becomes."""

from __future__ import annotations

import pytest

from accord.api.app import create_app
from accord.errors import StorageError
from tests.api.conftest import TestClient

PROBLEM = "application/problem+json"


def test_health_is_anonymous_and_names_the_party(api):
    response = api.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "party": "KOR"}


def test_openapi_is_served_anonymously(api):
    response = api.get("/openapi.json")
    assert response.status_code == 200
    assert "/api/v1/records" in response.json()["paths"]


def test_no_credentials_is_a_401_problem_with_a_bearer_challenge(api):
    response = api.get("/api/v1/records")
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["www-authenticate"] == "Bearer"
    body = response.json()
    assert set(body) == {"type", "title", "status", "detail", "hint"}
    assert body["status"] == 401
    assert "Bearer" in body["detail"]


def test_a_wrong_token_is_the_same_opaque_401(api):
    forged = api.tokens["analyst"][:-4] + "AAAA"
    for header in (f"Bearer {forged}", "Bearer nonsense", "Basic dXNlcjpwYXNz"):
        response = api.client.get("/api/v1/records", headers={"Authorization": header})
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"


def test_a_role_that_does_not_allow_the_action_is_a_403_naming_the_roles(api):
    response = api.get("/api/v1/people", "analyst")
    assert response.status_code == 403
    assert response.headers["content-type"] == PROBLEM
    assert "security-officer" in response.json()["detail"]


def test_bad_input_is_a_422_problem_naming_the_field(api):
    response = api.post("/api/v1/decisions", "analyst", json={"sender": "KOR"})
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert "recipient" in response.json()["detail"]


def test_an_unknown_path_is_a_404_problem(api):
    response = api.get("/api/v1/nowhere", "analyst")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM


def test_a_bad_cursor_is_refused_not_a_server_error(api):
    for cursor in ("!!!", "e30", "eyJhZnRlciI6IngifQ"):
        response = api.get("/api/v1/records", "analyst", params={"cursor": cursor})
        assert response.status_code == 422, cursor
        assert response.json()["detail"] == "that cursor does not belong to this list"


@pytest.fixture
def broken(api):
    """The node's app with two routes of the test's own that fail as storage and as a bug would."""
    app = create_app(node=api.client.app.state.node)

    @app.get("/broken/storage")
    def storage():
        msg = "cannot read sqlite:///secret/path.db: disk I/O error"
        raise StorageError(msg, hint="internal hint")

    @app.get("/broken/bug")
    def bug():
        msg = "a stack detail that must not leave"
        raise RuntimeError(msg)

    return TestClient(app, raise_server_exceptions=False)


def test_a_storage_error_is_a_503_without_the_databases_message(broken):
    response = broken.get("/broken/storage")
    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM
    assert "secret/path" not in response.text
    assert "internal hint" not in response.text
    assert response.json()["hint"]


def test_an_unexpected_error_is_a_500_problem_without_internals(broken):
    response = broken.get("/broken/bug")
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM
    assert "stack detail" not in response.text
    assert response.json()["title"] == "Internal error"
