"""Records in SQL: :class:`SqlRecordStore`.

Records are rows of ``records``, their topics, portions, REL TO and encrypted bodies,
each numbered from its counter in commit order. Writes that may race with another
transaction run in a savepoint, so the caller's transaction survives the refusal. The
store never begins, commits or rolls back, and never sees plaintext. Releases are in
``release_stores``.
"""

from __future__ import annotations

import builtins
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import RowMapping, Select, exists, insert, select, update
from sqlalchemy.orm import Session

from accord.domain.record import Portion, Precedence, Record
from accord.errors import Error
from accord.storage import _rules as rules
from accord.storage.sql import node_tables as nt
from accord.storage.sql._rows import PER_QUERY, racing, seq_after, take_number, unreadable
from accord.storage.values import (
    Body,
    FileBody,
    InlineBody,
    StoredRecord,
    check_page,
    check_time,
)

__all__ = ["SqlRecordStore"]

_TEXT, _FILE = "text", "file"


class SqlRecordStore:
    """Records in a SQL database, through the caller's session."""

    def __init__(self, session: Session) -> None:
        """Use ``session`` for every statement; its owner commits or rolls back."""
        self._session = session

    # -- writing ----------------------------------------------------------------------

    def add(
        self, record: Record, *, added_at: str, bodies: Mapping[str, Body] | None = None, author: str | None = None
    ) -> None:
        """Store ``record`` and its encrypted bodies (see ``RecordStore.add``)."""
        bodies = dict(bodies or {})
        check_time(added_at, f"record {record.id}'s added_at")
        rules.check_new_record(record, bodies)
        paths = [b.path for b in bodies.values() if isinstance(b, FileBody)]
        self._check_free(record.id, paths)
        key = {"record_id": record.id}
        with racing(self._session, lambda: self._check_free(record.id, paths)):
            seq = take_number(self._session, nt.RECORDS)
            self._session.execute(
                insert(nt.records).values(
                    id=record.id,
                    seq=seq,
                    originator=record.originator,
                    title=record.title,
                    purpose=record.purpose,
                    precedence=record.precedence.value,
                    added_at=added_at,
                    author=author,
                )
            )
            self._session.execute(insert(nt.record_topics), [{**key, "topic": t} for t in sorted(record.topics)])
            self._session.execute(
                insert(nt.record_portions),
                [{**key, "position": i, "portion_id": p.id, "level": p.level} for i, p in enumerate(record.portions)],
            )
            rel_to = [{**key, "portion_id": p.id, "party": c} for p in record.portions for c in sorted(p.rel_to)]
            if rel_to:
                self._session.execute(insert(nt.portion_rel_to), rel_to)
            if bodies:
                self._session.execute(
                    insert(nt.record_bodies), [{**key, "portion_id": pid, **_body_row(b)} for pid, b in bodies.items()]
                )

    def _check_free(self, record_id: str, paths: Collection[str]) -> None:
        if self.exists(record_id):
            rules.refuse_duplicate("record", record_id)
        if paths:
            query = select(nt.record_bodies.c.path).where(nt.record_bodies.c.path.in_(sorted(paths)))
            for path in self._session.execute(query).scalars():
                rules.refuse_path(path)

    def set_levels(self, record_id: str, levels: Mapping[str, str]) -> None:
        """Re-mark the named portions (see ``RecordStore.set_levels``)."""
        stored = rules.known(self.get(record_id), "record", record_id)
        rules.check_portions(stored.record, levels)
        for portion_id, level in levels.items():
            self._session.execute(
                update(nt.record_portions)
                .where(nt.record_portions.c.record_id == record_id, nt.record_portions.c.portion_id == portion_id)
                .values(level=level)
            )

    # -- reading ----------------------------------------------------------------------

    def exists(self, record_id: str) -> bool:
        """Whether a record with this id is stored."""
        return bool(self._session.execute(select(exists().where(nt.records.c.id == record_id))).scalar())

    def get(self, record_id: str) -> StoredRecord | None:
        """The stored record, or ``None``."""
        found = self._load(select(nt.records).where(nt.records.c.id == record_id))
        return found[0] if found else None

    def get_many(self, record_ids: Collection[str]) -> dict[str, StoredRecord]:
        """The stored records among ``record_ids``, by id (see ``RecordStore.get_many``)."""
        wanted = sorted(set(record_ids))
        found: dict[str, StoredRecord] = {}
        for start in range(0, len(wanted), PER_QUERY):
            batch = wanted[start : start + PER_QUERY]
            found.update((s.record.id, s) for s in self._load(select(nt.records).where(nt.records.c.id.in_(batch))))
        return found

    def precedences(self, record_ids: Collection[str]) -> dict[str, Precedence]:
        """The precedence of each of ``record_ids`` stored here (one small read: the rest of the record stays)."""
        wanted, r = sorted(set(record_ids)), nt.records
        found: dict[str, Precedence] = {}
        for start in range(0, len(wanted), PER_QUERY):
            query = select(r.c.id, r.c.precedence).where(r.c.id.in_(wanted[start : start + PER_QUERY]))
            found.update((str(i), Precedence(p)) for i, p in self._session.execute(query))
        return found

    def bodies_many(self, record_ids: Collection[str]) -> dict[str, dict[str, Body]]:
        """The encrypted bodies of each of ``record_ids`` that has any (see ``RecordStore.bodies_many``)."""
        wanted = sorted(set(record_ids))
        b, p = nt.record_bodies, nt.record_portions
        found: dict[str, dict[str, Body]] = defaultdict(dict)
        for start in range(0, len(wanted), PER_QUERY):
            batch = wanted[start : start + PER_QUERY]
            query = (
                select(b)
                .join(p, (p.c.record_id == b.c.record_id) & (p.c.portion_id == b.c.portion_id))
                .where(b.c.record_id.in_(batch))
                .order_by(b.c.record_id, p.c.position)
            )
            try:
                for row in self._session.execute(query).mappings():
                    found[row["record_id"]][row["portion_id"]] = _body(row)
            except (Error, TypeError, ValueError) as e:
                unreadable("bodies of records", ", ".join(batch), e)
        return dict(found)

    def bodies(self, record_id: str) -> dict[str, Body]:
        """The record's encrypted bodies by portion id, in portion order."""
        if not self.exists(record_id):
            rules.known(None, "record", record_id)
        b, p = nt.record_bodies, nt.record_portions
        query = (
            select(b)
            .join(p, (p.c.record_id == b.c.record_id) & (p.c.portion_id == b.c.portion_id))
            .where(b.c.record_id == record_id)
            .order_by(p.c.position)
        )
        try:
            return {row["portion_id"]: _body(row) for row in self._session.execute(query).mappings()}
        except (Error, TypeError, ValueError) as e:
            unreadable("bodies of record", record_id, e)

    def referenced_paths(self, paths: Collection[str]) -> set[str]:
        """Those of ``paths`` (relative to the node home) that a stored file body names.

        What tells an orphan body file (written by a creation that never committed)
        from a body in use, by exact path, whatever directory layout wrote it.
        """
        found: set[str] = set()
        wanted = sorted(set(paths))
        column = nt.record_bodies.c.path
        for start in range(0, len(wanted), PER_QUERY):
            batch = wanted[start : start + PER_QUERY]
            found.update(self._session.execute(select(column).where(column.in_(batch))).scalars())
        return found

    def list(
        self,
        *,
        originator: str | None = None,
        topic: str | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> Sequence[StoredRecord]:
        """Up to ``limit`` records in the order added, after the record ``after``."""
        check_page(limit)
        r = nt.records
        query = select(r).where(r.c.seq > seq_after(self._session, r, after, "record"))
        if originator is not None:
            query = query.where(r.c.originator == originator)
        if topic is not None:
            t = nt.record_topics
            query = query.where(exists().where(t.c.record_id == r.c.id, t.c.topic == topic))
        return self._load(query.order_by(r.c.seq).limit(limit))

    def _load(self, query: Select[Any]) -> Sequence[StoredRecord]:
        """The records ``query`` selects, with their topics, portions and REL TO."""
        rows = list(self._session.execute(query).mappings())
        if not rows:
            return []
        ids = [row["id"] for row in rows]
        t, r, p = nt.record_topics, nt.portion_rel_to, nt.record_portions
        topics: dict[str, set[str]] = defaultdict(set)
        for record_id, topic in self._session.execute(select(t.c.record_id, t.c.topic).where(t.c.record_id.in_(ids))):
            topics[record_id].add(topic)
        rel_to: dict[tuple[str, str], set[str]] = defaultdict(set)
        rel_query = select(r.c.record_id, r.c.portion_id, r.c.party).where(r.c.record_id.in_(ids))
        for record_id, portion_id, party in self._session.execute(rel_query):
            rel_to[record_id, portion_id].add(party)
        portions: dict[str, builtins.list[Portion]] = defaultdict(list)
        portion_query = select(p.c.record_id, p.c.portion_id, p.c.level).where(p.c.record_id.in_(ids))
        try:
            for record_id, portion_id, level in self._session.execute(portion_query.order_by(p.c.position)):
                portions[record_id].append(
                    Portion(id=portion_id, level=level, rel_to=frozenset(rel_to[record_id, portion_id]))
                )
            return [_stored_record(row, frozenset(topics[row["id"]]), portions[row["id"]]) for row in rows]
        except (Error, ValueError) as e:
            unreadable("record", ", ".join(ids), e)


def _body_row(body: Body) -> dict[str, object]:
    common = {"key_id": body.key_id, "wrapped_key": body.wrapped_key}
    if isinstance(body, InlineBody):
        none = dict.fromkeys(("path", "size", "sha256", "name"))
        return {**common, **none, "kind": _TEXT, "ciphertext": body.ciphertext}
    file = {"path": body.path, "size": body.size, "sha256": body.sha256, "name": body.name}
    return {**common, **file, "kind": _FILE, "ciphertext": None}


def _body(row: RowMapping) -> Body:
    if row["kind"] == _TEXT:
        return InlineBody(ciphertext=row["ciphertext"], key_id=row["key_id"], wrapped_key=row["wrapped_key"])
    return FileBody(
        path=row["path"],
        size=row["size"],
        sha256=row["sha256"],
        key_id=row["key_id"],
        wrapped_key=row["wrapped_key"],
        name=row["name"],
    )


def _stored_record(row: RowMapping, topics: frozenset[str], portions: Sequence[Portion]) -> StoredRecord:
    record = Record(
        id=row["id"],
        originator=row["originator"],
        title=row["title"],
        topics=topics,
        portions=tuple(portions),
        purpose=row["purpose"],
        precedence=Precedence(row["precedence"]),
    )
    return StoredRecord(record=record, added_at=row["added_at"], author=row["author"])
