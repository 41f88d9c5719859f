"""Request and response bodies of the REST API: pydantic at the edge, converted to service values.

Every request model forbids unknown fields and bounds its strings and lists, so a
request the services would never accept is refused before it reaches them (422). The
responses are the services' own ``to_dict`` forms; :class:`Page` is the envelope of
every list.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ApproveIn",
    "ConsentIn",
    "DecisionIn",
    "DisclosureIn",
    "Health",
    "Page",
    "PortionIn",
    "RecallIn",
    "RecordIn",
    "RejectIn",
    "ReleaseIn",
    "ReportIn",
    "TokenIn",
    "WithdrawIn",
]

Code = Annotated[str, Field(min_length=1, max_length=32, description="A party code, e.g. KOR")]
Short = Annotated[str, Field(min_length=1, max_length=256)]
Topic = Annotated[str, Field(min_length=1, max_length=128)]
Text = Annotated[str, Field(max_length=4096)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Health(BaseModel):
    """The node answers."""

    status: str
    party: str


class Page(BaseModel):
    """One page of a list: no total is ever given; ``next_cursor`` is ``null`` on the last page."""

    items: list[dict[str, Any]]
    next_cursor: str | None


class DecisionIn(_In):
    """May ``sender`` release a record at ``level`` on ``topics`` to ``recipient`` on ``on``?"""

    sender: Code
    recipient: Code
    level: Short
    topics: Annotated[list[Topic], Field(min_length=1, max_length=32)]
    rel_to: Annotated[list[Code] | None, Field(max_length=32)] = None
    on: dt.date | None = None
    purpose: Text = ""


class PortionIn(_In):
    """A text portion: its level, its REL TO and its text."""

    level: Short
    rel_to: Annotated[list[Code], Field(max_length=32)] = []
    text: Annotated[str, Field(min_length=1, max_length=1_000_000)]


class RecordIn(_In):
    """A record as its author writes it; the originator is this node's party."""

    title: Short
    topics: Annotated[list[Topic], Field(min_length=1, max_length=32)]
    portions: Annotated[list[PortionIn], Field(min_length=1, max_length=64)]
    purpose: Text = ""
    precedence: Annotated[str, Field(max_length=16)] = "ROUTINE"


class ReleaseIn(_In):
    """Release a record of this node to ``recipient`` through the node ``next_hop`` describes (or a pinned peer)."""

    record_id: Short
    recipient: Code
    on: dt.date | None = None
    next_hop: dict[str, Any] | None = Field(
        default=None,
        description="The node.json of the route's first node (recipient or hub); "
        "omitted: the node's pinned peer, and the release waits in its outbox for delivery.",
    )


class ConsentIn(_In):
    """The originator's consent to a holder passing a record (or a topic) to a third party."""

    holder: Code
    third_party: Code
    valid_from: dt.date
    valid_until: dt.date
    record_id: Short | None = None
    topic: Topic | None = None


class RecallIn(_In):
    """Ask every holder of a record of this node to return or destroy it."""

    record_id: Short
    disposition: Annotated[str, Field(max_length=16)] = "destroy"
    reason: Text = ""


class ReportIn(_In):
    """Report a loss or compromise of a held record to its originator."""

    record_id: Short
    kind: Annotated[str, Field(max_length=32)]
    details: Annotated[str, Field(min_length=1, max_length=4096)]
    detected_on: dt.date | None = None
    originator: Code | None = None


class TokenIn(_In):
    """An API token for one's own person: a name, optional scopes and lifetime."""

    name: Short
    scopes: Annotated[list[Annotated[str, Field(max_length=64)]] | None, Field(max_length=32)] = None
    lifetime_days: Annotated[int | None, Field(ge=1, le=366)] = None


class DisclosureIn(_In):
    """Ask for a release, consent, recall or compromise report (``docs/disclosures.md``).

    ``party`` is the recipient (release), the third party (consent) or the record's
    originator when not held here (report); ``details`` are the kind's own fields:
    consent ``holder``, ``valid_from``, ``valid_until``, ``topic``; recall
    ``disposition``, ``reason``; report ``kind``, ``details``, ``detected_on``.
    """

    kind: Literal["release", "consent", "recall", "compromise-report"]
    record_id: Short | None = None
    party: Code | None = None
    on: dt.date | None = None
    details: Annotated[dict[Annotated[str, Field(max_length=32)], Text], Field(max_length=8)] = {}


class ApproveIn(_In):
    """Approve a request; a release is sealed for the node ``next_hop`` describes (its node.json)."""

    next_hop: dict[str, Any] | None = Field(default=None, description="A release: the route's first node.")
    note: Annotated[str, Field(max_length=1000)] = ""


class RejectIn(_In):
    """Reject a request: the reason is required and shown to the requester."""

    reason: Annotated[str, Field(min_length=1, max_length=1000)]


class WithdrawIn(_In):
    """Withdraw one's own pending request."""

    reason: Annotated[str, Field(max_length=1000)] = ""
