"""Accord: agreement-governed information sharing between allied parties.

The public API of the pure core: load a world, build a record, ask ``decide``. Nodes,
storage and the CLI live in their own packages and are reached through
``accord.services``.
"""

from accord.domain.record import Record
from accord.domain.release import Decision
from accord.domain.world import World
from accord.errors import Error
from accord.policy.engine import decide
from accord.serialization.world import load_world

__all__ = ["Decision", "Error", "Record", "World", "__version__", "decide", "load_world"]

__version__ = "0.1.0"
