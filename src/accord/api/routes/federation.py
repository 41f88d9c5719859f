"""``POST /federation/v1/envelopes``: the node's federation endpoint, for its pinned peers.

Outside ``/api/v1`` and its bearer tokens: a peer authenticates each envelope with its
signature by keys pinned here, so the route takes no credential (it is in
``PUBLIC_ROUTES``). The body is an ``accord.envelope-batch/1`` document of at most the
node's limit (``ACCORD_FEDERATION_MAX_BODY``): over it, 413 and an audit entry. A body
that is not a batch is one opaque 400; otherwise 200 with a receipt or the opaque
refusal per envelope (``docs/federation.md``, "HTTP binding").
"""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from accord.api.deps import Node, node
from accord.api.problems import problem_response
from accord.services.exchange import FEDERATION_PATH

__all__ = ["PREFIX", "router"]

PREFIX: Final = ""  # mounted at the root: the protocol's path is versioned on its own
_BODY: Final = {
    "required": True,
    "description": "`accord.envelope-batch/1`: `{format, envelopes: [envelope, ...]}`, canonical JSON",
    "content": {"application/json": {"schema": {"type": "object"}}},
}

router = APIRouter(tags=["federation"])


def _too_large(limit: int) -> Response:
    detail = f"the body is over this node's limit of {limit} bytes"
    return problem_response(413, "too-large", "Request too large", detail, "send smaller batches")


@router.post(
    FEDERATION_PATH,
    summary="Deliver a batch of signed envelopes from a pinned peer",
    response_class=Response,
    responses={200: {"content": {"application/json": {}}, "description": "`accord.receipt-batch/1`"}},
    openapi_extra={"requestBody": _BODY},
)
async def post_envelopes(request: Request, held: Annotated[Node, Depends(node)]) -> Response:
    """Accept each envelope (signature by pinned keys, freshness, replay...) and answer its receipt."""
    limit = held.federation_max_body
    declared = request.headers.get("content-length", "")
    body = bytearray()
    if declared.isdigit() and int(declared) > limit:
        await run_in_threadpool(held.exchange.refuse_oversized, b"", limit=limit, node=held.unlocked)
        return _too_large(limit)
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            await run_in_threadpool(held.exchange.refuse_oversized, bytes(body), limit=limit, node=held.unlocked)
            return _too_large(limit)
    return Response(await run_in_threadpool(_receive, held, bytes(body)), media_type="application/json")


def _receive(held: Node, body: bytes) -> bytes:
    return held.exchange.receive(body, world=held.world().world, node=held.unlocked)
