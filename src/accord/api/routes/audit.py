"""``/audit``: sign a checkpoint, verify the whole log, prove one entry (security officers, administrators).

A proof is a bundle anyone can check offline with the node's public ``node.json``
(``accord audit verify-proof``); the entries it carries name records and people, so
reading the log is limited to ``audit.read``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, status

from accord.api.deps import Node, allow, node, when
from accord.services.people import Action

__all__ = ["router"]

router = APIRouter(prefix="/audit", tags=["audit"])


@router.post("/checkpoints", status_code=status.HTTP_201_CREATED, dependencies=[allow(Action.AUDIT_CHECKPOINT)])
def checkpoint(held: Annotated[Node, Depends(node)]) -> dict[str, object]:
    """Sign a checkpoint (signed tree head) of the whole log now, with the node's keys."""
    return held.audit.checkpoint(passphrase=None, node=held.unlocked, at=when()).to_dict()


@router.get("/verify", dependencies=[allow(Action.AUDIT_READ)])
def verify(held: Annotated[Node, Depends(node)]) -> dict[str, object]:
    """Check every entry and every signed checkpoint; a broken log is a 400 problem naming the first bad entry."""
    return held.audit.verify().to_dict()


@router.get("/proofs/{seq}", dependencies=[allow(Action.AUDIT_READ)])
def prove(
    seq: Annotated[int, Path(ge=0, le=2**53)],
    held: Annotated[Node, Depends(node)],
) -> dict[str, object]:
    """A proof bundle for entry ``seq`` against the latest checkpoint."""
    return held.audit.prove(seq).to_dict()
