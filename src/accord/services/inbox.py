"""What one person may see of the releases at this node: the inbox, the sent list, held record ids.

:class:`Inbox` filters in the service, never in an interface: a received release is
listed only when ``policy.access.may_open`` lets the person open it at the level its
copy is marked with here (after any reclassification); a sent release only when the
person may see a portion of the record it carries (``records.visible_part``). Lists
give no totals, and their cursor is always the id of an item on the page, so a person
learns nothing of what they may not see. Reading a list opens each listed envelope
with the node's keys to learn the record's topics and title; it is not audited (opening
a release's content is, by ``Releases.read``).
"""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy.orm import Session

from accord.crypto import SignedContent, open_sealed
from accord.domain.person import Person
from accord.domain.record import Record
from accord.domain.world import World
from accord.errors import Error, ValidationError
from accord.policy.access import may_open
from accord.services._database import NodeService
from accord.services._release_message import ReleaseMessage, record_of
from accord.services._release_steps import label_of, remarked
from accord.services.node import UnlockedNode, read_identity, utc_now
from accord.services.obligations import latest_levels
from accord.services.records import visible_part
from accord.storage.sql import SqlRecordStore, SqlReleaseStore
from accord.storage.values import MAX_PAGE, Release, ReleaseState

__all__ = ["Inbox", "InboxItem", "InboxPage", "SentItem", "SentPage"]

_SCAN: Final = 200  # releases read per batch while filtering a page for one person
_BAD_CURSOR: Final = "that cursor does not belong to this list"


