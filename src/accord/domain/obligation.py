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

``to_dict()`` is the JSON form that is signed and stored; ``from_dict()`` reads it back
through :class:`Document`, refusing anything but exactly those fields, each error
naming the field. These obligations survive the agreement's termination (Art.21(4)):
nothing here asks whether an agreement is in force. Storage, delivery and signing are
elsewhere.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, TypeVar

from accord.errors import ValidationError

__all__ = [
    "CompromiseKind",
    "CompromiseReport",
    "Disposition",
    "Document",
    "InvestigationResult",
    "Recall",
    "RecallAcknowledgement",
    "ReclassificationNotice",
]

_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_SHOWN: Final = 60  # characters of a bad value quoted in an error message
_E = TypeVar("_E", bound=StrEnum)


def _kind_of(value: object) -> str:
    return "null" if value is None else type(value).__name__


class Document:
    """A signed value's JSON object, read field by field; every error names the field.

    The object must hold ``type`` (equal to the expected one) and exactly ``fields``:
    a signed document with a missing or an extra field is refused, since what is kept
    must re-encode to the very bytes that were signed.
    """

    __slots__ = ("_data", "_what")

    def __init__(self, data: object, *, type_: str, fields: Collection[str], key: str = "id") -> None:
        """Check the shape of ``data``; ``key`` names the field that identifies it in messages."""
        if not isinstance(data, Mapping):
            msg = f"a {type_} must be a JSON object, not {_kind_of(data)}"
            raise ValidationError(msg)
        if data.get("type") != type_:
            msg = f"not a {type_}: its field 'type' is {data.get('type')!r}"
            raise ValidationError(msg)
        name = data.get(key)
        self._what = f"{type_} {name}" if isinstance(name, str) and name else type_
        self._data = data
        wanted = {"type", *fields}
        missing = sorted(wanted - set(data))
        if missing:
            msg = f"{self._what}: missing field {', '.join(map(repr, missing))}"
            raise ValidationError(msg)
        extra = sorted(str(k) for k in set(data) - wanted)
        if extra:
            msg = f"{self._what}: unknown field {', '.join(map(repr, extra))}"
            raise ValidationError(msg, hint="a signed document holds exactly its own fields")

    def _fail(self, name: str, problem: str) -> ValidationError:
        shown = repr(self._data[name])
        shown = shown if len(shown) <= _SHOWN else f"{shown[:_SHOWN]}..."
        return ValidationError(f"{self._what}: field {name!r} {problem}, not {shown}")

    def text(self, name: str) -> str:
        """A text field (which may be empty; the value's own checks say where it may not)."""
        value = self._data[name]
        if not isinstance(value, str):
            raise self._fail(name, "must be text")
        return value

    def optional_text(self, name: str) -> str | None:
        """A text field that may be ``null``."""
        return None if self._data[name] is None else self.text(name)

    def date(self, name: str) -> dt.date:
        """A date field, written YYYY-MM-DD."""
        value = self._data[name]
        if isinstance(value, str) and _DATE.fullmatch(value):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        raise self._fail(name, "must be a date YYYY-MM-DD")

    def choice(self, name: str, kind: type[_E]) -> _E:
        """A field holding one value of the enumeration ``kind``."""
        value = self._data[name]
        if isinstance(value, str) and value in {k.value for k in kind}:
            return kind(value)
        raise self._fail(name, f"must be one of {', '.join(k.value for k in kind)}")

    def pairs(self, name: str) -> tuple[tuple[str, str], ...]:
        """A list of two-text lists (``[["1", "KOR/MIL-III"], ...]``)."""
        value = self._data[name]
        if not isinstance(value, list) or not all(
            isinstance(p, list) and len(p) == 2 and all(isinstance(t, str) for t in p)  # noqa: PLR2004 - a pair
            for p in value
        ):
            raise self._fail(name, "must be a list of [text, text] pairs")
        return tuple((str(a), str(b)) for a, b in value)


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
        _need(self.originator, f"reclassification notice {self.id}'s originator")
        _need(self.record_id, f"reclassification notice {self.id}'s record id")
        if not self.levels:
            msg = f"reclassification notice {self.id} names no portion"
            raise ValidationError(msg)
        portions = [pid for pid, _ in self.levels]
        if len(set(portions)) != len(portions):
            msg = f"reclassification notice {self.id} names a portion twice"
            raise ValidationError(msg)
        for pid, level in self.levels:
            _need(pid, f"reclassification notice {self.id}'s portion id")
            if not level.startswith(f"{self.originator}/") or level == f"{self.originator}/":
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

    @classmethod
    def from_dict(cls, data: object) -> ReclassificationNotice:
        """Read ``to_dict()``'s form back.

        Raises:
            ValidationError: naming the field that is missing, extra or malformed.
        """
        d = Document(
            data, type_="reclassification", fields=("id", "originator", "record_id", "levels", "issued_on", "reason")
        )
        return cls(
            id=d.text("id"),
            originator=d.text("originator"),
            record_id=d.text("record_id"),
            levels=d.pairs("levels"),
            issued_on=d.date("issued_on"),
            reason=d.text("reason"),
        )


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
        """A recall has an id and names its originator and record."""
        _need(self.id, "a recall's id")
        _need(self.originator, f"recall {self.id}'s originator")
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

    @classmethod
    def from_dict(cls, data: object) -> Recall:
        """Read ``to_dict()``'s form back.

        Raises:
            ValidationError: naming the field that is missing, extra or malformed.
        """
        d = Document(
            data, type_="recall", fields=("id", "originator", "record_id", "disposition", "issued_on", "reason")
        )
        return cls(
            id=d.text("id"),
            originator=d.text("originator"),
            record_id=d.text("record_id"),
            disposition=d.choice("disposition", Disposition),
            issued_on=d.date("issued_on"),
            reason=d.text("reason"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class RecallAcknowledgement:
    """A holder's answer to a recall: what it did, and when."""

    recall_id: str
    holder: str
    done: Disposition
    on: dt.date
    note: str = ""

    def __post_init__(self) -> None:
        """An acknowledgement names its recall and its holder."""
        _need(self.recall_id, "an acknowledgement's recall id")
        _need(self.holder, f"the holder acknowledging recall {self.recall_id}")

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

    @classmethod
    def from_dict(cls, data: object) -> RecallAcknowledgement:
        """Read ``to_dict()``'s form back.

        Raises:
            ValidationError: naming the field that is missing, extra or malformed.
        """
        d = Document(
            data, type_="recall-acknowledgement", fields=("recall_id", "holder", "done", "on", "note"), key="recall_id"
        )
        return cls(
            recall_id=d.text("recall_id"),
            holder=d.text("holder"),
            done=d.choice("done", Disposition),
            on=d.date("on"),
            note=d.text("note"),
        )


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
        _need(self.holder, f"compromise report {self.id}'s holder")
        _need(self.originator, f"compromise report {self.id}'s originator")
        _need(self.record_id, f"compromise report {self.id}'s record id")
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

    @classmethod
    def from_dict(cls, data: object) -> CompromiseReport:
        """Read ``to_dict()``'s form back.

        Raises:
            ValidationError: naming the field that is missing, extra or malformed.
        """
        fields = ("id", "holder", "originator", "record_id", "kind", "detected_on", "reported_on", "description")
        d = Document(data, type_="compromise-report", fields=fields)
        return cls(
            id=d.text("id"),
            holder=d.text("holder"),
            originator=d.text("originator"),
            record_id=d.text("record_id"),
            kind=d.choice("kind", CompromiseKind),
            detected_on=d.date("detected_on"),
            reported_on=d.date("reported_on"),
            description=d.text("description"),
        )


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
        _need(self.report_id, "an investigation result's report id")
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

    @classmethod
    def from_dict(cls, data: object) -> InvestigationResult:
        """Read ``to_dict()``'s form back.

        Raises:
            ValidationError: naming the field that is missing, extra or malformed.
        """
        d = Document(
            data,
            type_="investigation-result",
            fields=("report_id", "closed_on", "findings", "measures"),
            key="report_id",
        )
        return cls(
            report_id=d.text("report_id"),
            closed_on=d.date("closed_on"),
            findings=d.text("findings"),
            measures=d.text("measures"),
        )
