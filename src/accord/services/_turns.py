"""Turns at a SQLite database's write lock for one process's threads, urgent work first.

SQLite lets one writer in at a time. A connection that finds the lock taken sleeps in
growing steps (1, 2, 5 … 100 ms) before it looks again, so writers waiting for each
other lose tens of milliseconds to those sleeps, in no order. Here the threads of one
process queue on a condition instead: the turn passes at once when it is freed, and a
thread doing urgent work (a FLASH message, inside :func:`urgent`) goes before ordinary
waiters. Between processes (``accord serve``, the CLI, a second server on the same
file) the holder of the turn also holds an exclusive ``flock`` on a file beside the
database (``.writer``), which a waiting process tries every fraction of a millisecond,
so it gets in as soon as the lock is free rather than at its next sleep's end; an urgent
writer holds a shared lock on a second file (``.urgent``) while it waits, and ordinary
writers of every process hold back while anyone does. SQLite's own lock stays the one
that guards the data; this only orders the writers. PostgreSQL locks rows, not the
database, and takes no turns.
"""

from __future__ import annotations

import contextvars
import sys
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Final

from accord.errors import StorageError

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: turns within a process only
    fcntl = None  # type: ignore[assignment]

__all__ = ["WriterTurns", "is_urgent", "turns_for", "urgent", "yield_to_urgent"]

_URGENT: Final = contextvars.ContextVar("accord_urgent", default=False)
# Held weakly: a database's turns (and their open lock files) go with its last Database.
_TURNS: weakref.WeakValueDictionary[str, WriterTurns] = weakref.WeakValueDictionary()
_TURNS_LOCK: Final = threading.Lock()
_RETRY_S: Final = 0.0002
"""How often a process waiting for another's turn tries the lock file again."""


_URGENT_RUNNING: list[int] = [0]  # urgent blocks in progress in this process (all threads)
_URGENT_DONE: Final = threading.Condition()
_SWITCH: list[float] = [0.005]  # the switch interval to restore when the last urgent block ends
_URGENT_SWITCH_S: Final = 0.0005
_YIELD_AT_MOST_S: Final = 0.25
"""The longest ordinary work waits for urgent work at one point (urgent work is short; this bounds a stuck one)."""


@contextmanager
def urgent() -> Iterator[None]:
    """Mark the work in the block (this thread or task) as urgent.

    Its write transactions go first, and ordinary work in this process waits at its next
    :func:`yield_to_urgent` until the block ends: a FLASH message is handled in a few
    milliseconds, so a ROUTINE batch loses little, and the FLASH does not share the
    interpreter with it meanwhile. While any urgent block runs, the interpreter's thread
    switch interval is cut to half a millisecond (it is process-wide): each time the
    urgent thread waits for the database or the network it gets the interpreter back
    within that, not within the default 5 ms, from a thread still between two pauses.
    """
    token = _URGENT.set(True)
    with _URGENT_DONE:
        _URGENT_RUNNING[0] += 1
        if _URGENT_RUNNING[0] == 1:
            _SWITCH[0] = sys.getswitchinterval()
            sys.setswitchinterval(min(_SWITCH[0], _URGENT_SWITCH_S))
    try:
        yield
    finally:
        with _URGENT_DONE:
            _URGENT_RUNNING[0] -= 1
            if not _URGENT_RUNNING[0]:
                sys.setswitchinterval(_SWITCH[0])
            _URGENT_DONE.notify_all()
        _URGENT.reset(token)


def is_urgent() -> bool:
    """Whether the current work is marked urgent."""
    return _URGENT.get()


def yield_to_urgent() -> None:
    """Wait while urgent work runs in this process, unless this is it, or writes to this
    process's SQLite database from another process (at most a quarter of a second each).

    Ordinary work calls this where it holds no write transaction (between messages,
    before a transaction), so the urgent work never waits for it in turn.
    """  # noqa: D205 - the summary needs two lines
    if _URGENT.get():
        return
    if _URGENT_RUNNING[0]:
        with _URGENT_DONE:
            _URGENT_DONE.wait_for(lambda: not _URGENT_RUNNING[0], _YIELD_AT_MOST_S)
    deadline = time.monotonic() + _YIELD_AT_MOST_S
    while any(turns.urgent_elsewhere() for turns in list(_TURNS.values())) and time.monotonic() < deadline:
        time.sleep(_RETRY_S * 5)


