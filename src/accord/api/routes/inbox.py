"""``/inbox``: releases received here that you may open; open one (``Releases.read``, audited).

A release you may not open (nationality, clearance for the level its copy is marked
with here, need-to-know) is neither listed nor counted, and opening it answers exactly
as a release that does not exist; the refused attempt is still in the audit log.
"""

from __future__ import annotations

import contextlib
from typing import Annotated

from fastapi import APIRouter, Depends

from accord.api.deps import Node, allow, node, when
from accord.api.pagination import Cursor, Limit, decode_cursor, encode_cursor
from accord.api.schemas import Page
from accord.errors import Error, UnknownReferenceError
from accord.services.people import Action, Principal

__all__ = ["router"]

router = APIRouter(prefix="/inbox", tags=["inbox"])
_MISSING = "no received release {!r} on this node"
_HINT = "`accord records inbox` lists them"


@router.get("", response_model=Page)
def inbox(
    held: Annotated[Node, Depends(node)],
    principal: Annotated[Principal, allow(Action.RELEASE_READ)],
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page:
    """Received releases you may open, oldest first: markings and titles, no text."""
    page = held.inbox.received_for(
        principal.person, world=held.world().world, node=held.unlocked, after=decode_cursor(cursor), limit=limit
    )
    return Page(items=[i.to_dict() for i in page.items], next_cursor=encode_cursor(page.next_cursor))


@router.get("/{release_id}")
def open_release(
    release_id: str,
    held: Annotated[Node, Depends(node)],
    principal: Annotated[Principal, allow(Action.RELEASE_READ)],
) -> dict[str, object]:
    """Open a received release: its label and the text of its portions (audited, allowed or refused)."""
    at, world, person = when(), held.world().world, principal.person
    if not held.inbox.may_open(person, release_id, world=world, node=held.unlocked, at=at):
        with contextlib.suppress(Error):  # refused whatever the reason; the read audits the attempt
            held.releases.read(release_id, person=person, world=world, node=held.unlocked, at=at)
        raise UnknownReferenceError(_MISSING.format(release_id), hint=_HINT)
    opened = held.releases.read(release_id, person=person, world=world, node=held.unlocked, at=at)
    if not opened.access:  # changed since the check above: answer the same
        raise UnknownReferenceError(_MISSING.format(release_id), hint=_HINT)
    # The reasons are the access checks that passed: the caller's own nationality,
    # clearance and need-to-know against the copy's marking, which they see anyway.
    return opened.to_dict()
