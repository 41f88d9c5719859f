"""Noticing, within milliseconds, that a FLASH has become due for some peer.

The delivery loop sends batches of the other precedences one after another; a FLASH
sealed meanwhile (by another process too: ``accord records release``, another API
worker) must not wait for them. Whoever commits a FLASH release or queues a FLASH
message then calls :func:`signal_flash`, which touches a file in the node's home; the
FLASH lane (``exchange.DeliveryLoop``) checks that file's time every
``SIGNAL_POLL_SECONDS`` (a ``stat``, no database) and, when it moved, or at the latest
every ``LOOK_SECONDS`` (a FLASH whose retry came due; a writer on another host of a
PostgreSQL node), asks :meth:`FlashWatch.due`. A look reads only the releases added
since the last (a range of their commit-ordered number) and the first due FLASH item of
each pinned peer, in a read-only transaction (no write lock on SQLite), so it costs the
same however long the backlog is. Neither sends, queues or changes anything: the lane
then sweeps and sends as always (every protocol check unchanged).
"""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path
from typing import Final

from accord.services._database import Database
from accord.storage.federation import stamp
from accord.storage.sql import SqlFederationStore, SqlReleaseStore

__all__ = [
    "FLASH_RANKS",
    "LOOK_SECONDS",
    "OTHER_RANKS",
    "SIGNAL_POLL_SECONDS",
    "FlashSignal",
    "FlashWatch",
    "signal_flash",
]

SIGNAL_POLL_SECONDS: Final = 0.002
"""How often the lane checks the signal file: one ``stat``."""
LOOK_SECONDS: Final = 0.25
"""How often it looks in the database without a signal."""
_SIGNAL_FILE: Final = "flash.signal"
FLASH_RANKS: Final = range(1)
"""Outbox ranks the FLASH lane sends (0, FLASH)."""
OTHER_RANKS: Final = range(1, 4)
"""The ranks the delivery loop sends beside it (IMMEDIATE, PRIORITY, ROUTINE)."""


class FlashWatch:
    """Whether a FLASH became due since the last look: sealed here for a peer, or queued and due."""

    def __init__(self, database: Database, *, sender: str) -> None:
        """Watch from now on; the lane's first run sends whatever was due before."""
        self._db, self._sender = database, sender
        with self._db.reading("read the last release number") as session:
            self._cursor = SqlReleaseStore(session).last_number()

    def due(self, *, at: dt.datetime) -> bool:
        """A look: whether a FLASH release was sealed since the last, or a FLASH item is due at ``at``."""
        with self._db.reading("look for a FLASH") as session:
            self._cursor, sealed = SqlReleaseStore(session).flash_sealed_after(self._sender, after=self._cursor)
            if sealed:
                return True
            store, when = SqlFederationStore(session), stamp(at)
            return any(store.pending(p.party, due_at=when, limit=1, ranks=FLASH_RANKS) for p in store.peers())


def signal_flash(home: Path) -> None:
    """Tell the node's FLASH lane (any process on this host) that a FLASH is waiting: touch the signal file.

    Best effort: a signal that cannot be written is caught by the lane's next look.
    """
    now = time.time_ns()
    try:
        (home / _SIGNAL_FILE).touch()
        os.utime(home / _SIGNAL_FILE, ns=(now, now))
    except OSError:
        return


class FlashSignal:
    """Whether the signal file was touched since the last check."""

    def __init__(self, home: Path) -> None:
        """Watch the signal file in ``home`` from now on."""
        self._path = home / _SIGNAL_FILE
        self._seen = self._stamp()

    def _stamp(self) -> int:
        try:
            return self._path.stat().st_mtime_ns
        except OSError:
            return 0

    def changed(self) -> bool:
        """Whether it was touched since the last call (or since this watch began)."""
        stamp = self._stamp()
        if stamp == self._seen:
            return False
        self._seen = stamp
        return True
