"""Accord: agreement-governed information sharing between allied parties.

The public API of the pure core: load a world, build a record, ask ``decide``. Nodes,
storage and the CLI live in their own packages and are reached through
``accord.services``.

The names load on first use (PEP 562), so importing a submodule (the ``accord``
command starting, say) does not load the decision engine and the world loader with it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from accord.domain.record import Record
    from accord.domain.release import Decision
    from accord.domain.world import World
    from accord.errors import Error
    from accord.policy.engine import decide
    from accord.serialization.world import load_world

__all__ = ["Decision", "Error", "Record", "World", "__version__", "decide", "load_world"]

__version__ = "0.1.0"

_HOMES = {
    "Decision": "accord.domain.release",
    "Error": "accord.errors",
    "Record": "accord.domain.record",
    "World": "accord.domain.world",
    "decide": "accord.policy.engine",
    "load_world": "accord.serialization.world",
}


def __getattr__(name: str) -> object:
    """Load a public name from its module on first use."""
    home = _HOMES.get(name)
    if home is None:
        msg = f"module 'accord' has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public names, loaded or not."""
    return sorted(set(globals()) | set(__all__))
