"""Records: create one (bodies encrypted at rest, its audit entry in the same transaction), list, show.

``Records.create`` checks a draft against the world (the node's own scheme, levels in
use on the day, known parties in REL TO) and opens every file portion before anything
is written; a refused draft stores nothing but the audit entry of the refusal. Each
body is encrypted under a fresh data key (``crypto.stream``), wrapped under the node's
body KEK and bound to the record and portion ids: text into the database, a file
streamed chunk by chunk, any bytes and any size, into ``bodies/<record>/<portion>.enc``
under the node home. Those files are written and synced *before* the transaction that
refers to them and removed if it fails, so a crash in between leaves at most an orphan
that no row names and whose data key was never stored (:meth:`Records.orphans`).
Bodies are decrypted only with the passphrase: by :meth:`Records.show` (audited; file
portions streamed into a directory, each verified before any is put there) and by
:meth:`Records.read_body` / :func:`decrypt_body` for other services, which audit their
own use.
"""

from __future__ import annotations

import builtins
import contextlib
import datetime as dt
import io
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import BinaryIO, Final

from accord.audit.entry import EntryKind, MetaValue
from accord.canonical import sha256_hex
from accord.crypto.stream import ByteWriter, KeyEncryptionKey, StreamDigest, encrypt_bytes, wrap_key
from accord.domain.person import Person
from accord.domain.record import Portion, Precedence, Record
from accord.domain.world import World
from accord.errors import Error, UnknownReferenceError, ValidationError
from accord.policy.access import may_open
from accord.services import _record_bodies as files
from accord.services import audit
from accord.services._database import NodeService
from accord.services._record_bodies import BODIES_DIR, FileBodySource, body_context, decrypt_body, file_body_source
from accord.services.node import UnlockedNode, read_identity, utc_now
from accord.storage.sql import SqlRecordStore
from accord.storage.values import MAX_PAGE, Body, FileBody, InlineBody, StoredRecord

__all__ = [
    "BODIES_DIR",
    "ORPHAN_AGE",
    "FileBodySource",
    "FileView",
    "Page",
    "PortionDraft",
    "RecordDraft",
    "RecordView",
    "Records",
    "decrypt_body",
    "file_body_source",
    "parse_portion",
    "parse_portion_file",
    "parse_portions",
    "visible_part",
]

ORPHAN_AGE: Final = dt.timedelta(hours=1)
"""How long an unreferenced body file is left alone: a creation writes its files moments
before its transaction commits, so a younger one may be about to be referenced."""

_MAX_REASON = 256  # an audit metadata value is short text
_PORTION_SPEC = re.compile(r"(?P<level>[^:]+):(?P<rel_to>[^:]*):(?P<rest>.*)", re.DOTALL)


@dataclass(frozen=True, slots=True, kw_only=True)
class PortionDraft:
    """A portion as written: its level, REL TO parties, and its text or the file holding its body."""

    level: str
    rel_to: tuple[str, ...]
    text: str = ""
    path: Path | None = None  # a file portion: any bytes, streamed, kept under the file's name


def _split(spec: str, last: str) -> tuple[str, tuple[str, ...], str]:
    match = _PORTION_SPEC.fullmatch(spec)
    if match is None or not match["level"].strip():
        msg = f"a portion is LEVEL:REL_TO,REL_TO:{last} (e.g. KOR/MIL-II:USA,JPN:{last.lower()}), not {spec!r}"
        raise ValidationError(msg)
    rel_to = tuple(p.strip() for p in match["rel_to"].split(",") if p.strip())
    return match["level"].strip(), rel_to, match["rest"]


def parse_portion(spec: str) -> PortionDraft:
    """Read ``LEVEL:REL_TO,REL_TO:TEXT`` (REL TO may be empty; TEXT may hold colons).

    Raises:
        ValidationError: the spec does not have that shape.
    """
    level, rel_to, text = _split(spec, "TEXT")
    return PortionDraft(level=level, rel_to=rel_to, text=text)


