"""Disclosure requests: an analyst asks, a disclosure officer decides, and only then does it happen.

A :class:`DisclosureRequest` asks the node to release a record, consent to its onward
release, recall it, or report its loss or compromise. It names its subject (the record,
the other party, the date and the kind's own fields in ``details``), who asked and
when, and where it stands: ``pending`` until an officer approves or rejects it (a
rejection always carries its reason) or the requester withdraws it. The states and
their moves are the table :data:`TRANSITIONS`; a decided request never moves again.
Who may ask and who may decide is ``policy.disclosure``; doing what was approved
(sealing, signing) is the services'. Pure values: no clock, no storage.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from accord.errors import ConflictError, ValidationError

__all__ = [
    "DETAILS",
    "MAX_REASON",
    "TRANSITIONS",
    "DisclosureKind",
    "DisclosureRequest",
    "DisclosureState",
]

MAX_REASON: Final = 1000
"""The longest reason (or detail) a request keeps, in characters."""


class DisclosureKind(StrEnum):
    """What a request asks the node to do. Names are only ever added (the store keeps them)."""

    RELEASE = "release"
    CONSENT = "consent"
    RECALL = "recall"
    COMPROMISE_REPORT = "compromise-report"


class DisclosureState(StrEnum):
    """Where a request stands."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


TRANSITIONS: Final[Mapping[DisclosureState, frozenset[DisclosureState]]] = MappingProxyType(
    {
        DisclosureState.PENDING: frozenset(
            {DisclosureState.APPROVED, DisclosureState.REJECTED, DisclosureState.WITHDRAWN}
        ),
        DisclosureState.APPROVED: frozenset(),
        DisclosureState.REJECTED: frozenset(),
        DisclosureState.WITHDRAWN: frozenset(),
    }
)
"""State -> the states it may move to. Decisions are final: a new request asks again."""

DETAILS: Final[Mapping[DisclosureKind, tuple[frozenset[str], frozenset[str]]]] = MappingProxyType(
    {
        DisclosureKind.RELEASE: (frozenset(), frozenset()),
        DisclosureKind.CONSENT: (frozenset({"holder", "valid_from", "valid_until"}), frozenset({"topic"})),
        DisclosureKind.RECALL: (frozenset({"disposition"}), frozenset({"reason"})),
        DisclosureKind.COMPROMISE_REPORT: (frozenset({"kind", "details"}), frozenset({"detected_on"})),
    }
)
"""Kind -> (the detail fields it needs, those it may have). Dates are YYYY-MM-DD text."""


def _utc(at: dt.datetime, what: str) -> None:
    if at.utcoffset() is None:
        msg = f"{what} must carry a UTC offset, not {at!r}"
        raise ValidationError(msg)


