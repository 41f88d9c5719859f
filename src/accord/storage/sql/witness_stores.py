"""Checkpoint witnessing in SQL: :class:`SqlWitnessStore` (heads, alarms, cosignatures).

Rows map to the values of :mod:`accord.storage.witness`; a row that no longer reads
back is a ``StorageError``. A head is replaced in place (one row per peer); alarms
are only ever added and then resolved, never deleted; a cosignature already kept for
a witness and size is left as it is, and a racing insert of the same key is caught
in a savepoint. Nothing here commits, signs or reads the clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import RowMapping, insert, select, update
from sqlalchemy.orm import Session

from accord.errors import Error, ValidationError
from accord.storage import _rules as rules
from accord.storage.federation import check_stamp
from accord.storage.sql import witness_tables as wt
from accord.storage.sql._rows import racing, rowcount, unreadable
from accord.storage.witness import Alarm, KeptCosignature, WitnessedHead

__all__ = ["SqlWitnessStore"]

_MAX_RESOLUTION = 500


class SqlWitnessStore:
    """The witnessing tables through the caller's session."""

    def __init__(self, session: Session) -> None:
        """Use ``session``; its owner commits or rolls back."""
        self._session = session

    # -- heads seen from peers --------------------------------------------------------

    def head(self, peer: str) -> WitnessedHead | None:
        """The last head accepted from ``peer``, or ``None``."""
        row = self._session.execute(select(wt.witness_heads).where(wt.witness_heads.c.peer == peer)).mappings()
        found = row.first()
        return None if found is None else _head(found)

    def heads(self) -> Sequence[WitnessedHead]:
        """The last head of every peer, by peer."""
        rows = self._session.execute(select(wt.witness_heads).order_by(wt.witness_heads.c.peer)).mappings()
        return [_head(row) for row in rows]

    def set_head(self, head: WitnessedHead) -> None:
        """Store the peer's last accepted head, replacing the one before."""
        row = {
            "peer": head.peer,
            "size": head.size,
            "root": head.root,
            "checkpoint_at": head.checkpoint_at,
            "signature": head.signature,
            "message_id": head.message_id,
            "received_at": head.received_at,
        }
        h = wt.witness_heads
        if rowcount(self._session, update(h).where(h.c.peer == head.peer).values(**row)):
            return

        def check() -> None:
            rules.refuse_duplicate("witnessed head of", head.peer)

        with racing(self._session, check):
            self._session.execute(insert(h).values(**row))

    # -- alarms -------------------------------------------------------------------------

    def add_alarm(self, alarm: Alarm) -> Alarm:
        """Keep an alarm; the stored one with its id."""
        row = {
            "peer": alarm.peer,
            "kind": alarm.kind.value,
            "reason": alarm.reason,
            "seen_size": alarm.seen_size,
            "claimed_size": alarm.claimed_size,
            "evidence": alarm.evidence,
            "message_id": alarm.message_id,
            "raised_at": alarm.raised_at,
            "resolved_at": alarm.resolved_at,
            "resolution": alarm.resolution,
        }
        statement = insert(wt.witness_alarms).values(**row).returning(wt.witness_alarms.c.id)
        return replace(alarm, id=int(self._session.execute(statement).scalar_one()))

    def alarms(self, *, open_only: bool = False, peer: str | None = None) -> Sequence[Alarm]:
        """Alarms, oldest first."""
        a = wt.witness_alarms.c
        query = select(wt.witness_alarms).order_by(a.id)
        if open_only:
            query = query.where(a.resolved_at.is_(None))
        if peer is not None:
            query = query.where(a.peer == peer)
        return [_alarm(row) for row in self._session.execute(query).mappings()]

    def resolve_alarm(self, alarm_id: int, *, at: str, resolution: str) -> Alarm:
        """Close an open alarm with a note."""
        check_stamp(at, "at")
        note = resolution.strip()
        if not note or len(note) > _MAX_RESOLUTION:
            msg = f"a resolution says what was done, in 1 to {_MAX_RESOLUTION} characters"
            raise ValidationError(msg, hint='e.g. --note "peer restored its log from backup; checked by phone"')
        a = wt.witness_alarms
        row = self._session.execute(select(a).where(a.c.id == alarm_id)).mappings().first()
        alarm = rules.known(None if row is None else _alarm(row), "alarm", alarm_id)
        if not alarm.open:
            msg = f"alarm {alarm_id} was resolved already, at {alarm.resolved_at}"
            raise ValidationError(msg)
        self._session.execute(
            update(a).where(a.c.id == alarm_id, a.c.resolved_at.is_(None)).values(resolved_at=at, resolution=note)
        )
        return replace(alarm, resolved_at=at, resolution=note)

    # -- cosignatures of this node's heads ----------------------------------------------

    def add_cosignature(self, cosignature: KeptCosignature) -> bool:
        """Keep a cosignature unless that witness's one of that size is kept already."""
        if self._cosignature(cosignature.witness, cosignature.size) is not None:
            return False
        row = {
            "witness": cosignature.witness,
            "size": cosignature.size,
            "root": cosignature.root,
            "checkpoint_at": cosignature.checkpoint_at,
            "cosigned_at": cosignature.cosigned_at,
            "cosignature": cosignature.cosignature,
            "message_id": cosignature.message_id,
            "received_at": cosignature.received_at,
        }

        def check() -> None:
            if self._cosignature(cosignature.witness, cosignature.size) is not None:
                rules.refuse_duplicate(f"cosignature by {cosignature.witness} of size", cosignature.size)

        with racing(self._session, check):
            self._session.execute(insert(wt.cosignatures).values(**row))
        return True

    def cosignatures(self, *, witness: str | None = None) -> Sequence[KeptCosignature]:
        """Cosignatures kept, by witness then size."""
        c = wt.cosignatures.c
        query = select(wt.cosignatures).order_by(c.witness, c.size)
        if witness is not None:
            query = query.where(c.witness == witness)
        return [_cosignature(row) for row in self._session.execute(query).mappings()]

    def last_cosignature(self, witness: str) -> KeptCosignature | None:
        """The cosignature of the largest head ``witness`` co-signed, or ``None``."""
        c = wt.cosignatures.c
        query = select(wt.cosignatures).where(c.witness == witness).order_by(c.size.desc()).limit(1)
        row = self._session.execute(query).mappings().first()
        return None if row is None else _cosignature(row)

    def _cosignature(self, witness: str, size: int) -> KeptCosignature | None:
        c = wt.cosignatures.c
        row = self._session.execute(select(wt.cosignatures).where(c.witness == witness, c.size == size)).mappings()
        found = row.first()
        return None if found is None else _cosignature(found)


def _read(kind: type[Any], what: str, key: str, row: RowMapping) -> Any:  # noqa: ANN401 - one of the values
    try:
        return kind(**{k: bytes(v) if isinstance(v, memoryview) else v for k, v in dict(row).items()})
    except (Error, ValueError) as e:
        unreadable(what, key, e)


def _head(row: RowMapping) -> WitnessedHead:
    head: WitnessedHead = _read(WitnessedHead, "witnessed head of", str(row["peer"]), row)
    return head


def _alarm(row: RowMapping) -> Alarm:
    alarm: Alarm = _read(Alarm, "alarm", str(row["id"]), row)
    return alarm


def _cosignature(row: RowMapping) -> KeptCosignature:
    kept: KeptCosignature = _read(KeptCosignature, "cosignature by", f"{row['witness']} of size {row['size']}", row)
    return kept
