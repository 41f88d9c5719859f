"""``POST /decisions``: "may this go to JPN, and how?", answered by the engine with every rule it checked.

A question, not a release: nothing is stored or audited, and no record is read, so
the answer tells nothing about the node's holdings (``decision.check``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from accord.api.deps import Node, allow, day, node
from accord.api.schemas import DecisionIn
from accord.services.decisions import ReleaseQuestion, decide_release, parse_parties, parse_topics
from accord.services.people import Action

__all__ = ["router"]

router = APIRouter(prefix="/decisions", tags=["decisions"])


@router.post("", dependencies=[allow(Action.DECISION_CHECK)])
def decide(question: DecisionIn, held: Annotated[Node, Depends(node)]) -> dict[str, object]:
    """The decision: allowed or not, the route, the label the recipient sees, each rule and its source."""
    asked = ReleaseQuestion(
        sender=question.sender.strip().upper(),
        recipient=question.recipient.strip().upper(),
        level=question.level.strip(),
        topics=parse_topics(question.topics, field="topics"),
        on=day(question.on, "on"),
        rel_to=parse_parties(question.rel_to, field="rel_to") if question.rel_to is not None else None,
        purpose=question.purpose.strip(),
    )
    return decide_release(held.world().world, asked).to_dict()
