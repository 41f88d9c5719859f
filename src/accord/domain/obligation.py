"""Obligations after receipt: reclassification, recall, loss or compromise.

Each is a value tied to one record, issued by one party and later signed by the
services (``accord.crypto.signing`` over ``to_dict()``):

- a :class:`ReclassificationNotice` from the originator changes the level of portions
  of a record; every held copy is re-marked (GSOMIA Art.6(g));
- a :class:`Recall` from the originator asks every holder to return or destroy a record,
  answered by a :class:`RecallAcknowledgement` (Art.6(h), Art.13);
- a :class:`CompromiseReport` from a holder tells the originator at once of a loss or
  compromise, actual or possible, and an :class:`InvestigationResult` closes it
  (Art.17).

These obligations survive the agreement's termination (Art.21(4)): nothing here asks
whether an agreement is in force. Storage, delivery and signing are elsewhere.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from accord.errors import ValidationError

__all__ = [
    "CompromiseKind",
    "CompromiseReport",
    "Disposition",
    "InvestigationResult",
    "Recall",
    "RecallAcknowledgement",
    "ReclassificationNotice",
]


def _need(value: str, what: str) -> None:
    if not value.strip():
        msg = f"{what} must not be empty"
        raise ValidationError(msg)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReclassificationNotice:
    """The originator's written notice of new levels for portions of a record."""

    id: str
    originator: str
    record_id: str
    levels: tuple[tuple[str, str], ...]  # (portion id, new level in the originator's scheme)
    issued_on: dt.date
    reason: str = ""

    def __post_init__(self) -> None:
        """At least one portion, each named once, each level in the originator's scheme."""
        _need(self.id, "a reclassification notice's id")
        if not self.levels:
            msg = f"reclassification notice {self.id} names no portion"
            raise ValidationError(msg)
        portions = [pid for pid, _ in self.levels]
        if len(set(portions)) != len(portions):
            msg = f"reclassification notice {self.id} names a portion twice"
            raise ValidationError(msg)
        for pid, level in self.levels:
            if not level.startswith(f"{self.originator}/"):
                msg = f"reclassification notice {self.id}: portion {pid}'s level {level} is not {self.originator}'s"
                raise ValidationError(msg)

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-compatible form (what is signed)."""
        return {
            "type": "reclassification",
            "id": self.id,
            "originator": self.originator,
            "record_id": self.record_id,
            "levels": [[pid, level] for pid, level in self.levels],
            "issued_on": self.issued_on.isoformat(),
            "reason": self.reason,
        }


class Disposition(StrEnum):
    """What a recall asks for, and what the holder did."""

    RETURN = "return"
    DESTROY = "destroy"


@dataclass(frozen=True, slots=True, kw_only=True)
class Recall:
    """The originator asks every holder of a record to return or destroy it."""

    id: str
    originator: str
    record_id: str
    disposition: Disposition
    issued_on: dt.date
    reason: str = ""

    def __post_init__(self) -> None:
        """A recall has an id and names its record."""
        _need(self.id, "a recall's id")
        _need(self.record_id, f"recall {self.id}'s record id")

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-compatible form (what is signed)."""
        return {
            "type": "recall",
            "id": self.id,
            "originator": self.originator,
            "record_id": self.record_id,
            "disposition": str(self.disposition),
            "issued_on": self.issued_on.isoformat(),
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class RecallAcknowledgement:
    """A holder's answer to a recall: what it did, and when."""

    recall_id: str
    holder: str
    done: Disposition
    on: dt.date
    note: str = ""

    def answers(self, recall: Recall) -> bool:
        """Whether this acknowledgement fulfils ``recall`` (the same disposition, not before it)."""
        return self.recall_id == recall.id and self.done is recall.disposition and self.on >= recall.issued_on

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-compatible form (what is signed)."""
        return {
            "type": "recall-acknowledgement",
            "recall_id": self.recall_id,
            "holder": self.holder,
            "done": str(self.done),
            "on": self.on.isoformat(),
            "note": self.note,
        }


class CompromiseKind(StrEnum):
    """Art.17 covers loss, compromise, and the possibility of either."""

    LOSS = "loss"
    COMPROMISE = "compromise"
    POSSIBLE = "possible-loss-or-compromise"


@dataclass(frozen=True, slots=True, kw_only=True)
class CompromiseReport:
    """A holder's report to the originator of a loss or compromise of a record."""

    id: str
    holder: str
    originator: str
    record_id: str
    kind: CompromiseKind
    detected_on: dt.date
    reported_on: dt.date
    description: str

    def __post_init__(self) -> None:
        """A report says what happened and is not dated before the detection."""
        _need(self.id, "a compromise report's id")
        _need(self.description, f"compromise report {self.id}'s description")
        if self.reported_on < self.detected_on:
            msg = f"compromise report {self.id} is dated {self.reported_on}, before its detection on {self.detected_on}"
            raise ValidationError(msg)
        if self.holder == self.originator:
            msg = f"compromise report {self.id}: the holder reports to another party, the originator"
            raise ValidationError(msg)

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-compatible form (what is signed)."""
        return {
            "type": "compromise-report",
            "id": self.id,
            "holder": self.holder,
            "originator": self.originator,
            "record_id": self.record_id,
            "kind": str(self.kind),
            "detected_on": self.detected_on.isoformat(),
            "reported_on": self.reported_on.isoformat(),
            "description": self.description,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class InvestigationResult:
    """The holder's findings and preventive measures; it closes a compromise report."""

    report_id: str
    closed_on: dt.date
    findings: str
    measures: str

    def closes(self, report: CompromiseReport) -> bool:
        """Whether this result closes ``report`` (same report, not before it was made)."""
        return self.report_id == report.id and self.closed_on >= report.reported_on

    def __post_init__(self) -> None:
        """Findings and measures are both required (Art.17)."""
        _need(self.findings, f"the findings of the investigation of {self.report_id}")
        _need(self.measures, f"the preventive measures after {self.report_id}")

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-compatible form (what is signed)."""
        return {
            "type": "investigation-result",
            "report_id": self.report_id,
            "closed_on": self.closed_on.isoformat(),
            "findings": self.findings,
            "measures": self.measures,
        }
