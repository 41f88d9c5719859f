"""Noticing, while a batch is in flight, that a FLASH has become due for a peer.

A delivery run sends a ROUTINE batch and waits for its receipts; a FLASH sealed
meanwhile (by another process too: ``accord records release``, another API worker)
must not wait for that batch to be answered. :class:`FlashWatch` is asked every few
milliseconds while the run waits; it reads only the releases added since it last
looked (a range of their commit-ordered number) and the first due outbox item of the
peer, so each look costs about the same however long the backlog is. It only says
how many to sweep: the run then sweeps and picks the batch as always (FLASH first, every
protocol check unchanged). It does not send, queue or change anything itself.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from accord.domain.record import Precedence
from accord.federation.delivery import rank
from accord.services._database import Database
from accord.storage.federation import stamp
from accord.storage.sql import SqlFederationStore, SqlReleaseStore

__all__ = ["POLL_SECONDS", "FlashWatch"]

POLL_SECONDS: Final = 0.005
"""How often a run waiting on a batch looks for a new FLASH: a look is two small indexed reads."""

_FLASH_RANK: Final = rank(Precedence.FLASH)


class FlashWatch:
    """Whether a FLASH became due for ``peer`` since the last look (sealed here, or queued)."""

    def __init__(self, database: Database, *, peer: str, sender: str, at: dt.datetime) -> None:
        """Watch from now on: releases added before this call are the sweep's already."""
        self._db, self._peer, self._sender, self._due_at = database, peer, sender, stamp(at)
        with self._db.transaction("read the last release number") as session:
            self._cursor = SqlReleaseStore(session).last_number()

    @property
    def peer(self) -> str:
        """The peer watched for."""
        return self._peer

    def due(self) -> int | None:
        """A look: how many FLASH releases were sealed since the last (for the sweep to take), or 0 when
        a FLASH item is already queued and due; ``None`` when there is no FLASH to send.
        """  # noqa: D205 - the summary needs two lines
        with self._db.transaction("look for a FLASH") as session:
            self._cursor, sealed = SqlReleaseStore(session).flash_sealed_after(self._sender, after=self._cursor)
            if sealed:
                return sealed
            first = SqlFederationStore(session).pending(self._peer, due_at=self._due_at, limit=1)
        return 0 if first and first[0].rank == _FLASH_RANK else None
