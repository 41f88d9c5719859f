"""Agreements and their lifecycle.

An agreement's status on any date is computed from its dated events (signed, in force,
termination notified, notice suspended or withdrawn, terminated), never stored. Its
equivalence table is the only bridge between two parties' classification levels. A
content fingerprint (SHA-256 of the canonical JSON of the whole definition) names the
exact version a decision used, so two nodes holding different versions notice.

This module does not decide releases (``accord.policy``) and does no I/O.
"""

from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from accord.canonical import sha256_hex
from accord.errors import InvalidTransitionError, ValidationError

__all__ = [
    "Agreement",
    "AgreementKind",
    "AgreementStatus",
    "Citation",
    "Equivalence",
    "Event",
    "EventKind",
    "Term",
]


class AgreementKind(StrEnum):
    """The four kinds of agreement Accord understands."""

    INFORMATION_SECURITY = "information-security"
    HUB_ARRANGEMENT = "hub-arrangement"
    LOGISTICS_SUPPORT = "logistics-support"
    CONSULTATION = "consultation-commitment"


class EventKind(StrEnum):
    """Lifecycle events; only some change the status (see ``_STATUS_EVENTS``)."""

    NEGOTIATION = "negotiation"
    SIGNING_POSTPONED = "signing-postponed"
    SIGNED = "signed"
    IN_FORCE = "in-force"
    AMENDED = "amended"
    RENEWED = "renewed"
    TERMINATION_NOTIFIED = "termination-notified"
    NOTICE_SUSPENDED = "termination-notice-suspended"
    NOTICE_WITHDRAWN = "termination-notice-withdrawn"
    TERMINATED = "terminated"
    NOTE = "note"


class AgreementStatus(StrEnum):
    """An agreement's status as of one date."""

    NOT_IN_FORCE = "not-in-force"
    IN_FORCE = "in-force"
    TERMINATION_PENDING = "termination-pending"
    TERMINATED = "terminated"

    @property
    def carries(self) -> bool:
        """Whether new information may go under it: a pending notice does not stop it."""
        return self in _CARRYING


_CARRYING: Final = frozenset({AgreementStatus.IN_FORCE, AgreementStatus.TERMINATION_PENDING})


