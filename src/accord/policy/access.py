"""May this person open this held record? Pure, like the release engine.

Access needs all three, checked every time (GSOMIA Art.7.1-7.2): the right nationality
(the person belongs to the party holding the copy), a clearance in the holder's own
scheme at or above the level the copy is marked with there, and need-to-know for every
topic of the record. Rank and role never suffice on their own and are not consulted.
The answer is an :class:`AccessDecision` value listing each check; only malformed input
(an unknown level or party) raises. Writing the audit entry is the services' job.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from accord.domain.person import Person
from accord.domain.world import World

__all__ = ["AccessCheck", "AccessDecision", "may_open"]

ART7 = "Access: clearance and need-to-know, never rank or role alone (GSOMIA Art.7.1-7.2)"


@dataclass(frozen=True, slots=True, kw_only=True)
class AccessCheck:
    """One condition of access, passed or failed, with why."""

    rule: str
    passed: bool
    detail: str
    source: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AccessDecision:
    """Whether a person may open a held copy, with every check made."""

    allowed: bool
    person: str
    checks: tuple[AccessCheck, ...]

    def __bool__(self) -> bool:
        """A refusal is falsy."""
        return self.allowed

    @property
    def reasons(self) -> tuple[str, ...]:
        """The failed checks' details for a refusal, every detail for a grant."""
        if self.allowed:
            return tuple(c.detail for c in self.checks)
        return tuple(c.detail for c in self.checks if not c.passed)


def may_open(  # noqa: PLR0913 - each argument is one condition
    person: Person,
    *,
    holder: str,
    level: str,
    topics: frozenset[str],
    on: dt.date,
    world: World,
    source: str = ART7,
) -> AccessDecision:
    """Decide whether ``person`` may open a copy held by ``holder`` marked ``level`` on ``topics``.

    ``level`` is the marking of the copy in the holder's own scheme (for a received
    record, the recipient-equivalent level of its label). ``source`` is the clause of the
    agreement the copy came under, when there is one.
    """
    scheme = world.scheme_of(holder)
    marked = scheme.level(level)
    world.party(person.party)
    checks = [
        AccessCheck(
            rule="nationality",
            passed=person.party == holder,
            detail=(
                f"{person.id} is of {person.party}, the party holding the copy"
                if person.party == holder
                else f"{person.id} is of {person.party}, not {holder}, which holds the copy"
            ),
            source=source,
        )
    ]
    if person.clearance is None or person.party != holder:
        cleared = False
        detail = f"{person.id} holds no clearance in {holder}'s scheme"
    else:
        held = scheme.level(person.clearance)
        cleared = held.valid_on(on) and held.rank >= marked.rank
        detail = (
            f"{person.id} is cleared {held.id}, at or above {marked.id}"
            if cleared
            else f"{person.id} is cleared {held.id}, below {marked.id} or not in use on {on}"
        )
    checks.append(AccessCheck(rule="clearance", passed=cleared, detail=detail, source=source))
    missing = topics - person.need_to_know
    checks.append(
        AccessCheck(
            rule="need-to-know",
            passed=not missing and bool(topics),
            detail=(
                f"{person.id} has need-to-know for {', '.join(sorted(topics))}"
                if not missing and topics
                else f"{person.id} lacks need-to-know for {', '.join(sorted(missing)) or 'a record with no topics'}"
            ),
            source=source,
        )
    )
    return AccessDecision(allowed=all(c.passed for c in checks), person=person.id, checks=tuple(checks))
