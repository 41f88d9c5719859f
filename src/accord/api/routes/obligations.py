"""``/consents``, ``/recalls``, ``/reports``: the obligations after release, listed and made.

Lists are read by those who handle releases (``release.read``) and leave out every
item about a record held here that the asking person may not see (``Inbox.hidden``),
so they reveal no record id, title or count beyond the person's clearance. Making
one needs its own action: ``consent.grant``, ``recall.issue`` (disclosure officers),
``report.file`` (whoever holds classified material). Each is signed by the node and
audited by ``services.obligations``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, status

from accord.api.deps import Node, allow, node, when
from accord.api.pagination import Cursor, Limit, page_of
from accord.api.schemas import ConsentIn, Page, RecallIn, ReportIn
from accord.errors import UnknownReferenceError
from accord.services.obligations import ConsentRequest, ReportRequest
from accord.services.people import Action, Principal

__all__ = ["router"]

router = APIRouter(tags=["obligations"])
T = TypeVar("T")


def _visible(held: Node, principal: Principal, items: Sequence[T], record_of: dict[int, str | None]) -> list[T]:
    ids = {r for r in record_of.values() if r is not None}
    hidden = held.inbox.hidden(principal.person, ids, world=held.world().world, node=held.unlocked, at=when())
    return [item for i, item in enumerate(items) if record_of[i] not in hidden]


def _refuse_hidden(held: Node, principal: Principal, record_id: str | None) -> None:
    """A record the person may not see answers as one this node does not know."""
    if record_id is None:
        return
    world = held.world().world
    if held.inbox.hidden(principal.person, [record_id], world=world, node=held.unlocked, at=when()):
        msg = f"no record {record_id!r} on this node"
        raise UnknownReferenceError(msg, hint="`accord records list` shows the records")


@router.get("/consents", response_model=Page, tags=["consents"])
def consents(
    held: Annotated[Node, Depends(node)],
    principal: Annotated[Principal, allow(Action.RELEASE_READ)],
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page:
    """Consents held here (granted here or imported), in the order kept."""
    found = [c.value for c in held.obligations.consents()]
    shown = _visible(held, principal, found, {i: c.record_id for i, c in enumerate(found)})
    rows, nxt = page_of(shown, lambda c: c.id, cursor=cursor, limit=limit)
    return Page(items=[c.to_dict() for c in rows], next_cursor=nxt)


@router.post("/consents", status_code=status.HTTP_201_CREATED, tags=["consents"])
def grant_consent(
    body: ConsentIn,
    held: Annotated[Node, Depends(node)],
    principal: Annotated[Principal, allow(Action.CONSENT_GRANT)],
) -> dict[str, object]:
    """Consent, as originator, to a holder passing a record or topic to a third party (signed, audited)."""
    _refuse_hidden(held, principal, body.record_id)
    consent = held.obligations.grant_consent(
        ConsentRequest(
            holder=body.holder.strip().upper(),
            third_party=body.third_party.strip().upper(),
            valid_from=body.valid_from,
            valid_until=body.valid_until,
            record_id=body.record_id,
            topic=body.topic,
        ),
        world=held.world().world,
        keys=held.unlocked,
        at=when(),
    )
    return consent.to_dict()


@router.get("/recalls", response_model=Page, tags=["recalls"])
def recalls(
    held: Annotated[Node, Depends(node)],
    principal: Annotated[Principal, allow(Action.RELEASE_READ)],
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page:
    """Recalls held here with their state and acknowledgements, in the order kept."""
    found = list(held.obligations.recalls())
    shown = _visible(held, principal, found, {i: s.recall.value.record_id for i, s in enumerate(found)})
    rows, nxt = page_of(shown, lambda s: s.recall.value.id, cursor=cursor, limit=limit)
    items = [
        s.recall.value.to_dict()
        | {"state": str(s.state), "acknowledgements": [a.value.to_dict() for a in s.acknowledgements]}
        for s in rows
    ]
    return Page(items=items, next_cursor=nxt)


@router.post("/recalls", status_code=status.HTTP_201_CREATED, tags=["recalls"])
def issue_recall(
    body: RecallIn,
    held: Annotated[Node, Depends(node)],
    principal: Annotated[Principal, allow(Action.RECALL_ISSUE)],
) -> dict[str, object]:
    """Ask every holder of a record of this node to return or destroy it (signed, audited)."""
    _refuse_hidden(held, principal, body.record_id)
    recall = held.obligations.issue_recall(
        body.record_id, disposition=body.disposition, reason=body.reason, keys=held.unlocked, at=when()
    )
    return recall.to_dict()


@router.get("/reports", response_model=Page, tags=["reports"])
def reports(
    held: Annotated[Node, Depends(node)],
    principal: Annotated[Principal, allow(Action.RELEASE_READ)],
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page:
    """Loss and compromise reports held here with their state and result, in the order kept."""
    found = list(held.obligations.reports())
    shown = _visible(held, principal, found, {i: s.report.value.record_id for i, s in enumerate(found)})
    rows, nxt = page_of(shown, lambda s: s.report.value.id, cursor=cursor, limit=limit)
    items = [
        s.report.value.to_dict()
        | {"state": str(s.state), "result": s.result.value.to_dict() if s.result is not None else None}
        for s in rows
    ]
    return Page(items=items, next_cursor=nxt)


@router.post("/reports", status_code=status.HTTP_201_CREATED, tags=["reports"])
def file_report(
    body: ReportIn,
    held: Annotated[Node, Depends(node)],
    principal: Annotated[Principal, allow(Action.REPORT_FILE)],
) -> dict[str, object]:
    """Report a loss or compromise of a held record to its originator, at once (signed, audited)."""
    _refuse_hidden(held, principal, body.record_id)
    report = held.obligations.report_compromise(
        ReportRequest(
            record_id=body.record_id,
            kind=body.kind,
            details=body.details,
            detected_on=body.detected_on,
            originator=body.originator.strip().upper() if body.originator else None,
        ),
        world=held.world().world,
        keys=held.unlocked,
        at=when(),
    )
    return report.to_dict()
