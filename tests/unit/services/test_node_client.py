"""``services.node_client``: problems map back to the error the node raised; the token never shows.

The server side here is the API's own problem handler (``api.problems``) answering
through httpx's in-memory transport, so the mapping is checked against what the API
really sends; the real process over HTTP and TLS is ``tests/cli/test_server.py``.
"""

from __future__ import annotations

import json

import httpx
import pytest

from accord import errors
from accord.api.problems import PROBLEMS
from accord.services.cursors import decode_cursor, encode_cursor
from accord.services.node_client import PROBLEM_ERRORS, NodeClient, ServerConnection, read_token_file

TOKEN = "accord_0123456789abcdef_" + "s" * 43


def client_answering(status: int, body: object, content_type: str = "application/problem+json") -> NodeClient:
    def answer(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
        return httpx.Response(status, content=json.dumps(body).encode(), headers={"content-type": content_type})

    connection = ServerConnection(url="http://node.test:8443/api/v1/", token=TOKEN)
    return NodeClient(connection, transport=httpx.MockTransport(answer))


def test_every_problem_the_api_answers_maps_back_to_its_error_family():
    for family, problem in PROBLEMS:
        assert PROBLEM_ERRORS[problem.slug] is family, problem.slug


@pytest.mark.parametrize(
    ("status", "slug", "expected"),
    [
        (401, "unauthenticated", errors.AuthenticationError),
        (403, "forbidden", errors.PermissionDeniedError),
        (404, "not-found", errors.UnknownReferenceError),
        (409, "conflict", errors.ConflictError),
        (422, "invalid", errors.ValidationError),
        (404, "http", errors.UnknownReferenceError),
    ],
    ids=["401", "403", "404", "409", "422", "framework-404"],
)
def test_a_problem_becomes_the_error_with_the_nodes_message(status, slug, expected):
    body = {"type": f"urn:accord:problem:{slug}", "title": "t", "status": status, "detail": "what", "hint": "do"}
    with client_answering(status, body) as client, pytest.raises(expected) as raised:
        client.get("/records")
    assert type(raised.value) is expected
    assert raised.value.message == "what"
    assert TOKEN not in raised.value.diagnostics()
    if expected is errors.AuthenticationError:
        assert "ACCORD_TOKEN" in raised.value.hint
    else:
        assert raised.value.hint == "do"


def test_an_answer_that_is_not_accord_says_so():
    with (
        client_answering(502, "<html>bad gateway</html>", "text/html") as client,
        pytest.raises(errors.ServerUnreachableError, match="without an Accord answer"),
    ):
        client.get("/records")


def test_the_token_stays_out_of_repr_and_bad_tokens_and_addresses_are_refused(tmp_path):
    connection = ServerConnection(url="https://node.test", token=TOKEN)
    assert TOKEN not in repr(connection)
    with pytest.raises(errors.ValidationError, match="not one") as raised:
        ServerConnection(url="https://node.test", token="two words")  # noqa: S106 - a made-up token
    assert "two words" not in raised.value.diagnostics()
    with pytest.raises(errors.ValidationError, match="http:// or https://"):
        ServerConnection(url="file:///etc/passwd", token=TOKEN)
    empty = tmp_path / "token"
    empty.write_text("\n", encoding="utf-8")
    with pytest.raises(errors.ValidationError, match="empty"):
        read_token_file(empty)
    with pytest.raises(errors.ValidationError, match="cannot read"):
        read_token_file(tmp_path / "missing")


def test_a_bad_ca_certificate_is_a_clear_error(tmp_path):
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate", encoding="utf-8")
    with pytest.raises(errors.ValidationError, match="cannot use --ca-cert"):
        NodeClient(ServerConnection(url="https://node.test", token=TOKEN, ca_cert=bad))


def test_cursors_round_trip_and_refuse_what_they_did_not_make():
    assert decode_cursor(encode_cursor("KOR-1")) == "KOR-1"
    assert encode_cursor(None) is None
    with pytest.raises(errors.ValidationError):
        decode_cursor("not-a-cursor")
