"""Records: create one (bodies encrypted at rest, its audit entry in the same transaction), list, show.

``Records.create`` checks a draft against the world (the node's own scheme, levels in
use on the day, known parties in REL TO) before anything is written. A refused draft
stores nothing but the audit entry of the refusal. An accepted one is encrypted
portion by portion (``crypto.stream``: a fresh data key per body, wrapped under the
node's body KEK and bound to the record and portion ids) and stored with its audit
entry in one transaction. Bodies are decrypted only by ``show`` with the passphrase,
and that read is audited too. Until ``EntryKind`` has a kind for records, creation,
refusal and reading are ``access`` entries told apart by ``meta.action``.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from accord.audit.entry import EntryKind
from accord.canonical import sha256_hex
from accord.crypto.stream import WrappedKey, decrypt_bytes, encrypt_bytes, unwrap_key, wrap_key
from accord.domain.record import Portion, Precedence, Record
from accord.domain.world import World
from accord.errors import Error, UnknownReferenceError, ValidationError
from accord.services import audit
from accord.services._database import NodeService
from accord.services.node import UnlockedNode, read_identity, unlock, utc_now
from accord.storage.sql import SqlRecordStore
from accord.storage.values import MAX_PAGE, InlineBody, StoredRecord

__all__ = ["Page", "PortionDraft", "RecordDraft", "RecordView", "Records", "parse_portion", "parse_portions"]

_MAX_REASON = 256  # an audit metadata value is short text
_PORTION_SPEC = re.compile(r"(?P<level>[^:]+):(?P<rel_to>[^:]*):(?P<text>.*)", re.DOTALL)


@dataclass(frozen=True, slots=True, kw_only=True)
class PortionDraft:
    """A portion as written: its level, REL TO parties and plaintext body."""

    level: str
    rel_to: tuple[str, ...]
    text: str


def parse_portion(spec: str) -> PortionDraft:
    """Read ``LEVEL:REL_TO,REL_TO:TEXT`` (REL TO may be empty; TEXT may hold colons).

    Raises:
        ValidationError: the spec does not have that shape.
    """
    match = _PORTION_SPEC.fullmatch(spec)
    if match is None or not match["level"].strip():
        msg = f"a portion is LEVEL:REL_TO,REL_TO:TEXT (e.g. KOR/MIL-II:USA,JPN:text), not {spec!r}"
        raise ValidationError(msg)
    rel_to = tuple(p.strip() for p in match["rel_to"].split(",") if p.strip())
    return PortionDraft(level=match["level"].strip(), rel_to=rel_to, text=match["text"])


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordDraft:
    """What an analyst writes; the originator is the node's own party."""

    title: str
    topics: tuple[str, ...]
    portions: tuple[PortionDraft, ...]
    purpose: str = ""
    precedence: str = Precedence.ROUTINE.value


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordView:
    """A stored record's markings, and its bodies by portion id when they were opened."""

    stored: StoredRecord
    bodies: dict[str, str] | None = None

    def to_dict(self) -> dict[str, object]:
        """JSON form: markings, and ``text`` per portion when the bodies were opened."""
        record = self.stored.record
        out = _markings(record) | {"added_at": self.stored.added_at}
        if self.bodies is not None:
            bodies = self.bodies
            out["portions"] = [
                {"id": p.id, "level": p.level, "rel_to": sorted(p.rel_to), "text": bodies.get(p.id, "")}
                for p in record.portions
            ]
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


def _context(record_id: str, portion_id: str) -> bytes:
    return f"accord.record-body/1:{record_id}:{portion_id}".encode()


class Records(NodeService):
    """The node's records in its database; bodies under the node's KEK (``home``)."""

    def create(
        self,
        draft: RecordDraft,
        *,
        world: World,
        passphrase: str | None,
        at: dt.datetime | None = None,
        node: UnlockedNode | None = None,
    ) -> Record:
        """Check, encrypt and store a record with its audit entry, in one transaction.

        ``node`` is the node already unlocked (a caller creating many records unlocks
        once); without it the passphrase opens the keys.

        Raises:
            ValidationError: the draft is refused (its refusal is audited, nothing else
                is stored), or there is no passphrase (nothing is stored).
            IntegrityError: wrong passphrase.
        """
        at = at or utc_now()
        party = read_identity(self._home).party
        try:
            record = self._check(draft, party=party, world=world, on=at.date())
        except ValidationError as e:
            self._audit_refusal(e, party=party, at=at)
            raise
        node = node or unlock(self._home, passphrase)
        bodies = {}
        for portion, body in zip(record.portions, draft.portions, strict=True):
            ciphertext, stream = encrypt_bytes(body.text.encode("utf-8"))
            wrapped = wrap_key(stream.key, node.kek, context=_context(record.id, portion.id))
            bodies[portion.id] = InlineBody(
                ciphertext=ciphertext, key_id=node.kek.key_id, wrapped_key=wrapped.to_bytes()
            )
        with self._db.transaction("store the record") as session:
            SqlRecordStore(session).add(record, added_at=audit.iso(at), bodies=bodies)
            audit.append(
                session,
                kind=EntryKind.RECORD,
                actor=party,
                at=at,
                subjects=(record.id,),
                digests={"record": sha256_hex(_markings(record))},
                meta={"action": "record.create", "portions": len(record.portions)},
            )
        return record

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
            if not body.text.strip():
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
        with self._db.transaction("list the records") as session:
            found = SqlRecordStore(session).list(after=after, limit=limit + 1)
        items = tuple(found[:limit])
        return Page(items=items, next_cursor=items[-1].record.id if len(found) > limit else None)

    def show(self, record_id: str, *, passphrase: str | None = None, at: dt.datetime | None = None) -> RecordView:
        """A record's markings; with the passphrase also its bodies (the read is audited).

        Raises:
            UnknownReferenceError: no such record.
        """
        with self._db.transaction("read the record") as session:
            store = SqlRecordStore(session)
            stored = store.get(record_id)
            if stored is None:
                msg = f"no record {record_id!r} on this node"
                raise UnknownReferenceError(msg, hint="`accord records list` shows the records")
            if passphrase is None:
                return RecordView(stored=stored)
            encrypted = store.bodies(record_id)
        node = unlock(self._home, passphrase)
        texts = {}
        for portion_id, body in encrypted.items():
            if not isinstance(body, InlineBody):
                continue
            key = unwrap_key(WrappedKey.from_bytes(body.wrapped_key), node.kek, context=_context(record_id, portion_id))
            texts[portion_id] = decrypt_bytes(body.ciphertext, key).decode("utf-8")
        with self._db.transaction("audit the read") as session:
            audit.append(
                session,
                kind=EntryKind.ACCESS,
                actor=node.identity.party,
                at=at or utc_now(),
                subjects=(record_id,),
                meta={"action": "record.read"},
            )
        return RecordView(stored=stored, bodies=texts)


def parse_portions(specs: Sequence[str]) -> tuple[PortionDraft, ...]:
    """:func:`parse_portion` for each of ``specs``."""
    return tuple(parse_portion(s) for s in specs)