def parse_portion_file(spec: str) -> PortionDraft:
    """Read ``LEVEL:REL_TO,REL_TO:PATH``: a portion whose body is the file at PATH (any bytes).

    Raises:
        ValidationError: the spec does not have that shape (the file is checked on creation).
    """
    level, rel_to, path = _split(spec, "PATH")
    return PortionDraft(level=level, rel_to=rel_to, path=Path(path))


def parse_portions(specs: Sequence[str]) -> tuple[PortionDraft, ...]:
    """:func:`parse_portion` for each of ``specs``."""
    return tuple(parse_portion(s) for s in specs)


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordDraft:
    """What an analyst writes; the originator is the node's own party."""

    title: str
    topics: tuple[str, ...]
    portions: tuple[PortionDraft, ...]
    purpose: str = ""
    precedence: str = Precedence.ROUTINE.value


@dataclass(frozen=True, slots=True, kw_only=True)
class FileView:
    """A file portion as a reader sees it: name, size and SHA-256, and where it was written."""

    name: str
    size: int
    sha256: str
    written: Path | None = None

    def to_dict(self) -> dict[str, object]:
        """JSON form; ``written`` only when the plaintext was written out."""
        out: dict[str, object] = {"name": self.name, "size": self.size, "sha256": self.sha256}
        if self.written is not None:
            out["written"] = str(self.written)
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordView:
    """A stored record's markings, and, once opened, its text bodies and its files by portion id."""

    stored: StoredRecord
    bodies: dict[str, str] | None = None
    files: dict[str, FileView] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        """JSON form: markings; once opened, ``text`` or ``file`` per portion."""
        record = self.stored.record
        out = _markings(record) | {"added_at": self.stored.added_at, "author": self.stored.author}
        if self.bodies is not None:
            portions: list[dict[str, object]] = []
            for p in record.portions:
                item: dict[str, object] = {"id": p.id, "level": p.level, "rel_to": sorted(p.rel_to)}
                if p.id in self.files:
                    item["file"] = self.files[p.id].to_dict()
                else:
                    item["text"] = self.bodies.get(p.id, "")
                portions.append(item)
            out["portions"] = portions
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class Page:
    """One page of records and the cursor for the next (``None`` on the last page)."""

    items: tuple[StoredRecord, ...]
    next_cursor: str | None = field(default=None)


def _markings(record: Record) -> dict[str, object]:
    """The record's markings without bodies: what its audit digest covers."""
    return {
        "id": record.id,
        "originator": record.originator,
        "title": record.title,
        "topics": sorted(record.topics),
        "purpose": record.purpose,
        "precedence": record.precedence.value,
        "portions": [{"id": p.id, "level": p.level, "rel_to": sorted(p.rel_to)} for p in record.portions],
    }


