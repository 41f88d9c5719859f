"""In-memory implementations of the storage ports, for tests and throw-away nodes.

They keep domain values as they are, with the same notion of "changed" as the SQL
stores, so the contract suite runs the same tests against both. They are not
transactional: a save either raises before touching anything or replaces the state
in one assignment, which is all a single-threaded caller can observe.
"""

from __future__ import annotations

from accord.domain.classification import Scheme
from accord.domain.party import Party
from accord.domain.world import World

__all__ = ["InMemoryWorldStore"]

_Signature = tuple[tuple[Party, ...], tuple[Scheme, ...], tuple[tuple[str, str], ...]]


class InMemoryWorldStore:
    """A :class:`~accord.storage.ports.WorldStore` that keeps the world in memory."""

    def __init__(self) -> None:
        """Start empty: no world saved."""
        self._world: World | None = None

    def save(self, world: World) -> bool:
        """Keep ``world``; True if it differs from the one kept (see ``WorldStore``)."""
        if self._world is not None and _signature(self._world) == _signature(world):
            return False
        self._world = world
        return True

    def load(self) -> World | None:
        """The world kept, or ``None``."""
        return self._world

    def fingerprint(self) -> str | None:
        """The fingerprint of the world kept, or ``None``."""
        return self._world.fingerprint if self._world is not None else None


def _signature(world: World) -> _Signature:
    # Agreements compare by id and fingerprint, as in the SQL store: a fingerprint
    # names the version, and an unchanged version stays as first stored.
    return world.parties, world.schemes, tuple((a.id, a.fingerprint) for a in world.agreements)
