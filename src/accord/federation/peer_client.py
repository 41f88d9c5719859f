"""The HTTP binding of the envelope protocol: the batch wire format and an httpx ``Transport``.

A batch of envelopes travels as one ``POST /federation/v1/envelopes`` whose body is
canonical JSON ``{"format": "accord.envelope-batch/1", "envelopes": [E, ...]}``; the
answer is ``{"format": "accord.receipt-batch/1", "results": [...]}`` with, per
envelope in order, ``{"receipt": R}`` or the opaque ``{"refused": "federation message
refused"}``. :class:`HttpTransport` posts batches to each peer's pinned URL and maps
every failure to reach it (connection, timeout, TLS, a non-200 answer, an unreadable
body) to ``PeerUnreachableError`` so the outbox backs off and retries. No database,
no clock: the caller gives the URLs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import httpx

from accord.canonical import canonical_bytes
from accord.errors import PeerUnreachableError, ValidationError
from accord.federation.messages import RejectedError

__all__ = [
    "BATCH_FORMAT",
    "FEDERATION_PATH",
    "MAX_BATCH_ENVELOPES",
    "REFUSED",
    "RESULTS_FORMAT",
    "HttpTransport",
    "decode_batch",
    "decode_results",
    "encode_batch",
    "encode_results",
]

FEDERATION_PATH: Final = "/federation/v1/envelopes"
BATCH_FORMAT: Final = "accord.envelope-batch/1"
RESULTS_FORMAT: Final = "accord.receipt-batch/1"
REFUSED: Final = "federation message refused"
MAX_BATCH_ENVELOPES: Final = 1000
_CONTENT_TYPE: Final = "application/json"


def encode_batch(envelopes: Sequence[bytes]) -> bytes:
    """The request body for ``envelopes`` (each canonical JSON, kept byte for byte by canonical re-encoding)."""
    return canonical_bytes({"format": BATCH_FORMAT, "envelopes": [json.loads(e) for e in envelopes]})


def decode_batch(body: bytes, *, max_envelopes: int = MAX_BATCH_ENVELOPES) -> list[bytes]:
    """Each envelope of a request body as canonical bytes.

    Raises:
        RejectedError: not a batch (bad JSON, wrong format, not a list of objects, too many).
    """
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        msg = "the batch is not JSON (or nested too deep)"
        raise RejectedError(msg) from None
    if not isinstance(value, dict) or value.get("format") != BATCH_FORMAT:
        msg = f"the batch is not {BATCH_FORMAT}"
        raise RejectedError(msg)
    envelopes = value.get("envelopes")
    if not isinstance(envelopes, list) or not all(isinstance(e, dict) for e in envelopes):
        msg = "the batch's envelopes are not a list of objects"
        raise RejectedError(msg)
    if not 1 <= len(envelopes) <= max_envelopes:
        msg = f"a batch holds 1 to {max_envelopes} envelopes, not {len(envelopes)}"
        raise RejectedError(msg)
    try:
        return [canonical_bytes(e) for e in envelopes]
    except (ValueError, TypeError, RecursionError, ValidationError):
        msg = "an envelope is not canonical JSON"
        raise RejectedError(msg) from None


def encode_results(receipts: Sequence[bytes | None]) -> bytes:
    """The response body: each receipt, the opaque refusal for ``None``, ``{"accepted": true}`` for ``b""``.

    ``b""`` is an accepted message answered by no receipt (a receipt itself).
    """
    results: list[dict[str, Any]] = [
        {"refused": REFUSED} if r is None else {"receipt": json.loads(r)} if r else {"accepted": True} for r in receipts
    ]
    return canonical_bytes({"format": RESULTS_FORMAT, "results": results})


def decode_results(body: bytes) -> list[bytes | None]:
    """The receipts of a response body (``None`` for a refused envelope).

    Raises:
        ValidationError: not a results document.
    """
    try:
        value = json.loads(body)
        if not isinstance(value, dict) or value.get("format") != RESULTS_FORMAT:
            raise TypeError  # noqa: TRY301 - one path for every malformed shape
        return [None if "receipt" not in r else canonical_bytes(r["receipt"]) for r in value["results"]]
    except (ValueError, TypeError, KeyError, RecursionError, ValidationError):
        msg = f"the peer's answer is not {RESULTS_FORMAT}"
        raise ValidationError(msg) from None


class HttpTransport:
    """A :class:`~accord.federation.delivery.Transport` posting each batch to the peer's URL.

    ``urls`` maps a party to its pinned base URL (``https://jpn.example:8443``);
    ``ca_file`` verifies the peer's TLS certificate against that PEM bundle instead of
    the system's; ``transport`` replaces the network (tests).
    """

    def __init__(
        self,
        urls: Mapping[str, str],
        *,
        ca_file: Path | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """Post to ``urls``; every exchange times out after ``timeout`` seconds."""
        if timeout <= 0:
            msg = f"a timeout is a positive number of seconds, not {timeout}"
            raise ValidationError(msg)
        self.urls = dict(urls)
        verify: Any = True
        if ca_file is not None:
            if not ca_file.is_file():
                msg = f"the CA file {ca_file} does not exist"
                raise ValidationError(msg, hint="give a PEM file of the certificates peers are signed by")
            verify = str(ca_file)
        self._client = httpx.Client(
            timeout=timeout, verify=verify, transport=transport, headers={"content-type": _CONTENT_TYPE}
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def send(self, peer: str, envelopes: Sequence[bytes]) -> Sequence[bytes]:
        """POST ``envelopes`` to ``peer`` in one request; the receipts it answered with.

        Raises:
            PeerUnreachableError: no URL, no connection, a timeout, a non-200 answer or an unreadable one.
        """
        base = self.urls.get(peer, "")
        if not base:
            msg = f"peer {peer} has no URL pinned: it is reached by bundles only"
            raise PeerUnreachableError(msg, hint="export a bundle with `accord export --to PEER`")
        try:
            response = self._client.post(base.rstrip("/") + FEDERATION_PATH, content=encode_batch(envelopes))
        except httpx.HTTPError as e:
            msg = f"peer {peer} is unreachable at {base}: {type(e).__name__}"
            raise PeerUnreachableError(msg) from e
        if response.status_code != httpx.codes.OK:
            msg = f"peer {peer} answered HTTP {response.status_code}"
            raise PeerUnreachableError(msg)
        try:
            results = decode_results(response.content)
        except ValidationError as e:
            msg = f"peer {peer}: {e.message}"
            raise PeerUnreachableError(msg) from e
        return [receipt for receipt in results if receipt is not None]
