"""The record and release commands' one interface, on the local node or on a node's API.

:class:`RecordDesk` is what ``accord records create|list|show|release|inbox|sent|open``
need; a command picks :class:`LocalRecordDesk` (the node's own database, keys and
world) or :class:`RemoteRecordDesk` (``--server``: the node's HTTP API through
``services.node_client``) once, and prints the result values here the same way
whichever answered. The values hold the services' JSON forms, which the API answers
with, so the two print the same for the same data. What legitimately differs: on the
API the person is the token's holder, so lists and reads hold only what that person
may see (a record or release they may not see answers like a missing one); file
portions and ``--out`` directories are local only.
"""

from __future__ import annotations

import base64
import builtins
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol, Self
from urllib.parse import quote

from accord.domain.person import Person
from accord.domain.world import World
from accord.errors import ValidationError
from accord.services._release_message import ReleaseMessage
from accord.services._release_steps import portion_rows
from accord.services.cursors import encode_cursor
from accord.services.node import NodeIdentity, unlock
from accord.services.peers import Peers
from accord.services.records import RecordDraft, Records
from accord.services.releases import ReleaseRequest, Releases, write_message_file
from accord.services.world import open_world
from accord.storage.values import MAX_PAGE, Release, check_page

if TYPE_CHECKING:
    from accord.services.node_client import NodeClient  # httpx loads only for --server

__all__ = [
    "CreatedRecord",
    "LocalRecordDesk",
    "OpenedView",
    "RecordDesk",
    "RecordRow",
    "RecordRows",
    "ReleaseResult",
    "ReleaseRow",
    "RemoteRecordDesk",
    "ShownRecord",
]

_API_PAGE: Final = 200  # the API's largest page (api.pagination.MAX_LIMIT)


@dataclass(frozen=True, slots=True, kw_only=True)
class CreatedRecord:
    """A record just written: its id and how many portions it has."""

    id: str
    portions: int

    def to_dict(self) -> dict[str, object]:
        """JSON form."""
        return {"id": self.id, "portions": self.portions}


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordRow:
    """A record in a list: id, title, precedence, when added."""

    id: str
    title: str
    precedence: str
    added_at: str

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RecordRow:
        """From a record's JSON form (``RecordView.to_dict``)."""
        return cls(id=data["id"], title=data["title"], precedence=data["precedence"], added_at=data["added_at"])


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordRows:
    """A page of records and the id to continue after (``None`` on the last page)."""

    items: tuple[RecordRow, ...]
    next_cursor: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ShownRecord:
    """One record as ``RecordView.to_dict`` gives it: markings, and once opened the portions' bodies."""

    data: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class ReleaseResult:
    """A release's outcome as ``ReleaseOutcome.to_dict`` gives it, and where its message was written."""

    data: dict[str, Any]
    out: Path | None = None

    @property
    def allowed(self) -> bool:
        """Whether a release was sealed."""
        return self.data.get("release") is not None

    def to_dict(self) -> dict[str, object]:
        """JSON form: the decision, the release when sealed, and ``out``."""
        return self.data | {"out": str(self.out) if self.out else None}


