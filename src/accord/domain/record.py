"""Records: what an analyst writes, marks and asks to release.

A record has an originator, topics, a purpose, a precedence and one or more portions,
each with its own level and releasability, so that a release can carry only what a
recipient may see (the tear line). Bodies, sealing and storage come with the records
issue; the decision engine needs only the markings held here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from accord.errors import ValidationError

__all__ = ["Portion", "Precedence", "Record"]


class Precedence(StrEnum):
    """Message precedence, most urgent first."""

    FLASH = "FLASH"
    IMMEDIATE = "IMMEDIATE"
    PRIORITY = "PRIORITY"
    ROUTINE = "ROUTINE"

    @property
    def order(self) -> int:
        """0 for FLASH up to 3 for ROUTINE: lower goes first."""
        return _ORDER[self]


_ORDER = {p: i for i, p in enumerate(Precedence)}


@dataclass(frozen=True, slots=True, kw_only=True)
class Portion:
    """A portion of a record with its own level and releasability (REL TO)."""

    id: str
    level: str
    rel_to: frozenset[str]
    text: str = ""

    def __post_init__(self) -> None:
        """A portion needs an id and a level."""
        if not self.id or not self.level:
            msg = "a portion needs an id and a level"
            raise ValidationError(msg)


@dataclass(frozen=True, slots=True, kw_only=True)
class Record:
    """A classified record held or originated by a node."""

    id: str
    originator: str
    title: str
    topics: frozenset[str]
    portions: tuple[Portion, ...]
    purpose: str = ""
    precedence: Precedence = Precedence.ROUTINE

    def __post_init__(self) -> None:
        """A record has a title, at least one topic and at least one portion."""
        if not self.id or not self.title.strip():
            msg = "a record needs an id and a title"
            raise ValidationError(msg)
        if not self.topics:
            msg = f"record {self.id} has no topics: the agreements' scope is checked on them"
            raise ValidationError(msg)
        if not self.portions:
            msg = f"record {self.id} has no portions"
            raise ValidationError(msg)
        ids = [p.id for p in self.portions]
        if len(set(ids)) != len(ids):
            msg = f"record {self.id} has two portions with the same id"
            raise ValidationError(msg)

    @property
    def rel_to(self) -> frozenset[str]:
        """Parties at least one portion is releasable to."""
        out: frozenset[str] = frozenset()
        for portion in self.portions:
            out |= portion.rel_to
        return out

    @classmethod
    def single(  # noqa: PLR0913 - a record's markings are this many
        cls,
        *,
        id: str,  # noqa: A002 - the record's id
        originator: str,
        level: str,
        topics: frozenset[str] | set[str],
        rel_to: frozenset[str] | set[str],
        title: str = "(untitled)",
        purpose: str = "",
        precedence: Precedence = Precedence.ROUTINE,
    ) -> Record:
        """A record of one portion: what ``accord decide`` asks about."""
        return cls(
            id=id,
            originator=originator,
            title=title,
            topics=frozenset(topics),
            purpose=purpose,
            precedence=precedence,
            portions=(Portion(id="1", level=level, rel_to=frozenset(rel_to)),),
        )
