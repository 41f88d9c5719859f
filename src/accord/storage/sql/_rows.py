"""Row handling the node stores share: numbers, racing inserts, rows that fail to read.

:func:`take_number` hands out the next number of a counter row and keeps the row
locked until the caller's transaction ends. :func:`racing` runs a store's inserts in
a savepoint, so that when another transaction commits the same id first and a unique
constraint refuses, only those inserts are undone, the caller's transaction stays
usable, and the store raises the same clear error its own checks would have.
:func:`unreadable` turns rows that no longer make a valid value into a
``StorageError``. Nothing here commits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn, cast

from sqlalchemy import CursorResult, Table, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Update

from accord.errors import Error, StorageError
from accord.storage import _rules as rules
from accord.storage.sql import node_tables as nt

__all__ = ["PER_QUERY", "racing", "rowcount", "seq_after", "take_number", "unreadable"]

PER_QUERY = 500  # ids bound per IN query: well under every driver's limit on bound parameters


def take_number(session: Session, counter: str, count: int = 1) -> int:
    """The counter's next number (from 0), locking the counter until the transaction ends.

    With ``count`` above one, the first of that many consecutive numbers.

    ``UPDATE ... SET value = value + 1 RETURNING value`` row-locks the counter: a
    second writer waits at this statement until the first commits or rolls back, then
    reads the committed value (PostgreSQL re-checks the row it waited for; SQLite has a
    single writer anyway). So numbers are unique, consecutive, and taken in commit
    order, and a rolled-back writer's number is handed out again: no gaps.
    """
    statement = (
        update(nt.counters)
        .where(nt.counters.c.name == counter)
        .values(value=nt.counters.c.value + count)
        .returning(nt.counters.c.value)
    )
    value = session.execute(statement).scalar_one_or_none()
    if value is None:
        # The migration creates every counter; recreating one could reuse numbers.
        msg = f"the database has no {counter!r} counter: it was changed outside Accord"
        raise StorageError(msg, hint="restore the database from a backup")
    return int(value) - count


def rowcount(session: Session, statement: Update) -> int:
    """Run an UPDATE and return how many rows it changed."""
    return cast("CursorResult[Any]", session.execute(statement)).rowcount


@contextmanager
def racing(session: Session, recheck: Callable[[], None]) -> Iterator[None]:
    """Write inside a savepoint; if a unique constraint refuses, ``recheck`` says why.

    A store checks that an id is free before writing, but another transaction may
    commit the same id in between; the constraint then refuses the insert. PostgreSQL
    aborts a whole transaction on an error outside a savepoint, so the savepoint is
    what keeps the caller's transaction usable. ``recheck`` repeats the store's checks,
    which now see the other transaction's rows and raise the store's own error; if it
    finds nothing, the database's error goes on.
    """
    try:
        with session.begin_nested():
            yield
    except IntegrityError:
        recheck()
        raise


def unreadable(what: str, key: str, error: Exception) -> NoReturn:
    """Refuse rows that no longer make a valid value: they were changed outside Accord."""
    detail = error.message if isinstance(error, Error) else f"{type(error).__name__}: {error}"
    msg = f"the stored {what} {key} no longer reads back: {detail}"
    raise StorageError(msg, hint="its rows were changed outside Accord; restore them from a backup") from error


def seq_after(session: Session, table: Table, key: str | None, what: str) -> int:
    """The number of the row ``key`` names (-1 for no cursor), or UnknownReferenceError."""
    if key is None:
        return -1
    seq: int | None = session.execute(select(table.c.seq).where(table.c.id == key)).scalar_one_or_none()
    return rules.known(seq, what, key)
