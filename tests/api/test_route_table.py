"""The whole route table, walked: anonymous is refused everywhere but health, OpenAPI and the
signature-authenticated federation endpoint, and so is
a person with no role or with a role the route's action does not allow.

The table comes from the app itself (``route_actions``), so a route added without an
action fails here, and a new route is checked without anyone listing it.
"""

from __future__ import annotations

import re

import pytest

from accord.api.app import API_PREFIX
from accord.api.deps import PUBLIC_ROUTES, route_actions
from accord.domain.person import Role
from accord.federation.peer_client import FEDERATION_PATH
from accord.policy.roles import roles_for
from tests.api.conftest import PEOPLE

DUMMY = {"seq": "0"}


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: DUMMY.get(m.group(1), "x-1"), path)


def call(api, method: str, path: str, who: str | None):
    headers = api.auth(who) if who else {}
    kwargs = {"json": {}} if method in {"POST", "PUT", "PATCH"} else {}
    return api.client.request(method, concrete(path), headers=headers, **kwargs)


@pytest.fixture(scope="module")
def table(api):
    return route_actions(api.client.app)


def test_every_route_is_public_or_declares_an_action(table):
    assert len(table) >= 20
    for (method, path), action in table.items():
        if (method, path) in PUBLIC_ROUTES:
            continue
        assert path.startswith(API_PREFIX), path  # only the public federation endpoint is outside
        assert action is not None, f"{method} {path} declares no action"


def test_the_table_is_every_operation_the_openapi_document_lists(api, table):
    served = {
        (method.upper(), path)
        for path, operations in api.client.app.openapi()["paths"].items()
        for method in operations
    }
    assert served == set(table)


def test_the_public_routes_are_exactly_health_openapi_and_the_federation_endpoint(api, table):
    for method, path in PUBLIC_ROUTES:
        if method == "GET":
            assert call(api, method, path, None).status_code == 200
    served = {key for key in table if key in PUBLIC_ROUTES}
    # /openapi.json is FastAPI's own route; the federation endpoint is signature-authenticated.
    assert served == {("GET", f"{API_PREFIX}/health"), ("POST", FEDERATION_PATH)}
    # Without a valid signed batch it is one opaque refusal, never a 2xx.
    refused = call(api, "POST", FEDERATION_PATH, None)
    assert refused.status_code == 400
    assert refused.json()["detail"] == "an integrity check failed"


def test_anonymous_is_refused_everywhere_else(api, table):
    checked = 0
    for method, path in table:
        if (method, path) in PUBLIC_ROUTES:
            continue
        response = call(api, method, path, None)
        assert response.status_code == 401, f"{method} {path}: {response.status_code}"
        assert response.headers["www-authenticate"] == "Bearer"
        checked += 1
    assert checked == len(table) - 2


def test_a_person_without_roles_is_refused_everywhere(api, table):
    for (method, path), action in table.items():
        if action is None:
            continue
        response = call(api, method, path, "nobody")
        assert response.status_code == 403, f"{method} {path}: {response.status_code}"


def test_a_person_whose_roles_do_not_allow_the_action_is_refused(api, table):
    checked = 0
    for (method, path), action in table.items():
        if action is None:
            continue
        allowed = roles_for(action)
        wrong = [who for who, (roles, _, _) in PEOPLE.items() if roles and not allowed & {Role(r) for r in roles}]
        for who in wrong:
            response = call(api, method, path, who)
            assert response.status_code == 403, f"{who} {method} {path}: {response.status_code}"
            checked += 1
    assert checked > 20
