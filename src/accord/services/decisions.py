"""Ask the engine "may this go?" from plain strings: the ``accord decide`` use case.

Parses and checks what a person types (dates, party codes, levels, topics), builds a
one-portion :class:`~accord.domain.record.Record` and calls
:func:`accord.policy.engine.decide`. A bad date is a ``ValidationError`` naming the
input; an unknown party or level comes back from the engine as an
``UnknownReferenceError`` listing the known ones. Nothing here prints, stores or signs:
a decision made here is an answer to a question, not a release.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Final

from accord.domain.record import Record
from accord.domain.release import Decision
from accord.errors import ValidationError
from accord.policy.engine import decide
from accord.services.world import today

if TYPE_CHECKING:
    from collections.abc import Iterable

    from accord.domain.world import World

__all__ = [
    "EARLIEST",
    "LATEST",
    "Decision",
    "ReleaseQuestion",
    "decide_release",
    "parse_date",
    "parse_parties",
    "parse_topics",
]

EARLIEST: Final = dt.date(1900, 1, 1)
LATEST: Final = dt.date(2199, 12, 31)
# ASCII digits only: Python's date parser also takes week dates and compact forms,
# which people do not mean when they type a date on a command line.
_ISO_DATE: Final = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
QUESTION_ID: Final = "question"


def parse_date(text: str | None, *, field: str = "date") -> dt.date:
    """A date typed as ``YYYY-MM-DD`` (or ``today``; ``None`` is today).

    Raises:
        ValidationError: not that form, not a calendar day, or outside 1900-01-01 to
            2199-12-31; the message names ``field`` and the value.
    """
    if text is None:
        return today()
    value = text.strip()
    if value.casefold() == "today":
        return today()
    if not _ISO_DATE.match(value):
        msg = f"{field}: {text!r} is not a date; write it as YYYY-MM-DD, e.g. 2015-06-01"
        raise ValidationError(msg)
    try:
        day = dt.date.fromisoformat(value)
    except ValueError as e:
        msg = f"{field}: {text!r} is not a calendar day ({e})"
        raise ValidationError(msg) from e
    if not EARLIEST <= day <= LATEST:
        msg = f"{field}: {value} is outside the dates Accord handles ({EARLIEST} to {LATEST})"
        raise ValidationError(msg)
    return day


def parse_parties(values: Iterable[str], *, field: str = "parties") -> frozenset[str]:
    """Party codes from items that may each hold several, comma-separated (``KOR,USA``).

    Codes are upper-cased; whether each party exists is the engine's check.

    Raises:
        ValidationError: no party code at all.
    """
    codes = frozenset(_split(values, upper=True))
    if not codes:
        msg = f"{field}: give at least one party code, e.g. JPN or KOR,USA"
        raise ValidationError(msg)
    return codes


def parse_topics(values: Iterable[str], *, field: str = "topics") -> frozenset[str]:
    """Topics from items that may each hold several, comma-separated.

    Raises:
        ValidationError: no topic at all (the agreements' scope is checked on them).
    """
    topics = frozenset(_split(values, upper=False))
    if not topics:
        msg = f"{field}: give at least one topic, e.g. dprk-missile"
        raise ValidationError(msg)
    return topics


def _split(values: Iterable[str], *, upper: bool) -> list[str]:
    out = []
    for value in values:
        for item in value.split(","):
            cleaned = item.strip()
            if cleaned:
                out.append(cleaned.upper() if upper else cleaned)
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class ReleaseQuestion:
    """May ``sender`` release a record at ``level`` on ``topics`` to ``recipient`` on ``on``?

    ``rel_to`` is the record's releasability; ``None`` means the recipient only.
    """

    sender: str
    recipient: str
    level: str
    topics: frozenset[str]
    on: dt.date
    rel_to: frozenset[str] | None = None
    purpose: str = ""

    @classmethod
    def from_flags(  # noqa: PLR0913 - one argument per flag of ``accord decide``
        cls,
        *,
        sender: str,
        recipient: str,
        level: str,
        topics: Iterable[str],
        rel_to: Iterable[str] | None = None,
        on: str | None = None,
        purpose: str = "",
    ) -> ReleaseQuestion:
        """Parse the strings a person typed; ``on`` of ``None`` is today.

        Raises:
            ValidationError: an empty party, level or topic list, or a bad date.
        """
        origin = _one_party(sender, "--from")
        target = _one_party(recipient, "--to")
        return cls(
            sender=origin,
            recipient=target,
            level=_nonempty_level(level),
            topics=parse_topics(topics, field="--topic"),
            on=parse_date(on, field="--on"),
            rel_to=parse_parties(rel_to, field="--rel-to") if rel_to is not None else None,
            purpose=purpose.strip(),
        )

    def record(self) -> Record:
        """The one-portion record this question is about."""
        return Record.single(
            id=QUESTION_ID,
            originator=self.sender,
            level=self.level,
            topics=self.topics,
            rel_to=self.rel_to if self.rel_to is not None else frozenset({self.recipient}),
            title="(question)",
            purpose=self.purpose,
        )


def _one_party(value: str, field: str) -> str:
    code = value.strip().upper()
    if not code:
        msg = f"{field}: give a party code, e.g. KOR"
        raise ValidationError(msg)
    return code


def _nonempty_level(value: str) -> str:
    level = value.strip()
    if not level:
        msg = "--level: give a level of the sender's scheme, e.g. KOR/MIL-II"
        raise ValidationError(msg)
    return level


def decide_release(world: World, question: ReleaseQuestion) -> Decision:
    """The engine's decision on ``question`` in ``world``.

    Raises:
        UnknownReferenceError: an unknown party or level (the engine names the known ones).
        ValidationError: a release to oneself.
    """
    if "/" not in question.level:  # a bare MIL-II is a level of the sender's own scheme
        scheme = world.scheme_of(question.sender).party
        question = replace(question, level=f"{scheme}/{question.level}")
    return decide(question.record(), question.recipient, on=question.on, world=world)
