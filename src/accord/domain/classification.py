"""Classification schemes: each party's own ordered levels.

Levels are compared by rank only *within* one scheme (for clearances and for the
overall level of a record). Levels of two schemes are never compared by name or rank:
only an agreement's equivalence table relates them (see ``agreement.py``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import NewType

from accord.errors import UnknownReferenceError, ValidationError

__all__ = ["Level", "LevelId", "Scheme"]

LevelId = NewType("LevelId", str)


@dataclass(frozen=True, slots=True, kw_only=True)
class Level:
    """One level of a scheme, e.g. ``KOR/MIL-II`` (군사 II급비밀)."""

    id: LevelId
    rank: int
    native: str
    romanised: str = ""
    english: str = ""
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None
    note: str = ""

    def __post_init__(self) -> None:
        """Check the id has the form SCHEME/CODE and the validity window is ordered."""
        scheme, _, code = self.id.partition("/")
        if not scheme or not code:
            msg = f"level id {self.id!r} must look like SCHEME/CODE, e.g. KOR/MIL-II"
            raise ValidationError(msg)
        if self.rank < 1:
            msg = f"level {self.id}: rank must be 1 or more, not {self.rank}"
            raise ValidationError(msg)
        if self.valid_from and self.valid_until and self.valid_from > self.valid_until:
            msg = f"level {self.id}: valid_from {self.valid_from} is after {self.valid_until}"
            raise ValidationError(msg)

    @property
    def scheme(self) -> str:
        """The scheme (party code) this level belongs to."""
        return self.id.partition("/")[0]

    @property
    def code(self) -> str:
        """The level's code within its scheme, e.g. ``MIL-II``."""
        return self.id.partition("/")[2]

    def valid_on(self, on: dt.date) -> bool:
        """Whether the level exists on ``on`` (JPN/BOEI ended when JPN/TOKUTEI began)."""
        if self.valid_from is not None and on < self.valid_from:
            return False
        return self.valid_until is None or on <= self.valid_until

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-compatible form."""
        return {
            "id": self.id,
            "rank": self.rank,
            "native": self.native,
            "romanised": self.romanised,
            "english": self.english,
            "valid_from": self.valid_from.isoformat() if self.valid_from else None,
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
            "note": self.note,
        }

    def label(self) -> str:
        """The native name with its romanised form, as printed in markings."""
        if self.romanised and self.romanised != self.native:
            return f"{self.native} ({self.romanised})"
        return self.native


@dataclass(frozen=True, slots=True, kw_only=True)
class Scheme:
    """A party's classification scheme, levels held highest rank first."""

    party: str
    name: str
    levels: tuple[Level, ...]
    source: str = ""
    _by_id: MappingProxyType[str, Level] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        """Order the levels and check they all belong to this scheme."""
        if not self.levels:
            msg = f"scheme {self.party} has no levels"
            raise ValidationError(msg)
        by_id: dict[str, Level] = {}
        for level in self.levels:
            if level.scheme != self.party:
                msg = f"level {level.id} does not belong to scheme {self.party}"
                raise ValidationError(msg)
            if level.id in by_id:
                msg = f"scheme {self.party} lists level {level.id} twice"
                raise ValidationError(msg)
            by_id[level.id] = level
        ordered = tuple(sorted(self.levels, key=lambda lv: -lv.rank))
        object.__setattr__(self, "levels", ordered)
        object.__setattr__(self, "_by_id", MappingProxyType(by_id))

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-compatible form, levels highest first."""
        return {
            "party": self.party,
            "name": self.name,
            "source": self.source,
            "levels": [lv.to_dict() for lv in self.levels],
        }

    def level(self, level_id: str) -> Level:
        """Return the level with this id, or raise naming the scheme's levels."""
        try:
            return self._by_id[level_id]
        except KeyError:
            known = ", ".join(lv.id for lv in self.levels)
            msg = f"unknown level {level_id!r} in scheme {self.party} (known: {known})"
            raise UnknownReferenceError(msg) from None

    def has(self, level_id: str) -> bool:
        """Whether ``level_id`` is a level of this scheme."""
        return level_id in self._by_id

    def highest(self, level_ids: tuple[str, ...] | list[str]) -> Level:
        """The highest-ranked of the given levels (the overall level of a record)."""
        if not level_ids:
            msg = f"no levels given to rank in scheme {self.party}"
            raise ValidationError(msg)
        return max((self.level(i) for i in level_ids), key=lambda lv: lv.rank)

    def dominates(self, held: str, required: str) -> bool:
        """Whether level ``held`` is at or above ``required`` in this scheme."""
        return self.level(held).rank >= self.level(required).rank