@dataclass(frozen=True, slots=True, kw_only=True)
class ReleaseRow:
    """A release in the inbox or the sent list."""

    id: str
    record_id: str
    sender: str
    recipient: str
    route: tuple[str, ...]
    on: str
    state: str

    @classmethod
    def of(cls, release: Release) -> ReleaseRow:
        """From a stored release."""
        return cls(
            id=release.id,
            record_id=release.record_id,
            sender=release.sender,
            recipient=release.recipient,
            route=release.route,
            on=release.on.isoformat(),
            state=release.state.value,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReleaseRow:
        """From an API list item (``InboxItem`` / ``SentItem.to_dict``)."""
        return cls(
            id=data["release_id"],
            record_id=data["record_id"],
            sender=data["sender"],
            recipient=data["recipient"],
            route=tuple(data["route"]),
            on=data["on"],
            state=data["state"],
        )

    def to_dict(self) -> dict[str, object]:
        """JSON form (the route joined with ``>``)."""
        return {
            "id": self.id,
            "record_id": self.record_id,
            "sender": self.sender,
            "recipient": self.recipient,
            "route": ">".join(self.route),
            "on": self.on,
            "state": self.state,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenedView:
    """An attempt to open a received release, as ``OpenedRelease.to_dict`` gives it."""

    data: dict[str, Any]

    @property
    def allowed(self) -> bool:
        """Whether the person may read it."""
        return bool(self.data.get("allowed"))

    def banner(self) -> str:
        """The marking line the reader sees first."""
        return str((self.data.get("label") or {}).get("text", ""))

    def heading(self) -> str:
        """The record's id and title."""
        record = self.data.get("record") or {}
        return f"{record.get('id', '')}: {record.get('title', '')}"

    def portion_rows(self) -> list[tuple[str, str, str]]:
        """(portion id, originator's level, text or the file's name and where it went)."""
        return portion_rows(self.data.get("portions", []))


class RecordDesk(Protocol):
    """What the record and release commands do, wherever the node is."""

    def create(self, draft: RecordDraft, *, author: Person | None = None) -> CreatedRecord:
        """Write a record."""
        ...

    def list(self, *, after: str | None, limit: int) -> RecordRows:
        """Records in the order added, after the record ``after``."""
        ...

    def show(self, record_id: str, *, bodies: bool, out: Path | None, force: bool) -> ShownRecord:
        """A record's markings; with ``bodies`` its text; with ``out`` its files written there."""
        ...

    def release(self, request: ReleaseRequest, *, next_hop: NodeIdentity | None, out: Path | None) -> ReleaseResult:
        """Decide and, when allowed, seal a release; write its message to ``out``."""
        ...

    def releases(self, *, received: bool, after: str | None, limit: int) -> tuple[ReleaseRow, ...]:
        """The inbox (``received``) or the releases sent."""
        ...

    def open(self, release_id: str, *, person: Person | None, out: Path | None, force: bool) -> OpenedView:
        """Show a received release to a person."""
        ...

    def close(self) -> None:
        """Release what the desk holds."""
        ...

    def __enter__(self) -> Self:
        """Use as a context manager."""
        ...

    def __exit__(self, *_: object) -> None:
        """Close."""
        ...


def _refuse_existing(out: Path | None) -> None:
    if out is not None and out.exists():
        msg = f"{out} exists; refusing to overwrite it"
        raise ValidationError(msg, hint="choose another --out path")


@dataclass(slots=True, kw_only=True)
class LocalRecordDesk:
    """The node's own database, key files and world (``ACCORD_HOME`` and friends)."""

    database_url: str
    home: Path
    passphrase: str | None
    world_path: Path | None = None  # --world
    env_world: Path | None = None  # $ACCORD_WORLD
    unsafe_fast_kdf: bool = False  # UNSAFE, tests only: key files made with the test-only cost open

    def _world(self) -> World:
        """The world the command works on (``services.world.SOURCE_RULE``), read when needed."""
        return open_world(path=self.world_path, env_path=self.env_world, database_url=self.database_url).world

    def _records(self) -> Records:
        return Records.open(database_url=self.database_url, home=self.home, unsafe_fast_kdf=self.unsafe_fast_kdf)

    def _releases(self) -> Releases:
        return Releases.open(database_url=self.database_url, home=self.home, unsafe_fast_kdf=self.unsafe_fast_kdf)

    def create(self, draft: RecordDraft, *, author: Person | None = None) -> CreatedRecord:
        """Write a record of this node, its bodies encrypted at rest (needs the passphrase)."""
        world = self._world()
        with self._records() as records:
            record = records.create(draft, world=world, passphrase=self.passphrase, author=author)
        return CreatedRecord(id=record.id, portions=len(record.portions))

    def list(self, *, after: str | None, limit: int) -> RecordRows:
        """Every record of the node (no passphrase needed)."""
        with self._records() as records:
            page = records.list(after=after, limit=limit)
        rows = tuple(
            RecordRow(id=s.record.id, title=s.record.title, precedence=s.record.precedence.value, added_at=s.added_at)
            for s in page.items
        )
        return RecordRows(items=rows, next_cursor=page.next_cursor)

    def show(self, record_id: str, *, bodies: bool, out: Path | None, force: bool) -> ShownRecord:
        """A record of the node; bodies need the passphrase; ``out`` gets its files."""
        opening = bodies or out is not None
        with self._records() as records:
            view = records.show(record_id, passphrase=self.passphrase if opening else None, out=out, force=force)
        if opening and view.bodies is None:
            msg = "no passphrase for the node's private keys"
            raise ValidationError(msg, hint="set ACCORD_KEY_PASSPHRASE to read the bodies")
        return ShownRecord(data=view.to_dict())

    def release(self, request: ReleaseRequest, *, next_hop: NodeIdentity | None, out: Path | None) -> ReleaseResult:
        """Seal for ``next_hop`` or, without it, for the pinned peer (the release waits in the outbox)."""
        _refuse_existing(out)
        world = self._world()
        node = unlock(self.home, self.passphrase, unsafe_fast_kdf=self.unsafe_fast_kdf)
        if next_hop is not None:
            next_hops = {next_hop.party: next_hop.public}
        else:
            with Peers.open(database_url=self.database_url, home=self.home) as peers:
                next_hops = peers.next_hops()
        with self._releases() as service:
            (outcome,) = service.release_many([request], world=world, node=node, next_hops=next_hops)
        if outcome.message is not None and out is not None:
            write_message_file(out, outcome.message, outcome.attachments)
        return ReleaseResult(data=outcome.to_dict(), out=out)

    def releases(self, *, received: bool, after: str | None, limit: int) -> tuple[ReleaseRow, ...]:
        """Every release received here, or sent from here."""
        with self._releases() as service:
            return tuple(ReleaseRow.of(r) for r in service.list(received=received, after=after, limit=limit))

    def open(self, release_id: str, *, person: Person | None, out: Path | None, force: bool) -> OpenedView:
        """Show a received release to the person the operator describes."""
        if person is None:
            msg = "say who is reading: --person ID --nationality PARTY (and --clearance, --need-to-know)"
            raise ValidationError(msg, hint="against a node's API (--server) the reader is the token's holder")
        world = self._world()
        node = unlock(self.home, self.passphrase, unsafe_fast_kdf=self.unsafe_fast_kdf)
        with self._releases() as service:
            opened = service.read(release_id, person=person, world=world, node=node, out=out, force=force)
        return OpenedView(data=opened.to_dict())

    def close(self) -> None:
        """Nothing is held between calls."""

    def __enter__(self) -> Self:
        """Use as a context manager."""
        return self

    def __exit__(self, *_: object) -> None:
        """Close."""
        self.close()


def _local_only(*, option: str, what: str) -> ValidationError:
    """``option`` refused with --server, saying why (an error to raise)."""
    return ValidationError(
        f"{option} is not available with --server: {what}",
        hint="run the command on the node itself (without --server) for that",
    )


class RemoteRecordDesk:
    """A node's HTTP API as the holder of the API token; needs no local home, passphrase or database."""

    def __init__(self, client: NodeClient) -> None:
        """Speak through ``client``."""
        self._client = client

    def create(self, draft: RecordDraft, *, author: Person | None = None) -> CreatedRecord:
        """``POST /records``: text portions, the token's holder the author."""
        if author is not None:
            msg = "the author of a record written through the API is the token's holder"
            raise ValidationError(msg)
        if any(p.path is not None for p in draft.portions):
            raise _local_only(option="--portion-file", what="the API takes text portions only")
        body: dict[str, object] = {
            "title": draft.title,
            "topics": list(draft.topics),
            "portions": [{"level": p.level, "rel_to": list(p.rel_to), "text": p.text} for p in draft.portions],
            "purpose": draft.purpose,
            "precedence": draft.precedence,
        }
        data = self._client.post("/records", body)
        return CreatedRecord(id=data["id"], portions=data["portions"])

    def _pages(self, path: str, *, after: str | None, limit: int) -> tuple[Sequence[dict[str, Any]], bool]:
        """Up to ``limit`` items of a list, page by page, and whether there are more."""
        items: builtins.list[dict[str, Any]] = []
        cursor = encode_cursor(after)
        while True:
            params: dict[str, str | int] = {"limit": min(limit - len(items), _API_PAGE)}
            if cursor is not None:
                params["cursor"] = cursor
            page = self._client.get(path, params)
            items += page["items"]
            cursor = page["next_cursor"]
            if cursor is None or len(items) >= limit:
                return items, cursor is not None

    def list(self, *, after: str | None, limit: int) -> RecordRows:
        """``GET /records``: the records the holder may see."""
        limit = max(1, min(limit, MAX_PAGE - 1))  # as Records.list bounds it
        items, more = self._pages("/records", after=after, limit=limit)
        rows = tuple(RecordRow.from_dict(i) for i in items)
        return RecordRows(items=rows, next_cursor=rows[-1].id if more and rows else None)

    def show(self, record_id: str, *, bodies: bool, out: Path | None, force: bool) -> ShownRecord:  # noqa: ARG002
        """``GET /records/{id}``: with ``bodies`` the text of the portions the holder is cleared for."""
        if out is not None:
            raise _local_only(option="--out", what="file portions are written on the node; --bodies names each file")
        data = self._client.get(f"/records/{quote(record_id, safe='')}", {"bodies": "true" if bodies else "false"})
        return ShownRecord(data=data)

    def release(self, request: ReleaseRequest, *, next_hop: NodeIdentity | None, out: Path | None) -> ReleaseResult:
        """``POST /releases`` (the holder needs ``release.approve``); ``out`` gets the sealed message."""
        _refuse_existing(out)
        body: dict[str, object] = {
            "record_id": request.record_id,
            "recipient": request.recipient,
            "on": request.on.isoformat(),
        }
        if next_hop is not None:
            body["next_hop"] = next_hop.to_dict()
        data = dict(self._client.post("/releases", body))
        message = data.pop("message", None)
        attachments = data.pop("attachments", None) or []
        if message is None or out is None:
            return ReleaseResult(data=data, out=out)
        if attachments:
            release_id = (data.get("release") or {}).get("id")
            msg = (
                f"release {release_id} was sealed and queued on the node, but it carries file portions "
                f"({', '.join(attachments)}) whose files do not travel over the API; no message file was written"
            )
            raise ValidationError(msg, hint="`accord export` on the node writes the release with its files")
        write_message_file(out, ReleaseMessage.from_bytes(base64.b64decode(message, validate=True)))
        return ReleaseResult(data=data, out=out)

    def releases(self, *, received: bool, after: str | None, limit: int) -> tuple[ReleaseRow, ...]:
        """``GET /inbox`` or ``/releases/sent``: those the holder may open or whose record they may see."""
        check_page(limit)  # as the local list refuses it
        items, _ = self._pages("/inbox" if received else "/releases/sent", after=after, limit=limit)
        return tuple(ReleaseRow.from_dict(i) for i in items)

    def open(self, release_id: str, *, person: Person | None, out: Path | None, force: bool) -> OpenedView:  # noqa: ARG002
        """``GET /inbox/{id}``: the holder reads it; one they may not open answers like a missing one."""
        if person is not None:
            msg = "with --server the reader is the API token's holder"
            raise ValidationError(msg, hint="leave out --person, --nationality, --clearance and --need-to-know")
        if out is not None:
            raise _local_only(option="--out", what="received files are saved on the node")
        return OpenedView(data=self._client.get(f"/inbox/{quote(release_id, safe='')}"))

    def close(self) -> None:
        """Close the client's connections."""
        self._client.close()

    def __enter__(self) -> Self:
        """Use as a context manager."""
        return self

    def __exit__(self, *_: object) -> None:
        """Close."""
        self.close()
