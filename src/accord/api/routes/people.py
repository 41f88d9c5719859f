"""``/people`` and ``/tokens``: who is at the node, oneself, and one's API tokens.

Reading others needs ``people.read``; oneself and one's own tokens need only a role
(``world.read``, which every role holds). Issuing a token needs a password login or
a CSRF-checked web session (a token cannot issue tokens), so over the API it is a
session's job; revoking needs CSRF for a session too. ``People`` enforces both.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status

from accord.api.deps import Node, allow, node, when
from accord.api.pagination import Cursor, Limit, decode_cursor, encode_cursor
from accord.api.schemas import Page, TokenIn
from accord.services.people import Action, Principal

__all__ = ["router"]

router = APIRouter(tags=["people"])


@router.get("/people", response_model=Page)
def list_people(
    held: Annotated[Node, Depends(node)],
    principal: Annotated[Principal, allow(Action.PEOPLE_READ)],
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page:
    """The people at this node, by id (never a password hash)."""
    page = held.people.list(principal, after=decode_cursor(cursor), limit=limit)
    return Page(items=[p.to_dict() for p in page.items], next_cursor=encode_cursor(page.next_cursor))


@router.get("/people/me")
def me(
    principal: Annotated[Principal, allow(Action.WORLD_READ)], held: Annotated[Node, Depends(node)]
) -> dict[str, object]:
    """Yourself: roles, clearance, need-to-know, and how you came in."""
    return held.people.get(principal).to_dict() | {"via": principal.via.value}


@router.get("/people/{person_id}")
def get_person(
    person_id: str,
    held: Annotated[Node, Depends(node)],
    principal: Annotated[Principal, allow(Action.PEOPLE_READ)],
) -> dict[str, object]:
    """One person at this node."""
    return held.people.get(principal, person_id).to_dict()


@router.get("/tokens", response_model=Page)
def tokens(
    held: Annotated[Node, Depends(node)],
    principal: Annotated[Principal, allow(Action.WORLD_READ)],
    person: Annotated[str | None, Query(max_length=64, description="Another person's tokens (tokens.manage).")] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page:
    """Your API tokens (or another person's, with tokens.manage), oldest first; never a secret."""
    found = held.people.list_tokens(principal, person_id=person)
    after = decode_cursor(cursor)
    start = next((i + 1 for i, t in enumerate(found) if t.id == after), 0) if after else 0
    chunk = found[start : start + limit]
    at = when()
    nxt = encode_cursor(chunk[-1].id) if chunk and start + limit < len(found) else None
    return Page(items=[t.to_dict(at) for t in chunk], next_cursor=nxt)


@router.post("/tokens", status_code=status.HTTP_201_CREATED)
def issue_token(
    body: TokenIn,
    held: Annotated[Node, Depends(node)],
    principal: Annotated[Principal, allow(Action.WORLD_READ)],
) -> dict[str, object]:
    """Issue an API token for yourself (from a CSRF-checked web session); the token is shown once."""
    at = when()
    lifetime = dt.timedelta(days=body.lifetime_days) if body.lifetime_days is not None else None
    issued = held.people.issue_token(principal, name=body.name, scopes=body.scopes, lifetime=lifetime, at=at)
    return issued.view.to_dict(at) | {"token": issued.token}


@router.delete("/tokens/{token_id}")
def revoke_token(
    token_id: Annotated[str, Path(max_length=64)],
    held: Annotated[Node, Depends(node)],
    principal: Annotated[Principal, allow(Action.WORLD_READ)],
) -> dict[str, object]:
    """Revoke a token: yours, or anyone's with tokens.manage."""
    return held.people.revoke_token(principal, token_id, at=when()).to_dict(when())