class WriterTurns:
    """One process's queue for a database's write lock: one holder, urgent waiters first."""

    def __init__(self, *, timeout: float, database: Path | None = None) -> None:
        """Waiters give up after ``timeout`` seconds (as SQLite's busy timeout would); the lock
        files beside ``database`` order this process's turns with other processes' (none:
        this process only).
        """  # noqa: D205 - the summary needs two lines
        self._timeout = timeout
        self._changed = threading.Condition()
        self._holder: int | None = None
        self._urgent_waiting = 0
        self._lock_file = database
        self._handles: dict[str, IO[bytes]] = {}
        weakref.finalize(self, _close, self._handles)  # the lock files close with the last Database using them

    @contextmanager
    def turn(self, action: str) -> Iterator[None]:
        """Hold the turn for the block; ``action`` names the work in the error.

        Raises:
            StorageError: the thread holds the turn already (a write transaction inside
                another would wait for itself), or the turn did not come in time.
        """
        me, first = threading.get_ident(), is_urgent()
        with self._changed:
            if self._holder == me:
                msg = f"cannot {action}: this thread is already writing to the database"
                raise StorageError(msg, hint="this is a bug in Accord: one write transaction was opened inside another")
            self._urgent_waiting += first
            try:
                got = self._changed.wait_for(
                    lambda: self._holder is None and (first or not self._urgent_waiting), self._timeout
                )
            finally:
                self._urgent_waiting -= first
            if not got:
                raise _locked(action, self._timeout)
            self._holder = me
        try:
            with self._between_processes(action, deadline=time.monotonic() + self._timeout):
                yield
        finally:
            with self._changed:
                self._holder = None
                self._changed.notify_all()

    @contextmanager
    def _between_processes(self, action: str, *, deadline: float) -> Iterator[None]:
        """Hold the writer lock file for the block (this thread holds the process's turn)."""
        if self._lock_file is None or fcntl is None:
            yield
            return
        writer, waiting = self._handle(".writer", action), self._handle(".urgent", action)
        if not is_urgent():
            self._take(writer, action, deadline=deadline, behind=waiting)
            try:
                yield
            finally:
                fcntl.flock(writer, fcntl.LOCK_UN)
            return
        # Held while waiting and writing: other processes' ordinary writers hold back, and
        # their ordinary work pauses at its next yield_to_urgent.
        fcntl.flock(waiting, fcntl.LOCK_SH)
        try:
            self._take(writer, action, deadline=deadline, behind=None)
            try:
                yield
            finally:
                fcntl.flock(writer, fcntl.LOCK_UN)
        finally:
            fcntl.flock(waiting, fcntl.LOCK_UN)

    def urgent_elsewhere(self) -> bool:
        """Whether another process is waiting to write, or writing, urgently (it holds the ``.urgent`` file)."""
        if self._lock_file is None or fcntl is None:
            return False
        try:
            handle = self._handle(".urgent", "look for urgent writers")
        except StorageError:
            return False
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False

    def _take(self, writer: IO[bytes], action: str, *, deadline: float, behind: IO[bytes] | None) -> None:
        """Lock ``writer``, trying again every fraction of a millisecond; first, if ``behind``,
        wait until no urgent writer anywhere is waiting (none holds it shared).
        """  # noqa: D205 - the summary needs two lines
        while True:
            try:
                if behind is not None:
                    fcntl.flock(behind, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    fcntl.flock(behind, fcntl.LOCK_UN)
                fcntl.flock(writer, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise _locked(action, self._timeout) from None
                time.sleep(_RETRY_S)
            else:
                return

    def _handle(self, suffix: str, action: str) -> IO[bytes]:
        """This process's open lock file ``<database>{suffix}`` (opened once, kept open)."""
        if suffix not in self._handles:
            assert self._lock_file is not None  # noqa: S101 - only called with one
            path = self._lock_file.with_name(self._lock_file.name + suffix)
            try:
                self._handles[suffix] = path.open("a+b")
            except OSError as e:
                msg = f"cannot {action}: cannot open the lock file {path}: {e.strerror}"
                raise StorageError(msg, hint="the node's database folder must be writable") from e
        return self._handles[suffix]


def _close(handles: dict[str, IO[bytes]]) -> None:
    for handle in handles.values():
        handle.close()


def _locked(action: str, timeout: float) -> StorageError:
    msg = f"cannot {action}: the database stayed locked by other work for {timeout:.0f} s"
    return StorageError(msg, hint="retry; if it persists, look for a stuck process using the node")


def turns_for(database: Path, *, timeout: float) -> WriterTurns:
    """The process's turns for the SQLite file ``database`` (an absolute path)."""
    key = str(database)
    with _TURNS_LOCK:
        turns = _TURNS.get(key)
        if turns is None:
            turns = _TURNS[key] = WriterTurns(timeout=timeout, database=database)
        return turns
