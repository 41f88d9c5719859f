"""The HTTP transport over ``httpx.MockTransport``: the wire format both ways, and every failure
to reach a peer mapped to ``PeerUnreachableError`` (so the outbox backs off), never a raw httpx error.
"""

from __future__ import annotations

import json

import httpx
import pytest

from accord.canonical import canonical_bytes
from accord.errors import PeerUnreachableError, ValidationError
from accord.federation.messages import RejectedError
from accord.federation.peer_client import (
    FEDERATION_PATH,
    REFUSED,
    HttpTransport,
    decode_batch,
    decode_results,
    encode_batch,
    encode_results,
)

ENVELOPES = [canonical_bytes({"id": "a", "n": 1}), canonical_bytes({"body": {"z": 1, "a": [1, 2]}, "id": "b"})]
RECEIPT = canonical_bytes({"id": "r", "type": "receipt"})


def transport(handler) -> HttpTransport:
    return HttpTransport({"JPN": "http://jpn.test:8443/"}, transport=httpx.MockTransport(handler))


def test_a_batch_round_trips_byte_for_byte():
    assert decode_batch(encode_batch(ENVELOPES)) == ENVELOPES
    answer = encode_results([RECEIPT, None, b""])
    assert json.loads(answer)["results"][1] == {"refused": REFUSED}
    assert decode_results(answer) == [RECEIPT, None, None]


@pytest.mark.parametrize(
    "body",
    [b"", b"{", b"[]", b'{"format":"other","envelopes":[{}]}', b'{"format":"accord.envelope-batch/1"}',
     b'{"format":"accord.envelope-batch/1","envelopes":[]}', b'{"format":"accord.envelope-batch/1","envelopes":[1]}',
     b"\xff\xfe", b"[" * 100_000 + b"]" * 100_000,
     b'{"format":"accord.envelope-batch/1","envelopes":[{"a":NaN}]}',
     b'{"format":"accord.envelope-batch/1","envelopes":[{"a":' + b"[" * 5000 + b"]" * 5000 + b"}]}"],
)  # fmt: skip
def test_a_body_that_is_not_a_batch_is_refused(body):
    with pytest.raises(RejectedError):
        decode_batch(body)


def test_too_many_envelopes_are_refused():
    with pytest.raises(RejectedError):
        decode_batch(encode_batch(ENVELOPES), max_envelopes=1)


def test_send_posts_the_batch_to_the_peer_url_and_returns_the_receipts():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=encode_results([RECEIPT, None]))

    assert transport(handler).send("JPN", ENVELOPES) == [RECEIPT]
    assert seen[0].method == "POST"
    assert str(seen[0].url) == "http://jpn.test:8443" + FEDERATION_PATH
    assert "authorization" not in seen[0].headers
    assert decode_batch(seen[0].content) == ENVELOPES


@pytest.mark.parametrize(
    "error",
    [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("cut")],
)
def test_connection_failures_are_unreachable(error):
    def handler(_request: httpx.Request) -> httpx.Response:
        raise error

    with pytest.raises(PeerUnreachableError, match="JPN is unreachable"):
        transport(handler).send("JPN", ENVELOPES)


@pytest.mark.parametrize(
    ("status", "content"), [(400, b"{}"), (413, b"{}"), (500, b""), (503, b""), (200, b"not json"), (200, b"{}")]
)
def test_error_statuses_and_unreadable_answers_are_unreachable(status, content):
    with pytest.raises(PeerUnreachableError, match="JPN"):
        transport(lambda _request: httpx.Response(status, content=content)).send("JPN", ENVELOPES)


def test_a_peer_without_a_url_is_unreachable_with_a_hint():
    with pytest.raises(PeerUnreachableError) as raised:
        HttpTransport({"USA": ""}).send("USA", ENVELOPES)
    assert "bundles" in raised.value.message
    with pytest.raises(PeerUnreachableError):
        HttpTransport({}).send("USA", ENVELOPES)


def test_bad_options_are_refused(tmp_path):
    with pytest.raises(ValidationError):
        HttpTransport({}, timeout=0)
    with pytest.raises(ValidationError, match="CA file"):
        HttpTransport({}, ca_file=tmp_path / "missing.pem")


def test_decode_results_refuses_other_documents():
    with pytest.raises(ValidationError):
        decode_results(b'{"format":"x","results":[]}')