class Records(NodeService):
    """The node's records in its database; bodies under the node's KEK (``home``)."""

    def create(  # noqa: PLR0913 - the draft, the world, the keys, when, and who writes it
        self,
        draft: RecordDraft,
        *,
        world: World,
        passphrase: str | None,
        at: dt.datetime | None = None,
        node: UnlockedNode | None = None,
        author: Person | str | None = None,
    ) -> Record:
        """Check, encrypt and store a record with its audit entry, in one transaction.

        ``author`` is the person who writes it (kept with the record, named in its
        audit entry, and never allowed to approve requests about it); ``None`` on the
        operator's path. A :class:`Person` (the API's or the CLI's principal) is also
        refused a portion above their own clearance; a bare person id is taken as given
        by a caller that has already checked it.

        ``node`` is the node already unlocked (a caller creating many records unlocks
        once); without it the passphrase opens the keys. File portions are streamed
        (memory stays a few chunks whatever their size) into encrypted files written
        before the transaction and removed if anything fails.

        Raises:
            ValidationError: the draft is refused (its refusal is audited, nothing else
                is stored), or there is no passphrase (nothing is stored).
            IntegrityError: wrong passphrase.
            StorageError: a body file or the database could not be written (nothing is stored).
        """
        at = at or utc_now()
        party = read_identity(self._home).party
        with contextlib.ExitStack() as opened:
            try:
                record = self._check(draft, party=party, world=world, on=at.date())
                if isinstance(author, Person):
                    _check_author(author, record, world=world, on=at.date())
                sources = files.open_files([p.path for p in draft.portions], opened)
            except ValidationError as e:
                self._audit_refusal(e, party=party, at=at)
                raise
            node = node or self._unlock(passphrase)
            written: list[Path] = []
            try:
                bodies = {
                    portion.id: self._encrypt(record.id, portion.id, body, sources.get(i), node.kek, written)
                    for i, (portion, body) in enumerate(zip(record.portions, draft.portions, strict=True))
                }
                author_id = author.id if isinstance(author, Person) else author
                with self._db.transaction("store the record") as session:
                    SqlRecordStore(session).add(record, added_at=audit.iso(at), bodies=bodies, author=author_id)
                    audit.append(
                        session,
                        kind=EntryKind.RECORD,
                        actor=party,
                        at=at,
                        subjects=(record.id,),
                        digests={"record": sha256_hex(_markings(record))},
                        meta=_created_meta(record, author_id),
                    )
            except BaseException:
                # Files first, then the commit: undo the files, whatever stopped us.
                files.remove(written, up_to=self._home / BODIES_DIR)
                raise
        return record

    def _encrypt(  # noqa: PLR0913 - the body, which portion it is, its source and the key
        self,
        record_id: str,
        portion_id: str,
        draft: PortionDraft,
        source: BinaryIO | None,
        kek: KeyEncryptionKey,
        written: list[Path],
    ) -> Body:
        if source is None or draft.path is None:
            ciphertext, stream = encrypt_bytes(draft.text.encode("utf-8"))
            wrapped = wrap_key(stream.key, kek, context=body_context(record_id, portion_id)).to_bytes()
            return InlineBody(ciphertext=ciphertext, key_id=kek.key_id, wrapped_key=wrapped)
        relative = f"{BODIES_DIR}/{record_id}/{portion_id}.enc"
        stream = files.write_encrypted(source, draft.path, self._home / relative, written)
        return FileBody(
            path=relative,
            size=stream.digest.length,
            sha256=stream.digest.sha256,
            key_id=kek.key_id,
            wrapped_key=wrap_key(stream.key, kek, context=body_context(record_id, portion_id)).to_bytes(),
            name=draft.path.name,
        )

    @staticmethod
    def _check(draft: RecordDraft, *, party: str, world: World, on: dt.date) -> Record:
        try:
            precedence = Precedence(draft.precedence.upper())
        except ValueError:
            known = ", ".join(p.value for p in Precedence)
            msg = f"unknown precedence {draft.precedence!r} (known: {known})"
            raise ValidationError(msg) from None
        scheme = world.scheme_of(party)
        portions = []
        for i, body in enumerate(draft.portions, 1):
            level = world.level(body.level)
            if not scheme.has(level.id):
                msg = f"portion {i}: level {body.level} is not in {party}'s scheme {scheme.name}"
                raise UnknownReferenceError(msg)
            if not level.valid_on(on):
                msg = f"portion {i}: level {body.level} is not in use on {on.isoformat()}"
                raise ValidationError(msg)
            world.check_parties(body.rel_to)
            if body.path is not None and body.text:
                msg = f"portion {i} has both text and a file; give one"
                raise ValidationError(msg)
            if body.path is None and not body.text.strip():
                msg = f"portion {i} has no text"
                raise ValidationError(msg)
            portions.append(Portion(id=str(i), level=level.id, rel_to=frozenset(body.rel_to)))
        topics = frozenset(t.strip() for t in draft.topics if t.strip())
        return Record(
            id=f"{party}-{uuid.uuid4()}",
            originator=party,
            title=draft.title.strip(),
            topics=topics,
            portions=tuple(portions),
            purpose=draft.purpose.strip(),
            precedence=precedence,
        )

    def _audit_refusal(self, error: Error, *, party: str, at: dt.datetime) -> None:
        with self._db.transaction("audit the refused record") as session:
            audit.append(
                session,
                kind=EntryKind.RECORD,
                actor=party,
                at=at,
                meta={"action": "record.create", "outcome": "refused", "reason": error.message[:_MAX_REASON]},
            )

    def list(self, *, after: str | None = None, limit: int = 50) -> Page:
        """Up to ``limit`` records in the order added, after the record ``after`` (a cursor)."""
        limit = max(1, min(limit, MAX_PAGE - 1))
        with self._db.reading("list the records") as session:
            found = SqlRecordStore(session).list(after=after, limit=limit + 1)
        items = tuple(found[:limit])
        return Page(items=items, next_cursor=items[-1].record.id if len(found) > limit else None)

    def show(
        self,
        record_id: str,
        *,
        passphrase: str | None = None,
        at: dt.datetime | None = None,
        out: Path | None = None,
        force: bool = False,
    ) -> RecordView:
        """A record's markings; with the passphrase also its bodies (the read is audited).

        Text bodies come back in the view, file portions as their name, size and
        SHA-256. With ``out`` (an existing directory) each file portion is also
        streamed, decrypted, to ``out/<its name>``: all of them go to temporary files
        there and are checked (every chunk, the size, the SHA-256) before the read is
        audited and any is renamed into place, so a failure leaves ``out`` as it was.
        An existing file is refused unless ``force``.

        Raises:
            UnknownReferenceError: no such record.
            ValidationError: ``out`` without a passphrase, not a directory, or holding
                a file of that name (without ``force``); nothing is written.
            IntegrityError: wrong passphrase, or a body failed its check (one opaque
                error); nothing is written.
            StorageError: a body's file is missing or unreadable.
        """
        with self._db.reading("read the record") as session:
            store = SqlRecordStore(session)
            stored = store.get(record_id)
            if stored is None:
                msg = f"no record {record_id!r} on this node"
                raise UnknownReferenceError(msg, hint="`accord records list` shows the records")
            if passphrase is None and out is None:
                return RecordView(stored=stored)
            encrypted = store.bodies(record_id)
        names = files.file_names(encrypted)
        targets = files.targets(out, names, force=force) if out is not None else {}
        node = self._unlock(passphrase)
        texts, views = {}, {}
        for portion_id, body in encrypted.items():
            if isinstance(body, FileBody):
                views[portion_id] = FileView(name=names[portion_id], size=body.size, sha256=body.sha256)
                continue
            plain = io.BytesIO()
            decrypt_body(self._home, record_id, portion_id, body, plain, kek=node.kek)
            texts[portion_id] = plain.getvalue().decode("utf-8")
        temps: dict[str, Path] = {}
        try:
            for portion_id, target in targets.items():
                temps[portion_id] = files.decrypt_beside(
                    target,
                    partial(decrypt_body, self._home, record_id, portion_id, encrypted[portion_id], kek=node.kek),
                )
            meta: dict[str, MetaValue] = {"action": "record.read"} | ({"files": len(targets)} if targets else {})
            self._audit_read(node, record_id, at=at or utc_now(), meta=meta)
            for portion_id, target in targets.items():
                files.place(temps[portion_id], target, force=force)
                del temps[portion_id]
                views[portion_id] = replace(views[portion_id], written=target)
        finally:
            files.remove(list(temps.values()), up_to=out or self._home)
        if out is not None:
            files.sync_directory(out)
        return RecordView(stored=stored, bodies=texts, files=views)

    def _audit_read(self, node: UnlockedNode, record_id: str, *, at: dt.datetime, meta: dict[str, MetaValue]) -> None:
        with self._db.transaction("audit the read") as session:
            audit.append(
                session, kind=EntryKind.ACCESS, actor=node.identity.party, at=at, subjects=(record_id,), meta=meta
            )

    def read_body(self, record_id: str, portion_id: str, sink: ByteWriter, *, node: UnlockedNode) -> StreamDigest:
        """Stream one portion's plaintext into ``sink`` (see :func:`decrypt_body`); not audited.

        Raises:
            UnknownReferenceError: no such record, or no body for that portion.
            IntegrityError: the body failed its check; discard what ``sink`` received.
            StorageError: the body's file is missing or unreadable.
        """
        with self._db.reading("read the body") as session:
            body = SqlRecordStore(session).bodies(record_id).get(portion_id)
        if body is None:
            msg = f"record {record_id} has no body for portion {portion_id!r}"
            raise UnknownReferenceError(msg)
        return decrypt_body(self._home, record_id, portion_id, body, sink, kek=node.kek)

    def orphans(self, *, older_than: dt.timedelta = ORPHAN_AGE, at: dt.datetime | None = None) -> builtins.list[str]:
        """Files under ``bodies/`` that no stored body names, unchanged for ``older_than``.

        Paths relative to the node home, sorted. An orphan is left by a creation that
        stopped between writing its files and committing (a crash, a killed process):
        its data key was never stored, so it can never be decrypted; it only takes
        space. Younger files are skipped: a creation may be about to commit them.
        """
        root = self._home / BODIES_DIR
        if not root.is_dir():
            return []
        # Not utc_now(), which drops the fraction: with no age, a file of this second counts too.
        cutoff = ((at or dt.datetime.now(dt.UTC)) - older_than).timestamp()
        candidates = sorted(
            path.relative_to(self._home).as_posix()
            for path in root.rglob("*")
            if (path.is_file() or path.is_symlink()) and path.lstat().st_mtime <= cutoff
        )
        with self._db.reading("find orphan body files") as session:
            referenced = SqlRecordStore(session).referenced_paths(candidates)
        return [path for path in candidates if path not in referenced]

    def remove_orphans(
        self, *, older_than: dt.timedelta = ORPHAN_AGE, at: dt.datetime | None = None
    ) -> builtins.list[str]:
        """Delete what :meth:`orphans` finds (and directories left empty); return their paths."""
        found = self.orphans(older_than=older_than, at=at)
        files.remove([self._home / path for path in found], up_to=self._home / BODIES_DIR)
        return found

    # -- what one person may see ----------------------------------------------------------

    def list_for(  # noqa: PLR0913 - who, the world, a filter and the page
        self,
        person: Person,
        *,
        world: World,
        topic: str | None = None,
        after: str | None = None,
        limit: int = 50,
        at: dt.datetime | None = None,
    ) -> Page:
        """Up to ``limit`` records ``person`` may see (:func:`visible_part`), in the order added.

        ``topic`` keeps only records on that topic (the filter runs in the database,
        the visibility check after it, so the filter reveals nothing either).

        Records the person may not see are skipped without a trace: no count, and the
        cursor is always the id of a record on the page. A cursor that is not a record
        this person may see is refused with the one message an unknown id gets.

        Raises:
            ValidationError: ``after`` is not a cursor this list could have given.
        """
        on = (at or utc_now()).date()
        limit = max(1, min(limit, MAX_PAGE - 1))
        party = read_identity(self._home).party
        if after is not None:
            with self._db.reading("read the cursor") as session:
                start = SqlRecordStore(session).get(after)
            if start is None or visible_part(person, start.record, holder=party, world=world, on=on) is None:
                msg = "that cursor does not belong to this list"
                raise ValidationError(msg, hint="start again without a cursor")
        shown: builtins.list[StoredRecord] = []
        scanned, more = after, True
        while more and len(shown) <= limit:
            with self._db.reading("list the records") as session:
                batch = SqlRecordStore(session).list(topic=topic, after=scanned, limit=_SCAN)
            more = len(batch) == _SCAN
            for stored in batch:
                part = visible_part(person, stored.record, holder=party, world=world, on=on)
                if part is not None:
                    shown.append(replace(stored, record=part))
                scanned = stored.record.id
        items = tuple(shown[:limit])
        return Page(items=items, next_cursor=items[-1].record.id if len(shown) > limit else None)

    def get_for(  # noqa: PLR0913 - who, what, the world and keys, when, and whether to open the bodies
        self,
        person: Person,
        record_id: str,
        *,
        world: World,
        node: UnlockedNode,
        at: dt.datetime | None = None,
        bodies: bool = True,
    ) -> RecordView:
        """A record as ``person`` may see it: the portions they are cleared for, with their text.

        The read is audited with the person, allowed or refused. A record the person
        may not see is refused exactly as a record that does not exist. With
        ``bodies=False`` only the markings come back (what the list shows), nothing is
        decrypted and nothing audited.

        Raises:
            UnknownReferenceError: no such record, or one the person may not see.
        """
        at = at or utc_now()
        party = node.identity.party
        with self._db.reading("read the record") as session:
            store = SqlRecordStore(session)
            stored = store.get(record_id)
            part = visible_part(person, stored.record, holder=party, world=world, on=at.date()) if stored else None
            encrypted = store.bodies(record_id) if part is not None and bodies else {}
        meta: dict[str, MetaValue] = {"action": "record.read", "person": person.id[:_MAX_REASON]}
        if stored is None or part is None:
            if stored is not None and bodies:
                self._audit_read(node, record_id, at=at, meta=meta | {"outcome": "refused"})
            msg = f"no record {record_id!r} on this node"
            raise UnknownReferenceError(msg, hint="the records list shows the records you may see")
        if not bodies:
            return RecordView(stored=replace(stored, record=part))
        texts: dict[str, str] = {}
        views: dict[str, FileView] = {}
        names = files.file_names(encrypted)
        for portion in part.portions:
            body = encrypted.get(portion.id)
            if isinstance(body, FileBody):
                views[portion.id] = FileView(name=names[portion.id], size=body.size, sha256=body.sha256)
            elif body is not None:
                plain = io.BytesIO()
                decrypt_body(self._home, record_id, portion.id, body, plain, kek=node.kek)
                texts[portion.id] = plain.getvalue().decode("utf-8")
        self._audit_read(node, record_id, at=at, meta=meta | {"outcome": "allowed", "portions": len(part.portions)})
        return RecordView(stored=replace(stored, record=part), bodies=texts, files=views)


