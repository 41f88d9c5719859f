"""People at a node: their nationality, clearance and need-to-know.

A person belongs to the node's party, holds a clearance that is a level of that party's
own scheme, and has need-to-know for a set of topics. Roles (analyst, disclosure
officer, ...) decide which actions a person may take; they never grant access to
classified content on their own (GSOMIA Art.7.1). Accounts, passwords and sessions
belong to the services and API layers.
"""

from __future__ import annotations

from dataclasses import dataclass

from accord.errors import ValidationError

__all__ = ["Person"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Person:
    """Someone who may ask to open records held at a node."""

    id: str
    party: str
    clearance: str | None
    need_to_know: frozenset[str] = frozenset()
    roles: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        """A clearance, when held, is a level of the person's own party's scheme."""
        if not self.id:
            msg = "a person needs an id"
            raise ValidationError(msg)
        if self.clearance is not None and not self.clearance.startswith(f"{self.party}/"):
            msg = (
                f"person {self.id}: clearance {self.clearance} is not a level of {self.party}'s own scheme; "
                "clearances are granted in one's own scheme only"
            )
            raise ValidationError(msg)
