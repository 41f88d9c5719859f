"""``/records``: the node's own records as the asking person may see them; write a new one.

Filtering is the services' (``Records.list_for`` / ``get_for``): a person sees a record
only when cleared for at least one of its portions (nationality, clearance in the
node's own scheme, need-to-know for every topic), and only those portions. A record
they may not see answers exactly as one that does not exist. The author of a new
record is the principal; text portions only over JSON.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from accord.api.deps import Node, allow, node, when
from accord.api.pagination import Cursor, Limit, decode_cursor, encode_cursor
from accord.api.schemas import Page, RecordIn
from accord.services.people import Action, Principal
from accord.services.records import PortionDraft, RecordDraft, RecordView

__all__ = ["router"]

router = APIRouter(prefix="/records", tags=["records"])


@router.get("", response_model=Page)
def list_records(
    held: Annotated[Node, Depends(node)],
    principal: Annotated[Principal, allow(Action.RECORD_READ)],
    topic: Annotated[str | None, Query(max_length=128, description="Only records on this topic.")] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page:
    """The records you may see, oldest first: markings of the portions you are cleared for, no text."""
    page = held.records.list_for(
        principal.person, world=held.world().world, topic=topic, after=decode_cursor(cursor), limit=limit, at=when()
    )
    return Page(items=[RecordView(stored=s).to_dict() for s in page.items], next_cursor=encode_cursor(page.next_cursor))


@router.get("/{record_id}")
def get_record(
    record_id: str,
    held: Annotated[Node, Depends(node)],
    principal: Annotated[Principal, allow(Action.RECORD_READ)],
    bodies: Annotated[  # noqa: FBT002 - a query parameter, named by FastAPI
        bool, Query(description="false: the markings of the portions you are cleared for only (not audited).")
    ] = True,
) -> dict[str, object]:
    """One record with the text of the portions you are cleared for (audited); ``bodies=false``: markings only."""
    view = held.records.get_for(
        principal.person, record_id, world=held.world().world, node=held.unlocked, at=when(), bodies=bodies
    )
    return view.to_dict()


@router.post("", status_code=status.HTTP_201_CREATED)
def create_record(
    draft: RecordIn,
    held: Annotated[Node, Depends(node)],
    principal: Annotated[Principal, allow(Action.RECORD_CREATE)],
) -> dict[str, object]:
    """Write a record of this node: checked, encrypted at rest, audited with you as its author."""
    at: dt.datetime = when()
    record = held.records.create(
        RecordDraft(
            title=draft.title,
            topics=tuple(draft.topics),
            portions=tuple(PortionDraft(level=p.level, rel_to=tuple(p.rel_to), text=p.text) for p in draft.portions),
            purpose=draft.purpose,
            precedence=draft.precedence,
        ),
        world=held.world().world,
        passphrase=None,
        node=held.unlocked,
        author=principal.person,
        at=at,
    )
    return {"id": record.id, "portions": len(record.portions)}
