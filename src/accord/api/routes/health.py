"""``GET /health``: the one anonymous endpoint (with the OpenAPI document): the node answers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from accord.api.deps import Node, node
from accord.api.schemas import Health

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
def health(held: Annotated[Node, Depends(node)]) -> Health:
    """The node answers, and which party it is. Needs no credentials and reads no database."""
    return Health(status="ok", party=held.unlocked.identity.party)
