"""``/world``: the public facts as the node holds them: parties, agreements as of a date, history.

Everyone with a role may read them (``world.read``). The world comes from the node's
registry through the process's cache (``WorldCache``), re-read only when the registry's
fingerprint changes, so decisions and these pages stay fast.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from accord.api.deps import Node, allow, day, node
from accord.api.pagination import Cursor, Limit, page_of
from accord.api.schemas import Page
from accord.services.history import replay
from accord.services.people import Action
from accord.services.world import AgreementRow, PartyRow, describe_agreement, summarise_world

__all__ = ["On", "router"]

router = APIRouter(prefix="/world", tags=["world"])
On = Annotated[dt.date | None, Query(description="The date to answer for (default: today).")]
_READ = allow(Action.WORLD_READ)


@router.get("/parties", response_model=Page, dependencies=[_READ])
def parties(held: Annotated[Node, Depends(node)], on: On = None, cursor: Cursor = None, limit: Limit = 50) -> Page:
    """The parties, by code, with the levels of their scheme in use on ``on``."""
    summary = summarise_world(held.world(), day(on, "on"))
    rows, nxt = page_of(summary.parties, lambda p: p.code, cursor=cursor, limit=limit)
    return Page(items=[_party(p) for p in rows], next_cursor=nxt)


@router.get("/agreements", response_model=Page, dependencies=[_READ])
def agreements(
    held: Annotated[Node, Depends(node)],
    on: On = None,
    everything: Annotated[bool, Query(alias="all", description="Also agreements not in force on the date.")] = False,  # noqa: FBT002 - a query flag
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page:
    """The agreements in force on ``on`` (or all of them), by id, each with its status that day."""
    summary = summarise_world(held.world(), day(on, "on"), everything=everything)
    rows, nxt = page_of(summary.agreements, lambda a: a.id, cursor=cursor, limit=limit)
    return Page(items=[_agreement(a) for a in rows], next_cursor=nxt)


@router.get("/agreements/{agreement_id}", dependencies=[_READ])
def agreement(agreement_id: str, held: Annotated[Node, Depends(node)], on: On = None) -> dict[str, object]:
    """One agreement: its events, status timeline, equivalences and clauses, and its status on ``on``."""
    return describe_agreement(held.world().world, agreement_id, day(on, "on")).to_dict()


@router.get("/history", dependencies=[_READ])
def history(held: Annotated[Node, Depends(node)]) -> dict[str, object]:
    """The milestones of 2006 to 2023 replayed: what the engine decides for KOR to JPN at each."""
    return {"steps": [step.to_dict() for step in replay(held.world().world)]}


def _party(row: PartyRow) -> dict[str, object]:
    return row.to_dict()


def _agreement(row: AgreementRow) -> dict[str, object]:
    return row.to_dict()