@dataclass(frozen=True, slots=True, kw_only=True)
class InboxItem:
    """A received release as a person cleared for it sees it in a list: markings, no text."""

    release: Release
    record: Record
    label: dict[str, object]

    def to_dict(self) -> dict[str, object]:
        """JSON form."""
        return {
            "release_id": self.release.id,
            "record_id": self.record.id,
            "title": self.record.title,
            "topics": sorted(self.record.topics),
            "sender": self.release.sender,
            "recipient": self.release.recipient,
            "originator": self.record.originator,
            "route": list(self.release.route),
            "on": self.release.on.isoformat(),
            "state": self.release.state.value,
            "received_at": self.release.created_at,
            "label": self.label,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class InboxPage:
    """One page of the inbox and the cursor for the next (``None`` on the last page)."""

    items: tuple[InboxItem, ...]
    next_cursor: str | None = field(default=None)


@dataclass(frozen=True, slots=True, kw_only=True)
class SentItem:
    """A release sent from here, as a person who may see its record sees it."""

    release: Release
    title: str

    def to_dict(self) -> dict[str, object]:
        """JSON form."""
        return {
            "release_id": self.release.id,
            "record_id": self.release.record_id,
            "title": self.title,
            "sender": self.release.sender,
            "recipient": self.release.recipient,
            "route": list(self.release.route),
            "on": self.release.on.isoformat(),
            "state": self.release.state.value,
            "sent_at": self.release.created_at,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class SentPage:
    """One page of sent releases and the cursor for the next."""

    items: tuple[SentItem, ...]
    next_cursor: str | None = field(default=None)


class Inbox(NodeService):
    """Releases at this node as one person may see them."""

    def received_for(  # noqa: PLR0913 - who, the world and keys, the page
        self,
        person: Person,
        *,
        world: World,
        node: UnlockedNode,
        after: str | None = None,
        limit: int = 50,
        at: dt.datetime | None = None,
    ) -> InboxPage:
        """Up to ``limit`` received releases ``person`` may open, in the order received.

        Raises:
            ValidationError: ``after`` is not a cursor this list could have given.
        """
        on = (at or utc_now()).date()
        limit = _bounded(limit)
        if after is not None:
            with self._db.reading("read the cursor") as session:
                start = SqlReleaseStore(session).get(after)
            received = start is not None and start.state is ReleaseState.RECEIVED
            if start is None or not received or not self._shown(start, person, world, node, on):
                raise ValidationError(_BAD_CURSOR, hint="start again without a cursor")
        shown: list[InboxItem] = []
        scanned, more = after, True
        while more and len(shown) <= limit:
            with self._db.reading("list the inbox") as session:
                batch = SqlReleaseStore(session).list(state=ReleaseState.RECEIVED, after=scanned, limit=_SCAN)
            more = len(batch) == _SCAN
            while batch and len(shown) <= limit:
                # Open only as many as could still fill the page (one past it says there is a
                # next), and read their reclassifications in one transaction.
                chunk, batch = batch[: limit + 1 - len(shown)], batch[limit + 1 - len(shown) :]
                shown += [i for i in self._shown_many(chunk, person, world, node, on) if i is not None]
                scanned = chunk[-1].id
            more = more and not batch and len(shown) <= limit
        items = tuple(shown[:limit])
        return InboxPage(items=items, next_cursor=items[-1].release.id if len(shown) > len(items) else None)

    def sent_for(
        self, person: Person, *, world: World, after: str | None = None, limit: int = 50, at: dt.datetime | None = None
    ) -> SentPage:
        """Up to ``limit`` releases sent from here of records ``person`` may see, in the order sent.

        Raises:
            ValidationError: ``after`` is not a cursor this list could have given.
        """
        on = (at or utc_now()).date()
        limit = _bounded(limit)
        party = read_identity(self._home).party
        if after is not None:
            with self._db.reading("read the cursor") as session:
                start = SqlReleaseStore(session).get(after)
                title = self._own_title(session, start, person, party, world, on) if start else None
            if start is None or start.sender != party or title is None:
                raise ValidationError(_BAD_CURSOR, hint="start again without a cursor")
        shown: list[SentItem] = []
        scanned, more = after, True
        while more and len(shown) <= limit:
            with self._db.reading("list the sent releases") as session:
                batch = SqlReleaseStore(session).list(sender=party, after=scanned, limit=_SCAN)
                more = len(batch) == _SCAN
                for release in batch:
                    title = self._own_title(session, release, person, party, world, on)
                    if title is not None:
                        shown.append(SentItem(release=release, title=title))
                    scanned = release.id
        items = tuple(shown[:limit])
        return SentPage(items=items, next_cursor=items[-1].release.id if len(shown) > len(items) else None)

    def may_open(
        self, person: Person, release_id: str, *, world: World, node: UnlockedNode, at: dt.datetime | None = None
    ) -> bool:
        """Whether ``release_id`` is a release received here that ``person`` may open (not audited)."""
        on = (at or utc_now()).date()
        with self._db.reading("read the release") as session:
            release = SqlReleaseStore(session).get(release_id)
        if release is None or release.state is not ReleaseState.RECEIVED:
            return False
        return self._shown(release, person, world, node, on) is not None

    def hidden(
        self,
        person: Person,
        record_ids: Iterable[str],
        *,
        world: World,
        node: UnlockedNode,
        at: dt.datetime | None = None,
    ) -> builtins.set[str]:
        """Which of ``record_ids`` name a record held here (own or received) that ``person`` may not see.

        Ids of records not held here are not hidden: they are other nodes' records
        (a consent or report names them), and saying nothing about them tells nothing.
        """
        on = (at or utc_now()).date()
        party = node.identity.party
        out: set[str] = set()
        wanted = sorted(set(record_ids))
        with self._db.reading("read the records") as session:
            own = SqlRecordStore(session).get_many(wanted)
        by_record: dict[str, list[Release]] = {}
        scanned, more = None, True
        while more:
            with self._db.reading("read the inbox") as session:
                batch = SqlReleaseStore(session).list(state=ReleaseState.RECEIVED, after=scanned, limit=_SCAN)
            more = len(batch) == _SCAN
            for release in batch:
                if release.record_id in wanted:
                    by_record.setdefault(release.record_id, []).append(release)
                scanned = release.id
        for record_id in wanted:
            stored = own.get(record_id)
            if stored is not None:
                if visible_part(person, stored.record, holder=party, world=world, on=on) is None:
                    out.add(record_id)
            elif record_id in by_record and all(
                self._shown(r, person, world, node, on) is None for r in by_record[record_id]
            ):
                out.add(record_id)
        return out

    # -- helpers ----------------------------------------------------------------------------

    @staticmethod
    def _own_title(  # noqa: PLR0913 - the session, the release, who, and the access inputs
        session: Session, release: Release, person: Person, party: str, world: World, on: dt.date
    ) -> str | None:
        stored = SqlRecordStore(session).get(release.record_id)
        if stored is None:
            return None
        part = visible_part(person, stored.record, holder=party, world=world, on=on)
        return part.title if part is not None else None

    def _shown(
        self, release: Release, person: Person, world: World, node: UnlockedNode, on: dt.date
    ) -> InboxItem | None:
        """The list item for ``person``, or ``None`` when they may not open the release."""
        return self._shown_many([release], person, world, node, on)[0]

    def _shown_many(
        self, releases: Sequence[Release], person: Person, world: World, node: UnlockedNode, on: dt.date
    ) -> list[InboxItem | None]:
        """:meth:`_shown` of each release: opened first, then every reclassification read in one transaction."""
        opened: list[tuple[Release, Record, dict[str, Any]] | None] = []
        for release in releases:
            try:
                message = ReleaseMessage.from_bytes(release.envelope)
                fingerprint = world.agreement(message.agreement[0]).fingerprint
                keys = node.kem_private_keys()
                payload = open_sealed(message.sealed.envelope, keys, agreement_fingerprint=fingerprint)
                content: dict[str, Any] = dict(SignedContent.from_bytes(payload).content)
                opened.append((release, record_of(content), content))
            except (Error, KeyError, ValueError):
                opened.append(None)  # a copy that does not open (keys rotated out, world changed) is shown to nobody
        changes: list[dict[str, str]] = []
        if any(opened):
            with self._db.reading("read the reclassifications") as session:
                changes = [
                    latest_levels(session, o[1].id, originator=o[1].originator) if o is not None else {} for o in opened
                ]
        return [
            self._item(o, changed, person, world, node.identity.party, on) if o is not None else None
            for o, changed in zip(opened, changes or [{}] * len(opened), strict=True)
        ]

    @staticmethod
    def _item(  # noqa: PLR0913 - the opened release, its reclassification, who, the world, the holder, the day
        opened: tuple[Release, Record, dict[str, Any]],
        changed: dict[str, str],
        person: Person,
        world: World,
        party: str,
        on: dt.date,
    ) -> InboxItem | None:
        release, record, content = opened
        try:
            label = label_of(release)
            if changed:
                release_on = dt.date.fromisoformat(str(content["on"]))
                label = remarked(record, changed, holder=party, on=release_on, world=world)
            access = may_open(
                person, holder=party, level=str(label["recipient_level"]), topics=record.topics, on=on, world=world
            )
        except (Error, KeyError, ValueError):
            return None
        return InboxItem(release=release, record=record, label=label) if access else None


def _bounded(limit: int) -> int:
    return max(1, min(limit, MAX_PAGE - 1))