_SCAN: Final = 200  # records read per batch while filtering a page for one person


def visible_part(person: Person, record: Record, *, holder: str, world: World, on: dt.date) -> Record | None:
    """The record with only the portions ``person`` may open, or ``None`` when there is none.

    Each portion is checked with ``policy.access.may_open`` at its own level (the
    holder's scheme): nationality, clearance at or above it, need-to-know for every
    topic. The title and markings go with the lowest portion: a person cleared for no
    portion sees nothing of the record, not even that it exists.
    """
    allowed = tuple(
        p
        for p in record.portions
        if may_open(person, holder=holder, level=p.level, topics=record.topics, on=on, world=world)
    )
    return replace(record, portions=allowed) if allowed else None


def _check_author(author: Person, record: Record, *, world: World, on: dt.date) -> None:
    """An author writes only at or below their own clearance, and only for their own party."""
    if author.party != record.originator or author.clearance is None:
        msg = f"{author.id} holds no clearance of {record.originator} and may not write its records"
        raise ValidationError(msg, hint="ask a security officer for a clearance")
    scheme = world.scheme_of(record.originator)
    held = scheme.level(author.clearance)
    for portion in record.portions:
        if scheme.level(portion.level).rank > held.rank or not held.valid_on(on):
            msg = f"portion {portion.id}: {author.id} is cleared {held.id}, below {portion.level}"
            raise ValidationError(msg, hint="write only at or below your clearance")


def _created_meta(record: Record, author: str | None) -> dict[str, MetaValue]:
    meta: dict[str, MetaValue] = {"action": "record.create", "portions": len(record.portions)}
    if author is not None:
        meta["person"] = author
    return meta