@dataclass(frozen=True, slots=True, kw_only=True)
class DisclosureRequest:
    """A request for a release, consent, recall or compromise report, and its decision.

    ``party`` is the recipient of a release, the third party of a consent, or the
    originator of a reported record (when not held here); a recall has none. ``on`` is
    the date a release is decided for (``None``: the day it is approved). ``outcome`` is
    the id of what the approval made (the release, consent, recall or report).
    """

    id: str
    kind: DisclosureKind
    requester: str
    requested_at: dt.datetime
    record_id: str | None = None
    party: str | None = None
    on: dt.date | None = None
    details: tuple[tuple[str, str], ...] = ()
    state: DisclosureState = DisclosureState.PENDING
    decider: str | None = None
    decided_at: dt.datetime | None = None
    reason: str = ""
    outcome: str | None = None

    def __post_init__(self) -> None:
        """Check the subject against the kind, and that the state and the decision agree."""
        if not self.id.strip() or not self.requester.strip():
            msg = "a disclosure request needs an id and a requester"
            raise ValidationError(msg)
        _utc(self.requested_at, f"request {self.id}'s time")
        object.__setattr__(self, "details", tuple(sorted(self.details)))  # one order, for equality
        self._check_subject()
        self._check_decision()

    def _check_subject(self) -> None:
        self._check_details()
        has_record = bool(self.record_id and self.record_id.strip())
        if self.kind is DisclosureKind.CONSENT:
            if has_record == ("topic" in dict(self.details)):
                msg = "a consent request names exactly one of a record or a topic"
                raise ValidationError(msg)
        elif not has_record:
            msg = f"a {self.kind} request names its record"
            raise ValidationError(msg)
        if self.kind in {DisclosureKind.RELEASE, DisclosureKind.CONSENT} and not (self.party or "").strip():
            who = "recipient" if self.kind is DisclosureKind.RELEASE else "third party"
            msg = f"a {self.kind} request names its {who}"
            raise ValidationError(msg)
        if self.kind is DisclosureKind.RECALL and self.party is not None:
            msg = "a recall request names no party: it goes to every holder"
            raise ValidationError(msg)
        if self.on is not None and self.kind is not DisclosureKind.RELEASE:
            msg = f"only a release request has a date to decide for, not a {self.kind} request"
            raise ValidationError(msg)

    def _check_details(self) -> None:
        needed, optional = DETAILS[self.kind]
        names = [name for name, _ in self.details]
        if len(set(names)) != len(names):
            msg = f"request {self.id}: a detail is named twice ({', '.join(sorted(names))})"
            raise ValidationError(msg)
        if missing := needed - set(names):
            msg = f"a {self.kind} request needs {', '.join(sorted(missing))}"
            raise ValidationError(msg)
        if unknown := set(names) - needed - optional:
            msg = f"a {self.kind} request has no field {', '.join(sorted(unknown))}"
            raise ValidationError(msg)
        if any(not value.strip() or len(value) > MAX_REASON for _, value in self.details):
            msg = f"request {self.id}: each detail is 1 to {MAX_REASON} characters"
            raise ValidationError(msg)

    def _check_decision(self) -> None:
        pending = self.state is DisclosureState.PENDING
        if pending != (self.decider is None) or pending != (self.decided_at is None):
            msg = f"request {self.id}: a {self.state} request has {'no' if pending else 'a'} decider and time"
            raise ValidationError(msg)
        if self.decided_at is not None:
            _utc(self.decided_at, f"request {self.id}'s decision time")
        if self.state is DisclosureState.REJECTED and not self.reason.strip():
            msg = f"request {self.id}: a rejection needs a reason"
            raise ValidationError(msg, hint="say why, so the requester can act on it")
        if len(self.reason) > MAX_REASON:
            msg = f"a reason is at most {MAX_REASON} characters"
            raise ValidationError(msg)
        if self.outcome is not None and self.state is not DisclosureState.APPROVED:
            msg = f"request {self.id}: only an approved request has an outcome"
            raise ValidationError(msg)

    def detail(self, name: str) -> str | None:
        """The detail field ``name``, or ``None``."""
        return dict(self.details).get(name)

    def move(
        self,
        to: DisclosureState,
        *,
        by: str,
        at: dt.datetime,
        reason: str = "",
        outcome: str | None = None,
    ) -> DisclosureRequest:
        """This request decided (or withdrawn) by ``by`` at ``at``.

        Raises:
            ConflictError: the request was decided or withdrawn already.
            ValidationError: not a move of :data:`TRANSITIONS`, or a rejection without a reason.
        """
        if self.state is not DisclosureState.PENDING:
            msg = f"request {self.id} was already decided: {self.state} by {self.decider}"
            raise ConflictError(msg, hint=f"`accord disclosures show {self.id}` shows the decision")
        if to not in TRANSITIONS[self.state]:
            msg = f"request {self.id} cannot go from {self.state} to {to}"
            raise ValidationError(msg)
        return dataclasses.replace(self, state=to, decider=by, decided_at=at, reason=reason.strip(), outcome=outcome)

    def to_dict(self) -> dict[str, object]:
        """JSON form (times in ISO 8601, dates YYYY-MM-DD)."""
        return {
            "id": self.id,
            "kind": self.kind.value,
            "record": self.record_id,
            "party": self.party,
            "on": self.on.isoformat() if self.on else None,
            "details": dict(self.details),
            "requester": self.requester,
            "requested_at": self.requested_at.isoformat(),
            "state": self.state.value,
            "decider": self.decider,
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "reason": self.reason,
            "outcome": self.outcome,
        }
