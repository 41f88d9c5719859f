"""The values a release decision is made of: checks, hops, the recipient's label.

A :class:`Decision` is data, never an exception: ``bool(decision)`` is whether the
release may go. It lists every rule checked (pass or fail) with a one-line detail and
the clause it rests on, the route, the agreements used with their fingerprints, the
portions released and withheld, and the marking the recipient will see.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import NamedTuple

__all__ = ["Check", "Decision", "Hop", "Label", "Rule"]


class Rule(StrEnum):
    """The rules of DESIGN.md, by short name."""

    ROUTE = "route"  # fail closed: some agreement must connect the two ends
    IN_FORCE = "in-force"  # rule 1 (and 8: nothing new after termination)
    LEVEL = "level-covered"  # rule 2
    RELEASABLE = "releasable"  # rule 3
    SCOPE = "scope"  # rule 4
    CONSENT = "consent"  # rule 5
    HUB = "hub"  # rule 6
    MARKING = "marking"  # rule 7


# Every value here is a NamedTuple rather than a frozen dataclass: a decision makes a
# dozen of them and the engine's throughput target (see bench/decide.py) is set by
# their cost; a tuple is built in one step, a frozen dataclass field by field.
class Check(NamedTuple):
    """One rule checked on one candidate route (``route`` "" for route-independent rules)."""

    rule: Rule
    passed: bool
    detail: str
    source: str
    route: str

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-compatible form."""
        return {
            "rule": str(self.rule),
            "passed": self.passed,
            "detail": self.detail,
            "source": self.source,
            "route": self.route,
        }


class Hop(NamedTuple):
    """One leg of a route, the agreement it goes under, and the level on each side."""

    sender: str
    receiver: str
    agreement: str
    fingerprint: str
    level_in: str
    level_out: str
    inferred: bool

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-compatible form."""
        return dict(self._asdict())


class Label(NamedTuple):
    """The marking on the recipient's copy (GSOMIA Art.4.2): originator and both levels."""

    originator: str
    originator_name: str
    originator_level: str
    originator_level_name: str
    recipient: str
    recipient_level: str
    recipient_level_name: str
    english: str = ""

    def text(self) -> str:
        """The banner line, e.g. ``JPN 極秘 (Gokuhi) // ORIGINATOR KOR 군사 II급비밀 …``."""
        english = f" [{self.english}]" if self.english else ""
        return (
            f"{self.recipient} {self.recipient_level_name}{english} // ORIGINATOR "
            f"{self.originator} ({self.originator_name}) {self.originator_level_name}"
        )

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-compatible form, with the banner text."""
        return {
            "originator": self.originator,
            "originator_name": self.originator_name,
            "originator_level": self.originator_level,
            "originator_level_name": self.originator_level_name,
            "recipient": self.recipient,
            "recipient_level": self.recipient_level,
            "recipient_level_name": self.recipient_level_name,
            "english": self.english,
            "text": self.text(),
        }


class Decision(NamedTuple):
    """The answer to "may this record go to that party on that date, and how?".

    Immutable like every value here. It is a NamedTuple rather than a frozen dataclass
    because the engine builds one per request and a tuple is built in one step; build
    it with keywords, and do not rely on its being a tuple (its length, order or
    unpacking), which may change.
    """

    allowed: bool
    record_id: str
    sender: str
    recipient: str
    on: dt.date
    route: tuple[str, ...]
    hops: tuple[Hop, ...]
    checks: tuple[Check, ...]
    label: Label | None
    released_portions: tuple[str, ...]
    withheld_portions: tuple[str, ...]
    via: tuple[str, str] | None = None  # (id, fingerprint) of the hub arrangement routed under

    def __bool__(self) -> bool:
        """A denial is falsy."""
        return self.allowed

    @property
    def agreements(self) -> tuple[tuple[str, str], ...]:
        """(agreement id, fingerprint) of every agreement the chosen route relies on.

        On a hub route the arrangement comes first, then each leg's agreement.
        """
        seen: dict[str, str] = dict([self.via]) if self.via is not None else {}
        for hop in self.hops:
            seen.setdefault(hop.agreement, hop.fingerprint)
        return tuple(seen.items())

    @property
    def reasons(self) -> tuple[str, ...]:
        """For a denial, why; for a permit, what made it lawful (chosen route only)."""
        if self.allowed:
            chosen = ">".join(self.route)
            return tuple([c.detail for c in self.checks if c.passed and (not c.route or c.route == chosen)])
        return tuple([c.detail for c in self.checks if not c.passed])

    @property
    def relies_on_inferred(self) -> bool:
        """Whether any hop used an equivalence no published text gives."""
        return any(h.inferred for h in self.hops)

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-compatible form (what ``accord decide --json`` prints)."""
        return {
            "allowed": self.allowed,
            "record_id": self.record_id,
            "sender": self.sender,
            "recipient": self.recipient,
            "on": self.on.isoformat(),
            "route": list(self.route),
            "hops": [h.to_dict() for h in self.hops],
            "agreements": [{"id": i, "fingerprint": f} for i, f in self.agreements],
            "via": {"id": self.via[0], "fingerprint": self.via[1]} if self.via else None,
            "recipient_label": self.label.to_dict() if self.label else None,
            "released_portions": list(self.released_portions),
            "withheld_portions": list(self.withheld_portions),
            "relies_on_inferred_equivalence": self.relies_on_inferred,
            "reasons": list(self.reasons),
            "checks": [c.to_dict() for c in self.checks],
        }
