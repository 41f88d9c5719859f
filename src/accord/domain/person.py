"""People at a node: their nationality, clearance, need-to-know and roles.

A person belongs to the node's party, holds a clearance that is a level of that party's
own scheme, and has need-to-know for a set of topics. Roles (analyst, disclosure
officer, ...) decide which actions a person may take (``accord.policy.roles``); they
never grant access to classified content on their own (GSOMIA Art.7.1), and
``accord.policy.access`` does not consult them. Accounts, passwords, tokens and
sessions belong to the services and storage layers, not here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from accord.domain.world import World
from accord.errors import UnknownReferenceError, ValidationError

__all__ = ["MAX_TOPIC", "Person", "Role", "parse_roles"]

MAX_TOPIC: Final = 128
"""The longest need-to-know topic accepted (topics are short labels, like a record's)."""


class Role(StrEnum):
    """A duty at the node. Roles are only ever added, never renamed (they are stored)."""

    ANALYST = "analyst"  # writes and reads records, asks for releases
    DISCLOSURE_OFFICER = "disclosure-officer"  # approves releases, consents, recalls
    LOGISTICS_OFFICER = "logistics-officer"  # raises and settles mutual-support orders
    SECURITY_OFFICER = "security-officer"  # registry, people and clearances, peers, keys, audit
    ADMINISTRATOR = "administrator"  # accounts and the node itself; no classified content


def parse_roles(names: Iterable[object]) -> frozenset[Role]:
    """The roles named (surrounding spaces ignored).

    Raises:
        ValidationError: a name is not a role, naming the known ones.
    """
    return frozenset(_role(str(name).strip()) for name in names)


def _role(value: object) -> Role:
    try:
        return Role(str(value))
    except ValueError:
        known = ", ".join(r.value for r in Role)
        msg = f"unknown role {value!r} (known: {known})"
        raise ValidationError(msg) from None


@dataclass(frozen=True, slots=True, kw_only=True)
class Person:
    """Someone at a node: who they are, what they are cleared for and what they may do.

    ``roles`` accepts role names and keeps :class:`Role` members; ``name`` is the
    person's display name.
    """

    id: str
    party: str
    clearance: str | None
    need_to_know: frozenset[str] = frozenset()
    roles: frozenset[Role] = frozenset()
    name: str = ""

    def __post_init__(self) -> None:
        """A clearance, when held, is a level of the person's own party's scheme; roles are known."""
        if not self.id:
            msg = "a person needs an id"
            raise ValidationError(msg)
        if self.clearance is not None and not self.clearance.startswith(f"{self.party}/"):
            msg = (
                f"person {self.id}: clearance {self.clearance} is not a level of {self.party}'s own scheme; "
                "clearances are granted in one's own scheme only"
            )
            raise ValidationError(msg)
        object.__setattr__(self, "roles", parse_roles(self.roles))
        object.__setattr__(self, "need_to_know", frozenset(self.need_to_know))
        for topic in self.need_to_know:
            if not topic or topic != topic.strip() or len(topic) > MAX_TOPIC:
                msg = f"person {self.id}: need-to-know topic {topic!r} must be 1 to {MAX_TOPIC} characters, trimmed"
                raise ValidationError(msg)

    def has_role(self, role: Role) -> bool:
        """Whether the person holds ``role``."""
        return role in self.roles

    def check(self, world: World, *, on: dt.date) -> None:
        """Check the person against the world: a known party, a clearance that is a level
        of its scheme in use on ``on``.

        Raises:
            UnknownReferenceError: the party or the level is unknown to the world.
            ValidationError: the level is not in use on ``on``.
        """  # noqa: D205 - the summary needs two lines
        scheme = world.scheme_of(self.party)
        if self.clearance is None:
            return
        if not scheme.has(self.clearance):
            known = ", ".join(level.id for level in scheme.levels)
            msg = f"person {self.id}: {self.clearance} is not a level of {self.party}'s scheme (known: {known})"
            raise UnknownReferenceError(msg)
        if not scheme.level(self.clearance).valid_on(on):
            msg = f"person {self.id}: level {self.clearance} is not in use on {on.isoformat()}"
            raise ValidationError(msg)
