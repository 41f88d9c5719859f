"""Re-marking held copies after the originator's reclassification notice (GSOMIA Art.6(g)).

Pure: given a notice, the holding party and the world, say what each named portion of
the held copy is marked with now in the holder's own scheme, through the equivalence
table of an information-security agreement binding the originator and the holder (the
agreement's status does not matter: provided information stays protected after
termination, Art.21(4)). A portion raised to a level with no equivalent cannot be held
at all; the result says so, and the services turn that into a return or destruction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from accord.domain.obligation import ReclassificationNotice
from accord.domain.world import World
from accord.errors import ValidationError

__all__ = ["Remarking", "remark"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Remarking:
    """The new marking of each named portion in the holder's scheme (None: cannot be held)."""

    notice_id: str
    holder: str
    levels: tuple[tuple[str, str | None], ...]
    agreement: str | None

    @property
    def must_surrender(self) -> tuple[str, ...]:
        """Portions that have no equivalent any more: to be returned or destroyed."""
        return tuple(pid for pid, level in self.levels if level is None)


def remark(notice: ReclassificationNotice, *, holder: str, on: dt.date, world: World) -> Remarking:
    """Translate the notice's new levels into the holder's scheme.

    Raises:
        ValidationError: the holder is the originator, or a new level is not in use on ``on``.
        UnknownReferenceError: an unknown party or level.
    """
    if holder == notice.originator:
        msg = f"{holder} is the originator of {notice.record_id}: it reclassifies, it does not re-mark"
        raise ValidationError(msg)
    world.party(holder)
    scheme = world.scheme_of(notice.originator)
    for pid, level_id in notice.levels:
        if not scheme.level(level_id).valid_on(on):
            msg = f"reclassification {notice.id}: portion {pid}'s new level {level_id} is not in use on {on}"
            raise ValidationError(msg)
    carriers = world.carriers(notice.originator, holder)
    out: list[tuple[str, str | None]] = []
    used: str | None = None
    for pid, level_id in notice.levels:
        target = None
        for agreement in carriers:
            row = agreement.equivalence_row(level_id)
            held = [i for i in row.for_party(holder) if world.level(i).valid_on(on)] if row else []
            if held:
                target, used = held[0], used or agreement.id
                break
        out.append((pid, target))
    return Remarking(notice_id=notice.id, holder=holder, levels=tuple(out), agreement=used)
