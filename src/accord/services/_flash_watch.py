"""Noticing, within milliseconds, that a FLASH has become due for some peer.

The delivery loop sends batches of the other precedences one after another; a FLASH
sealed meanwhile (by another process too: ``accord records release``, another API
worker) must not wait for them. Whoever commits a FLASH release or queues a FLASH
message then calls :func:`signal_flash`, which writes a byte to a named pipe in the
node's home; the FLASH lane (``exchange.DeliveryLoop``) waits on that pipe
(:class:`FlashSignal`, no CPU while nothing comes) and, when signalled, or at the latest
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
import select
import stat
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
    "FlashSignal",
    "FlashWatch",
    "signal_flash",
]

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
    """Tell the node's FLASH lane (in any process on this host) that a FLASH is waiting.

    Writes a byte to the lane's pipe in the node's home. Best effort: with no lane
    listening, or the pipe full of earlier signals, there is nothing to do, and a
    signal that cannot be written is caught by the lane's next look.
    """
    try:
        handle = os.open(home / _SIGNAL_FILE, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:  # no pipe, or no lane reading it (ENXIO)
        return
    try:
        os.write(handle, b"!")
    except OSError:  # full: the lane has signals waiting already
        pass
    finally:
        os.close(handle)


class FlashSignal:
    """The FLASH lane's end of the signal pipe (a named pipe in the node's home): wait until signalled.

    The lane holds the pipe open for reading and writing, so it never reads an end of
    file when no signaller has it open. Where named pipes do not exist, :meth:`wait`
    only sleeps: the lane then finds a FLASH at its next look.
    """

    def __init__(self, home: Path) -> None:
        """Open (making it if needed) the pipe in ``home``; signals from now on count."""
        self._path = home / _SIGNAL_FILE
        self._handle: int | None = None
        if not hasattr(os, "mkfifo"):  # pragma: no cover - not POSIX
            return
        try:
            if self._path.exists() and not stat.S_ISFIFO(self._path.stat().st_mode):
                self._path.unlink()  # a stale file of another kind: the pipe replaces it
            if not self._path.exists():
                os.mkfifo(self._path, 0o600)
            self._handle = os.open(self._path, os.O_RDWR | os.O_NONBLOCK)
        except FileExistsError:  # another process made it first
            self._handle = os.open(self._path, os.O_RDWR | os.O_NONBLOCK)
        except OSError:
            self._handle = None
        self._drain()

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for a signal; whether one came (every waiting signal is taken)."""
        if self._handle is None:
            time.sleep(timeout)
            return False
        ready, _, _ = select.select([self._handle], [], [], timeout)
        return bool(ready) and self._drain()

    def _drain(self) -> bool:
        got = False
        while self._handle is not None:
            try:
                got = bool(os.read(self._handle, 4096)) or got
            except BlockingIOError:
                break
        return got

    def close(self) -> None:
        """Stop listening."""
        if self._handle is not None:
            os.close(self._handle)
            self._handle = None