@dataclass(frozen=True, slots=True, kw_only=True)
class Citation:
    """A clause of a source: what it says and where it is published."""

    cite: str
    source: str = ""

    def __str__(self) -> str:
        """E.g. ``Art.4.2 <https://…>``."""
        return f"{self.cite} <{self.source}>" if self.source else self.cite


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """One dated lifecycle event, with its source."""

    on: dt.date
    kind: EventKind
    summary: str = ""
    party: str | None = None
    effective: dt.date | None = None
    source: str = ""
    inferred: bool = False

    def __post_init__(self) -> None:
        """Only a termination notice carries an effective date, never before the notice."""
        if self.effective is not None:
            if self.kind is not EventKind.TERMINATION_NOTIFIED:
                msg = f"event {self.kind} on {self.on}: only a termination notice has 'effective'"
                raise ValidationError(msg)
            if self.effective < self.on:
                msg = f"termination notice of {self.on} takes effect before it was given"
                raise ValidationError(msg)

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-compatible form (also the fingerprinted form)."""
        return {
            "on": self.on.isoformat(),
            "kind": str(self.kind),
            "summary": self.summary,
            "party": self.party,
            "effective": self.effective.isoformat() if self.effective else None,
            "source": self.source,
            "inferred": self.inferred,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Equivalence:
    """One row of an equivalence table: these levels of these parties correspond.

    ``levels`` maps a party to its corresponding levels, preferred first (Japan lists
    極秘 and 特定秘密 against ROK 군사 II급비밀). ``inferred`` marks rows that no published
    text gives; a decision relying on one says so.
    """

    levels: tuple[tuple[str, tuple[str, ...]], ...]
    english: str = ""
    inferred: bool = False
    source: str = ""

    def __post_init__(self) -> None:
        """A row relates at least two parties, each with at least one level."""
        if len(self.levels) < 2:  # noqa: PLR2004 - a correspondence needs two sides
            msg = "an equivalence row must relate at least two parties"
            raise ValidationError(msg)
        for party, ids in self.levels:
            if not ids:
                msg = f"equivalence row gives no level for {party}"
                raise ValidationError(msg)
            for level_id in ids:
                if not level_id.startswith(f"{party}/"):
                    msg = f"level {level_id} listed under {party} belongs to another scheme"
                    raise ValidationError(msg)

    def for_party(self, party: str) -> tuple[str, ...]:
        """The levels this row gives for ``party`` (empty if none)."""
        for p, ids in self.levels:
            if p == party:
                return ids
        return ()

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-compatible form."""
        return {
            "levels": {p: list(ids) for p, ids in self.levels},
            "english": self.english,
            "inferred": self.inferred,
            "source": self.source,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Term:
    """Duration and notice rules, e.g. GSOMIA Art.21(3): one year, renewed yearly, 90 days."""

    initial_years: int | None = None
    renewal_years: int | None = None
    notice_days: int | None = None
    anniversary: tuple[int, int] | None = None  # (month, day)

    def __post_init__(self) -> None:
        """Check the numbers are not negative and the anniversary is a real calendar day."""
        for name in ("initial_years", "renewal_years", "notice_days"):
            value = getattr(self, name)
            if value is not None and value < 0:
                msg = f"term {name} must be 0 or more, not {value}"
                raise ValidationError(msg)
        if self.anniversary is not None:
            month, day = self.anniversary
            try:
                dt.date(2000, month, day)  # a leap year admits 29 Feb
            except ValueError as e:
                msg = f"anniversary {month:02d}-{day:02d} is not a calendar day"
                raise ValidationError(msg) from e

    def termination_effective(self, notified: dt.date) -> dt.date | None:
        """The first anniversary more than ``notice_days`` after a notice, if the rules say.

        The notice must come ``notice_days`` *in advance* of the anniversary: for the
        ROK-Japan GSOMIA (90 days, 23 Nov) the last day was 24 Aug (MAI20, SANK20).
        """
        if self.anniversary is None or self.notice_days is None:
            return None
        earliest = notified + dt.timedelta(days=self.notice_days + 1)
        month, day = self.anniversary
        for year in (earliest.year, earliest.year + 1, earliest.year + 2):
            try:
                candidate = dt.date(year, month, day)
            except ValueError:  # 29 Feb in a common year: the day after
                candidate = dt.date(year, 3, 1)
            if candidate >= earliest:
                return candidate
        return None  # pragma: no cover - two years always contain an anniversary

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-compatible form."""
        return {
            "initial_years": self.initial_years,
            "renewal_years": self.renewal_years,
            "notice_days": self.notice_days,
            "anniversary": f"{self.anniversary[0]:02d}-{self.anniversary[1]:02d}" if self.anniversary else None,
        }


# (date, status, index of the event that set it; -1 for a notice taking effect)
_Transition = tuple[dt.date, AgreementStatus, int]


@dataclass(frozen=True, slots=True, kw_only=True)
class Agreement:
    """An agreement between parties, with scope, equivalences and a dated lifecycle.

    ``topics`` and ``purposes`` of ``None`` mean the agreement does not restrict them
    (a GSOMIA covers any classified military information); a set restricts them (TISA:
    North Korean nuclear and missile threats only).
    """

    id: str
    kind: AgreementKind
    title: str
    parties: tuple[str, ...]
    events: tuple[Event, ...]
    binding: bool = True
    hub: str | None = None
    topics: frozenset[str] | None = None
    purposes: frozenset[str] | None = None
    equivalences: tuple[Equivalence, ...] = ()
    excluded_levels: tuple[str, ...] = ()
    term: Term | None = None
    relies_on: tuple[str, ...] = ()
    clauses: tuple[tuple[str, Citation], ...] = ()
    sources: tuple[str, ...] = ()
    notes: str = ""
    # Derived in __post_init__; excluded from equality, hashing and the fingerprint.
    fingerprint: str = field(init=False, compare=False, hash=False)
    _transitions: tuple[_Transition, ...] = field(init=False, repr=False, compare=False, hash=False)
    _dates: tuple[dt.date, ...] = field(init=False, repr=False, compare=False, hash=False)
    _rows_by_level: MappingProxyType[str, Equivalence] = field(init=False, repr=False, compare=False, hash=False)
    _clauses: MappingProxyType[str, Citation] = field(init=False, repr=False, compare=False, hash=False)
    # Per transition, then once more for the days before the first one (index -1):
    # the status and the line saying why. Decisions cite them on every request.
    _statuses: tuple[AgreementStatus, ...] = field(init=False, repr=False, compare=False, hash=False)
    _reasons: tuple[str, ...] = field(init=False, repr=False, compare=False, hash=False)
    _cites: MappingProxyType[str, str] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        """Validate, order the events, and derive the status timeline and indexes."""
        self._validate_shape()
        events = tuple(sorted(self.events, key=lambda e: e.on))
        object.__setattr__(self, "events", events)
        object.__setattr__(self, "parties", tuple(sorted(set(self.parties))))
        transitions = self._derive_transitions()
        object.__setattr__(self, "_transitions", transitions)
        object.__setattr__(self, "_dates", tuple(t[0] for t in transitions))
        statuses = (*(t[1] for t in transitions), AgreementStatus.NOT_IN_FORCE)
        object.__setattr__(self, "_statuses", statuses)
        object.__setattr__(self, "_reasons", self._derive_reasons(transitions))
        rows: dict[str, Equivalence] = {}
        for row in self.equivalences:
            for _, ids in row.levels:
                for level_id in ids:
                    if level_id in rows:
                        msg = f"agreement {self.id}: level {level_id} is in two equivalence rows"
                        raise ValidationError(msg)
                    rows[level_id] = row
        for level_id in self.excluded_levels:
            if level_id in rows:
                msg = f"agreement {self.id}: level {level_id} is both excluded and covered"
                raise ValidationError(msg)
        object.__setattr__(self, "_rows_by_level", MappingProxyType(rows))
        object.__setattr__(self, "_clauses", MappingProxyType(dict(self.clauses)))
        object.__setattr__(self, "_cites", MappingProxyType({rule: str(c) for rule, c in self._clauses.items()}))
        object.__setattr__(self, "fingerprint", sha256_hex(self.to_dict()))

    def _validate_shape(self) -> None:  # noqa: C901 - one check per field, in order
        if not self.id or not self.title:
            msg = "an agreement needs an id and a title"
            raise ValidationError(msg)
        if len(set(self.parties)) < 2:  # noqa: PLR2004 - an agreement binds two or more
            msg = f"agreement {self.id} must name at least two parties"
            raise ValidationError(msg)
        if self.hub is not None:
            if self.kind is not AgreementKind.HUB_ARRANGEMENT:
                msg = f"agreement {self.id}: only a hub arrangement names a hub"
                raise ValidationError(msg)
            if self.hub not in self.parties:
                msg = f"agreement {self.id}: hub {self.hub} is not one of its parties"
                raise ValidationError(msg)
        elif self.kind is AgreementKind.HUB_ARRANGEMENT:
            msg = f"agreement {self.id}: a hub arrangement must name its hub"
            raise ValidationError(msg)
        for event in self.events:
            if event.party is not None and event.party not in self.parties:
                msg = f"agreement {self.id}: event {event.kind} on {event.on} names {event.party}, not a party to it"
                raise ValidationError(msg)
        for row in self.equivalences:
            for party, _ in row.levels:
                if party not in self.parties:
                    msg = f"agreement {self.id}: equivalence names {party}, not a party to it"
                    raise ValidationError(msg)

    def _derive_transitions(self) -> tuple[_Transition, ...]:  # noqa: C901, PLR0912, PLR0915 - one match over event kinds
        """Replay the events into (date, status) transitions.

        A termination notice takes effect at the start of its effective date unless it
        was suspended or withdrawn before; a suspended notice does not take effect.
        """
        status = AgreementStatus.NOT_IN_FORCE
        notice: dt.date | None = None  # effective date of a pending notice
        suspended = False
        out: list[_Transition] = []

        def take_effect_before(day: dt.date) -> None:
            nonlocal status, notice
            if notice is not None and not suspended and notice <= day:
                status = AgreementStatus.TERMINATED
                out.append((notice, status, -1))
                notice = None

        for index, event in enumerate(self.events):
            take_effect_before(event.on)
            if status is AgreementStatus.TERMINATED and event.kind in _STATUS_EVENTS:
                msg = f"agreement {self.id}: event {event.kind} on {event.on} follows its termination"
                raise InvalidTransitionError(msg)
            match event.kind:
                case EventKind.IN_FORCE:
                    status = AgreementStatus.IN_FORCE
                case EventKind.TERMINATION_NOTIFIED:
                    if status is AgreementStatus.NOT_IN_FORCE:
                        msg = f"agreement {self.id}: termination notified on {event.on} before it was in force"
                        raise InvalidTransitionError(msg)
                    if notice is not None:
                        msg = f"agreement {self.id}: a second termination notice on {event.on} while one is pending"
                        raise InvalidTransitionError(msg)
                    effective = event.effective or (self.term.termination_effective(event.on) if self.term else None)
                    if effective is None:
                        msg = (
                            f"agreement {self.id}: termination notice of {event.on} has no "
                            f"effective date and no term rules to compute one"
                        )
                        raise InvalidTransitionError(msg)
                    notice, suspended = effective, False
                    status = AgreementStatus.TERMINATION_PENDING
                case EventKind.NOTICE_SUSPENDED:
                    if notice is None or suspended:
                        msg = f"agreement {self.id}: notice suspended on {event.on} but none is pending"
                        raise InvalidTransitionError(msg)
                    suspended = True
                    status = AgreementStatus.IN_FORCE
                case EventKind.NOTICE_WITHDRAWN:
                    if notice is None:
                        msg = f"agreement {self.id}: notice withdrawn on {event.on} but none was given"
                        raise InvalidTransitionError(msg)
                    notice, suspended = None, False
                    status = AgreementStatus.IN_FORCE
                case EventKind.TERMINATED:
                    status = AgreementStatus.TERMINATED
                    notice = None
                case _:
                    continue
            out.append((event.on, status, index))
        if notice is not None and not suspended:
            out.append((notice, AgreementStatus.TERMINATED, -1))
        return tuple(out)

    def _derive_reasons(self, transitions: tuple[_Transition, ...]) -> tuple[str, ...]:
        """The ``status_reason`` line of each transition, then of the days before the first."""
        out = []
        for day, status, index in transitions:
            if index < 0:
                out.append(f"terminated: the termination notice took effect on {day}")
                continue
            event = self.events[index]
            text = f"{event.kind} on {event.on}"
            if status is AgreementStatus.TERMINATION_PENDING:
                effective = event.effective or (self.term.termination_effective(event.on) if self.term else None)
                text += f", takes effect {effective}"
            out.append(text)
        # Dates before the first transition: say nothing of later events, so that a
        # decision "as of" a past date reads as it would have then.
        out.append("no entry into force by then")
        return tuple(out)

    # -- queries ---------------------------------------------------------------------

    def status_on(self, on: dt.date) -> AgreementStatus:
        """The status on ``on`` (events dated ``on`` already count)."""
        return self._statuses[bisect.bisect_right(self._dates, on) - 1]

    def status_reason(self, on: dt.date) -> str:
        """One line saying which event gave the status on ``on``."""
        return self._reasons[bisect.bisect_right(self._dates, on) - 1]

    def status_with_reason(self, on: dt.date) -> tuple[AgreementStatus, str]:
        """``status_on`` and ``status_reason`` together, for one look-up of the date."""
        i = bisect.bisect_right(self._dates, on) - 1
        return self._statuses[i], self._reasons[i]

    def timeline(self) -> tuple[tuple[dt.date, AgreementStatus, Event | None], ...]:
        """Every status change in date order, with the event behind it (None: notice took effect)."""
        return tuple(
            (day, status, self.events[index] if index >= 0 else None) for day, status, index in self._transitions
        )

    def in_force_intervals(self) -> tuple[tuple[dt.date, dt.date | None], ...]:
        """Half-open [start, end) intervals during which the agreement carries information."""
        out: list[tuple[dt.date, dt.date | None]] = []
        start: dt.date | None = None
        for day, status, _ in self._transitions:
            if status.carries and start is None:
                start = day
            elif not status.carries and start is not None:
                if day > start:
                    out.append((start, day))
                start = None
        if start is not None:
            out.append((start, None))
        return tuple(out)

    def equivalence_row(self, level_id: str) -> Equivalence | None:
        """The equivalence row that covers ``level_id`` under this agreement, if any."""
        return self._rows_by_level.get(level_id)

    def covers_level(self, level_id: str) -> bool:
        """Whether a level has an equivalent under this agreement."""
        return level_id in self._rows_by_level

    def clause(self, rule: str) -> Citation | None:
        """The clause this agreement cites for a rule (e.g. ``scope``), if any."""
        return self._clauses.get(rule)

    def cite(self, rule: str) -> str:
        """The clause cited for a rule as text (``str(clause)``), or the agreement's id if none."""
        return self._cites.get(rule, self.id)

    def to_dict(self) -> dict[str, object]:
        """The full definition as plain JSON; its canonical hash is the fingerprint."""
        return {
            "id": self.id,
            "kind": str(self.kind),
            "title": self.title,
            "parties": list(self.parties),
            "binding": self.binding,
            "hub": self.hub,
            "topics": sorted(self.topics) if self.topics is not None else None,
            "purposes": sorted(self.purposes) if self.purposes is not None else None,
            "equivalences": [row.to_dict() for row in self.equivalences],
            "excluded_levels": list(self.excluded_levels),
            "term": self.term.to_dict() if self.term else None,
            "relies_on": list(self.relies_on),
            "clauses": {rule: {"cite": c.cite, "source": c.source} for rule, c in self.clauses},
            "events": [e.to_dict() for e in self.events],
            "sources": list(self.sources),
            "notes": self.notes,
        }


_STATUS_EVENTS: Final = frozenset(
    {
        EventKind.IN_FORCE,
        EventKind.TERMINATION_NOTIFIED,
        EventKind.NOTICE_SUSPENDED,
        EventKind.NOTICE_WITHDRAWN,
        EventKind.TERMINATED,
    }
)
