"""The audit log in SQL: :class:`SqlAuditStore`.

Entries are kept as their canonical bytes with their RFC 9162 leaf hash, numbered by
the ``audit_entries`` counter: the row lock taken with a number keeps numbers
consecutive and unique with several writers, and in the order their transactions
commit (see ``_writes.take_number``). Signed checkpoints are kept one per tree size.

Reading returns the stored bytes as they are, never decoded, so that verification
(``accord.audit.chain``) sees exactly what is stored. The store never commits, signs,
or computes tree roots.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import RowMapping, exists, insert, select
from sqlalchemy.orm import Session

from accord.audit.checkpoint import Checkpoint
from accord.audit.entry import AuditEntry
from accord.audit.merkle import leaf_hash
from accord.errors import Error, StorageError
from accord.storage import _rules as rules
from accord.storage.sql import node_tables as nt
from accord.storage.sql._rows import racing, take_number, unreadable
from accord.storage.values import Signed

__all__ = ["SqlAuditStore"]


class SqlAuditStore:
    """The node's audit log in a SQL database, through the caller's session."""

    def __init__(self, session: Session) -> None:
        """Use ``session`` for every statement; its owner commits or rolls back."""
        self._session = session

    def append(self, entry_for: Callable[[int], AuditEntry]) -> AuditEntry:
        """Append the entry ``entry_for`` builds for the next number (see ``AuditStore.append``).

        The number stays locked until the caller's transaction ends: append last.
        """
        # The savepoint gives the number back if entry_for raises or builds a wrong
        # entry, so a caller that goes on and commits leaves no gap.
        with self._session.begin_nested():
            seq = take_number(self._session, nt.AUDIT)
            entry = entry_for(seq)
            rules.check_built(entry, seq)
            data = entry.to_bytes()
            self._session.execute(insert(nt.audit_entries).values(seq=seq, entry=data, leaf_hash=leaf_hash(data)))
        return entry

    def append_many(self, entries_for: Sequence[Callable[[int], AuditEntry]]) -> list[AuditEntry]:
        """Append one entry per builder, numbered consecutively (see ``AuditStore.append_many``)."""
        if not entries_for:
            return []
        with self._session.begin_nested():
            first = take_number(self._session, nt.AUDIT, len(entries_for))
            built = []
            rows = []
            for offset, build in enumerate(entries_for):
                entry = build(first + offset)
                rules.check_built(entry, first + offset)
                data = entry.to_bytes()
                built.append(entry)
                rows.append({"seq": entry.seq, "entry": data, "leaf_hash": leaf_hash(data)})
            self._session.execute(insert(nt.audit_entries), rows)
        return built

    def count(self) -> int:
        """The number of entries (the counter, not a scan of the log)."""
        query = select(nt.counters.c.value).where(nt.counters.c.name == nt.AUDIT)
        value: int | None = self._session.execute(query).scalar_one_or_none()
        if value is None:
            msg = f"the database has no {nt.AUDIT!r} counter: it was changed outside Accord"
            raise StorageError(msg, hint="restore the database from a backup")
        return value

    def entries(self, start: int = 0, stop: int | None = None) -> Sequence[bytes]:
        """The stored bytes of entries ``start`` to ``stop - 1`` (to the end if ``None``)."""
        rules.check_range(start, stop)
        e = nt.audit_entries
        query = select(e.c.entry).where(e.c.seq >= start)
        if stop is not None:
            query = query.where(e.c.seq < stop)
        return [bytes(data) for data in self._session.execute(query.order_by(e.c.seq)).scalars()]

    def leaf_hashes_packed(self, start: int = 0) -> bytes:
        """Stored leaf hashes from ``start`` on, 32 bytes each, in order."""
        rules.check_range(start, None)
        e = nt.audit_entries
        query = select(e.c.leaf_hash).where(e.c.seq >= start).order_by(e.c.seq)
        return b"".join(self._session.execute(query).scalars())

    def add_checkpoint(self, checkpoint: Checkpoint, signature: bytes) -> None:
        """Keep a signed checkpoint (see ``AuditStore.add_checkpoint``)."""
        Signed(value=checkpoint, signature=signature)  # the same checks as every signed value
        rules.check_checkpoint_size(checkpoint.size, self.count())
        self._check_free(checkpoint.size)
        with racing(self._session, lambda: self._check_free(checkpoint.size)):
            self._session.execute(
                insert(nt.audit_checkpoints).values(
                    size=checkpoint.size,
                    origin=checkpoint.origin,
                    root=checkpoint.root,
                    at=checkpoint.at,
                    signature=signature,
                )
            )

    def _check_free(self, size: int) -> None:
        if self._session.execute(select(exists().where(nt.audit_checkpoints.c.size == size))).scalar():
            rules.refuse_duplicate("checkpoint of size", size)

    def latest_checkpoint(self) -> Signed[Checkpoint] | None:
        """The checkpoint of the largest size, or ``None``."""
        c = nt.audit_checkpoints
        row = self._session.execute(select(c).order_by(c.c.size.desc()).limit(1)).mappings().one_or_none()
        return _checkpoint(row) if row is not None else None

    def checkpoint_at(self, size: int) -> Signed[Checkpoint] | None:
        """The checkpoint of exactly ``size`` entries, or ``None``."""
        c = nt.audit_checkpoints
        row = self._session.execute(select(c).where(c.c.size == size)).mappings().one_or_none()
        return _checkpoint(row) if row is not None else None

    def checkpoints(self) -> Sequence[Signed[Checkpoint]]:
        """Every checkpoint kept, smallest size first."""
        c = nt.audit_checkpoints
        return [_checkpoint(row) for row in self._session.execute(select(c).order_by(c.c.size)).mappings()]


def _checkpoint(row: RowMapping) -> Signed[Checkpoint]:
    try:
        checkpoint = Checkpoint(origin=row["origin"], size=row["size"], root=row["root"], at=row["at"])
        return Signed(value=checkpoint, signature=bytes(row["signature"]))
    except Error as e:
        unreadable("checkpoint of size", str(row["size"]), e)
