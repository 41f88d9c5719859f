"""Ports of the storage layer: what services need from a store, as Protocols.

Services depend on these, not on SQLAlchemy; ``memory.py`` and ``sql/`` implement
them. A store never begins, commits or rolls back: the service that calls it owns
the transaction.
"""

from __future__ import annotations

from typing import Protocol

from accord.domain.world import World

__all__ = ["WorldStore"]


class WorldStore(Protocol):
    """The one world (parties, schemes, agreements) a node holds.

    A save makes the stored world equal to the given one. It counts as a change when
    a party, scheme or level differs, an agreement is added or removed, an agreement's
    fingerprint differs (it is then replaced whole), or the order of any of these
    differs. An agreement with an unchanged fingerprint is kept as stored.
    """

    def save(self, world: World) -> bool:
        """Store ``world`` in place of the current one; True if anything changed."""
        ...

    def load(self) -> World | None:
        """The stored world, equal to the one saved, or ``None`` if none was saved."""
        ...

    def fingerprint(self) -> str | None:
        """``World.fingerprint`` of the stored world, without loading it; ``None`` if none."""
        ...
