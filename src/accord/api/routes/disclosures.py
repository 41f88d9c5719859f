"""``/disclosures``: the approval workflow over HTTP: ask, list, show, approve, reject, withdraw.

A thin edge on ``services.disclosures``: the service checks the kind's own action
(asking for a release needs ``release.request``, deciding it ``release.approve``), the
four-eyes rule and the state; each route declares the widest action that can pass
(``report.file`` to ask or read, ``report.close`` to decide) so anyone else is refused
before the service is asked. Which requests a person sees is the service's filter
(``Disclosures.visible``): a request about a record they may not see answers exactly
as one that does not exist. A pending release request comes with its live decision.
An approval lost to another officer's answers 409; a release now denied answers 422
with the reasons, and the request stays pending.
"""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from accord.api.deps import Node, allow, node, when
from accord.api.pagination import Cursor, Limit, decode_cursor, encode_cursor
from accord.api.schemas import ApproveIn, DisclosureIn, Page, RejectIn, WithdrawIn
from accord.services.node import NodeIdentity
from accord.services.people import Action, Principal

__all__ = ["router"]

router = APIRouter(prefix="/disclosures", tags=["disclosures"])
_ASK = Action.REPORT_FILE  # the widest set of people who may ask for some kind
_DECIDE = Action.REPORT_CLOSE  # the widest set who may decide some kind

State = Annotated[str | None, Query(max_length=16, description="pending, approved, rejected or withdrawn.")]
Kind = Annotated[str | None, Query(max_length=32, description="release, consent, recall or compromise-report.")]


def _seen(held: Node, principal: Principal, request_id: str) -> None:
    """Refuse, as not found, a request the principal may not see (before deciding it)."""
    held.disclosures.get(principal, request_id, world=held.world().world, node=held.unlocked, at=when())


@router.post("", status_code=status.HTTP_201_CREATED)
def ask(
    body: DisclosureIn,
    held: Annotated[Node, Depends(node)],
    principal: Annotated[Principal, allow(_ASK)],
) -> dict[str, object]:
    """Ask for a release, consent, recall or report; the answer holds the live decision and its reasons."""
    view = held.disclosures.request(
        principal,
        body.kind,
        world=held.world().world,
        node=held.unlocked,
        record_id=body.record_id,
        party=body.party.strip().upper() if body.party else None,
        on=body.on,
        details=body.details,
        at=when(),
    )
    return view.to_dict()


@router.get("", response_model=Page)
def requests(  # noqa: PLR0913 - the filters and the page
    held: Annotated[Node, Depends(node)],
    principal: Annotated[Principal, allow(_ASK)],
    state: State = None,
    kind: Kind = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page:
    """Requests you may see, in the order asked, pending releases with their live decision."""
    page = held.disclosures.list(
        principal,
        world=held.world().world,
        state=state,
        kind=kind,
        after=decode_cursor(cursor),
        limit=limit,
        node=held.unlocked,
        at=when(),
    )
    return Page(items=[v.to_dict() for v in page.items], next_cursor=encode_cursor(page.next_cursor))


@router.get("/{request_id}")
def one(
    request_id: str,
    held: Annotated[Node, Depends(node)],
    principal: Annotated[Principal, allow(_ASK)],
) -> dict[str, object]:
    """A request, its decision, and for a pending release the live decision with every reason."""
    view = held.disclosures.get(principal, request_id, world=held.world().world, node=held.unlocked, at=when())
    return view.to_dict()


@router.post("/{request_id}/approve")
def approve(
    request_id: str,
    body: ApproveIn,
    held: Annotated[Node, Depends(node)],
    principal: Annotated[Principal, allow(_DECIDE)],
) -> dict[str, object]:
    """Approve (not your own request, not about your record) and carry it out exactly once."""
    _seen(held, principal, request_id)
    hops = {}
    if body.next_hop is not None:
        identity = NodeIdentity.from_dict(body.next_hop)
        hops[identity.party] = identity.public
    approval = held.disclosures.approve(
        principal, request_id, world=held.world().world, node=held.unlocked, next_hops=hops, note=body.note, at=when()
    )
    out = approval.to_dict()
    release = approval.release
    if release is not None and release.message is not None:
        out["message"] = base64.b64encode(release.message.to_bytes()).decode("ascii")
    return out


@router.post("/{request_id}/reject")
def reject(
    request_id: str,
    body: RejectIn,
    held: Annotated[Node, Depends(node)],
    principal: Annotated[Principal, allow(_DECIDE)],
) -> dict[str, object]:
    """Reject with a reason the requester sees (not your own request, not about your record)."""
    _seen(held, principal, request_id)
    return held.disclosures.reject(principal, request_id, body.reason, at=when()).to_dict()


@router.post("/{request_id}/withdraw")
def withdraw(
    request_id: str,
    body: WithdrawIn,
    held: Annotated[Node, Depends(node)],
    principal: Annotated[Principal, allow(_ASK)],
) -> dict[str, object]:
    """Withdraw your own request while it is pending."""
    _seen(held, principal, request_id)
    return held.disclosures.withdraw(principal, request_id, reason=body.reason, at=when()).to_dict()
