"""``/releases``: release a record of this node to a party (the direct path), and the releases sent.

Until the disclosure workflow lands (``routes/disclosures.py``), a release goes by the
direct path and only a disclosure officer may make it (``release.approve``), of a
record they may see themselves; a record they may not see answers as one that does
not exist. The sealed message comes back base64-encoded for the caller to deliver
(federation delivers it later); ``attachments`` names the file portions, whose
encrypted files travel by ``accord export`` or delivery only.
"""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import APIRouter, Depends

from accord.api.deps import Node, allow, day, node, when
from accord.api.pagination import Cursor, Limit, decode_cursor, encode_cursor
from accord.api.schemas import Page, ReleaseIn
from accord.errors import UnknownReferenceError
from accord.services.node import NodeIdentity
from accord.services.people import Action, Principal
from accord.services.releases import ReleaseRequest

__all__ = ["router"]

router = APIRouter(prefix="/releases", tags=["releases"])


@router.post("")
def release(
    request: ReleaseIn,
    held: Annotated[Node, Depends(node)],
    principal: Annotated[Principal, allow(Action.RELEASE_APPROVE)],
) -> dict[str, object]:
    """Decide and, when allowed, seal and store the release (audited); a denial is a decision, not an error.

    Without ``next_hop`` the release is sealed for the pinned peer of the route's first
    node and waits in the outbox (``accord serve`` delivers it), as ``accord records
    release`` does without ``--keys``.
    """
    at = when()
    world = held.world().world
    if held.inbox.hidden(principal.person, [request.record_id], world=world, node=held.unlocked, at=at):
        msg = f"no record {request.record_id!r} on this node"
        raise UnknownReferenceError(msg, hint="`accord records list` shows the records")
    if request.next_hop is not None:
        hop = NodeIdentity.from_dict(request.next_hop)
        next_hops = {hop.party: hop.public}
    else:
        next_hops = held.exchange.next_hops()
    wanted = ReleaseRequest(
        record_id=request.record_id, recipient=request.recipient.strip().upper(), on=day(request.on, "on")
    )
    (outcome,) = held.releases.release_many([wanted], world=world, node=held.unlocked, next_hops=next_hops, at=at)
    out = outcome.to_dict()
    if outcome.message is not None:
        out["message"] = base64.b64encode(outcome.message.to_bytes()).decode("ascii")
        # File portions' encrypted files do not travel in this answer: the caller learns
        # which there are, so that it never writes a message file whose parts are missing.
        out["attachments"] = sorted(outcome.attachments)
    return out


@router.get("/sent", response_model=Page)
def sent(
    held: Annotated[Node, Depends(node)],
    principal: Annotated[Principal, allow(Action.RELEASE_READ)],
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page:
    """Releases sent from this node of records you may see, oldest first."""
    page = held.inbox.sent_for(principal.person, world=held.world().world, after=decode_cursor(cursor), limit=limit)
    return Page(items=[i.to_dict() for i in page.items], next_cursor=encode_cursor(page.next_cursor))
