"""Releases in SQL: :class:`SqlReleaseStore`.

A release is a ``releases`` row, its agreements, and its decision's evidence once per
shape (``decision_evidence``; reading puts the record id back), numbered from its
counter in commit order. Writes that may race with another transaction run in a
savepoint, so the caller's transaction survives the refusal. The store never begins,
commits or rolls back, never sees plaintext, and never decides whether a release may go.
"""

from __future__ import annotations

import builtins
import hashlib
import json
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from functools import lru_cache
from typing import Final

from sqlalchemy import ColumnElement, Insert, RowMapping, Table, exists, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from accord.canonical import canonical_bytes
from accord.domain.record import Precedence
from accord.domain.release import Hop
from accord.errors import Error
from accord.storage import _rules as rules
from accord.storage.sql import node_tables as nt
from accord.storage.sql._rows import PER_QUERY, racing, rowcount, seq_after, take_number, unreadable
from accord.storage.values import (
    RELEASE_TRANSITIONS,
    Release,
    ReleaseState,
    check_page,
)

__all__ = ["SqlReleaseStore"]


_RANKS: Final = {p.value: i for i, p in enumerate(Precedence)}
"""A record's precedence as the outbox rank its releases are sent in (FLASH first)."""
_ROUTINE: Final = _RANKS[Precedence.ROUTINE.value]


class SqlReleaseStore:
    """Releases in a SQL database, through the caller's session."""

    def __init__(self, session: Session) -> None:
        """Use ``session`` for every statement; its owner commits or rolls back."""
        self._session = session

    # -- writing ----------------------------------------------------------------------

    def add(self, release: Release) -> None:
        """Store an outgoing release (see ``ReleaseStore.add``)."""
        rules.check_outgoing(release)
        self._check_free(release)
        with racing(self._session, lambda: self._check_free(release)):
            self._write([release], outgoing=True)

    def add_many(self, releases: Sequence[Release]) -> None:
        """Store outgoing releases, all or none (see ``ReleaseStore.add_many``)."""
        if not releases:
            return
        for release in releases:
            rules.check_outgoing(release)
        _check_distinct(releases)
        # Ids are new (random) almost always: write first, and only when a unique
        # constraint refuses look for the stored release or message that explains it
        # (the savepoint undoes the batch's rows, numbers and evidence).
        with racing(self._session, lambda: self._check_all_free(releases)):
            self._write(releases, outgoing=True)

    def _ranks(self, releases: Sequence[Release]) -> dict[str, int]:
        """The sending rank of each outgoing release's record: its precedence (ROUTINE when the record is gone)."""
        wanted, rec = sorted({r.record_id for r in releases}), nt.records
        found = dict.fromkeys(wanted, _ROUTINE)
        for start in range(0, len(wanted), PER_QUERY):
            query = select(rec.c.id, rec.c.precedence).where(rec.c.id.in_(wanted[start : start + PER_QUERY]))
            found.update((str(i), _RANKS.get(str(p), _ROUTINE)) for i, p in self._session.execute(query))
        return found

    def _check_all_free(self, releases: Sequence[Release]) -> None:
        ids = [r.id for r in releases]
        messages = [r.message_id for r in releases if r.message_id is not None]
        rl = nt.releases
        for start in range(0, len(ids), PER_QUERY):
            taken = self._session.execute(select(rl.c.id).where(rl.c.id.in_(ids[start : start + PER_QUERY])))
            for release_id in taken.scalars():
                rules.refuse_duplicate("release", release_id)
        for start in range(0, len(messages), PER_QUERY):
            batch = messages[start : start + PER_QUERY]
            for message_id in self._session.execute(
                select(rl.c.message_id).where(rl.c.message_id.in_(batch))
            ).scalars():
                rules.refuse_duplicate("message", message_id)

    def add_received(self, release: Release) -> bool:
        """Store a received release once per message id (see ``ReleaseStore.add_received``)."""
        message_id = rules.check_received(release)
        if self._message_stored(message_id):
            return False
        self._check_free(release)
        try:
            with self._session.begin_nested():
                self._write([release], outgoing=False)
        except IntegrityError:
            # Another worker stored the same message first: the unique constraint on
            # message_id is what decides, and its receipt stands.
            if self._message_stored(message_id):
                return False
            self._check_free(release)
            raise
        return True

    def _keep_evidence(self, evidence: Mapping[str, bytes]) -> None:
        """Store each decision evidence not stored yet (a concurrent writer's copy is the same bytes)."""
        if not evidence:
            return
        rows = [{"digest": digest, "evidence": data} for digest, data in evidence.items()]
        self._session.execute(_insert_new(self._session, nt.decision_evidence), rows)

    def add_received_many(self, releases: Sequence[Release]) -> None:
        """Store received releases, all or none; every id and message id must be free.

        The batch form of :meth:`add_received` for a caller that looked the ids up
        first (:meth:`stored_ids`); a clash, with what is stored or inside the batch,
        refuses the whole batch.
        """
        if not releases:
            return
        for release in releases:
            rules.check_received(release)
        _check_distinct(releases)
        self._check_all_free(releases)
        with racing(self._session, lambda: self._check_all_free(releases)):
            self._write(releases, outgoing=False)

    def stored_ids(self, ids: Collection[str], message_ids: Collection[str]) -> tuple[set[str], set[str]]:
        """Which of these release ids, and which of these message ids, are stored already."""
        rl = nt.releases
        found: tuple[set[str], set[str]] = (set(), set())
        for column, wanted, into in (
            (rl.c.id, sorted(set(ids)), found[0]),
            (rl.c.message_id, sorted(set(message_ids)), found[1]),
        ):
            for start in range(0, len(wanted), PER_QUERY):
                batch = wanted[start : start + PER_QUERY]
                into.update(str(x) for x in self._session.execute(select(column).where(column.in_(batch))).scalars())
        return found

    def _write(self, releases: Sequence[Release], *, outgoing: bool) -> None:
        """Insert ``releases`` (checked by the caller) numbered in order, with their agreements and evidence.

        An outgoing release keeps its record's sending rank; a received one none.
        """
        first = take_number(self._session, nt.RELEASES, len(releases))
        evidence: dict[str, bytes] = {}
        ranks = self._ranks(releases) if outgoing else {}
        rows = [
            {"seq": first + i, **_release_row(r, evidence), "rank": ranks.get(r.record_id)}
            for i, r in enumerate(releases)
        ]
        self._keep_evidence(evidence)
        self._session.execute(insert(nt.releases), rows)
        agreements = [
            {"release_id": r.id, "position": i, "agreement_id": a, "fingerprint": f}
            for r in releases
            for i, (a, f) in enumerate(r.agreements)
        ]
        if agreements:
            self._session.execute(insert(nt.release_agreements), agreements)

    def _check_free(self, release: Release) -> None:
        if self._session.execute(select(exists().where(nt.releases.c.id == release.id))).scalar():
            rules.refuse_duplicate("release", release.id)
        if release.message_id is not None and self._message_stored(release.message_id):
            rules.refuse_duplicate("message", release.message_id)

    def _message_stored(self, message_id: str) -> bool:
        return bool(self._session.execute(select(exists().where(nt.releases.c.message_id == message_id))).scalar())

    def set_state(self, release_id: str, state: ReleaseState, *, at: str) -> Release:
        """Move a release to ``state`` (see ``ReleaseStore.set_state``)."""
        release = rules.known(self.get(release_id), "release", release_id)
        rules.check_transition(release, state)
        moved = replace(release, state=state, updated_at=at)
        r = nt.releases
        statement = (
            update(r)
            .where(r.c.id == release_id, r.c.state == release.state.value)
            .values(state=state.value, updated_at=at)
        )
        if rowcount(self._session, statement) == 0:
            # Another transaction moved it first (on PostgreSQL this UPDATE waited for
            # it); decide again from the state it left. States never go back, so this
            # ends.
            return self.set_state(release_id, state, at=at)
        return moved

    def queue_sealed(self, release_ids: Collection[str], *, at: str) -> set[str]:
        """Move those of ``release_ids`` still SEALED to QUEUED; the ids moved.

        One ``UPDATE ... WHERE state = 'sealed' RETURNING id`` per ``PER_QUERY`` ids: two
        sweeps at once move each release once (PostgreSQL re-checks a row it waited for;
        SQLite has one writer), and the one that did not move it leaves it alone.
        """
        r, wanted = nt.releases, sorted(set(release_ids))
        moved: set[str] = set()
        for start in range(0, len(wanted), PER_QUERY):
            statement = (
                update(r)
                .where(r.c.id.in_(wanted[start : start + PER_QUERY]), r.c.state == ReleaseState.SEALED.value)
                .values(state=ReleaseState.QUEUED.value, updated_at=at)
                .returning(r.c.id)
            )
            moved.update(str(i) for i in self._session.execute(statement).scalars())
        return moved

    def set_states(self, release_ids: Collection[str], state: ReleaseState, *, at: str) -> None:
        """Move releases to ``state`` (the batch form of :meth:`set_state`, with its checks)."""
        r = nt.releases
        wanted = sorted(set(release_ids))
        for start in range(0, len(wanted), PER_QUERY):
            batch = wanted[start : start + PER_QUERY]
            states = {
                str(i): str(s) for i, s in self._session.execute(select(r.c.id, r.c.state).where(r.c.id.in_(batch)))
            }
            by_state: dict[str, builtins.list[str]] = defaultdict(list)
            for release_id in batch:
                now = rules.known(states.get(release_id), "release", release_id)
                if ReleaseState(state) not in RELEASE_TRANSITIONS[ReleaseState(now)]:
                    self.set_state(release_id, state, at=at)  # raises the clear error
                by_state[now].append(release_id)
            for now, ids in by_state.items():
                statement = (
                    update(r)
                    .where(r.c.id.in_(ids), r.c.state == now)
                    .values(state=ReleaseState(state).value, updated_at=at)
                )
                if rowcount(self._session, statement) != len(ids):
                    # Another transaction moved some first: decide each again from its state.
                    for release_id in ids:
                        current = rules.known(self.get(release_id), "release", release_id)
                        if current.state is not ReleaseState(state):
                            self.set_state(release_id, state, at=at)

    # -- reading ----------------------------------------------------------------------

    def get(self, release_id: str) -> Release | None:
        """The release with this id, or ``None``."""
        found = self._load([nt.releases.c.id == release_id], after=-1, limit=1)
        return found[0] if found else None

    def by_message(self, message_id: str) -> Release | None:
        """The release a federation message carried, or ``None``."""
        found = self._load([nt.releases.c.message_id == message_id], after=-1, limit=1)
        return found[0] if found else None

    def list(
        self,
        *,
        state: ReleaseState | None = None,
        sender: str | None = None,
        recipient: str | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> Sequence[Release]:
        """Up to ``limit`` releases matching every filter given, in the order added."""
        check_page(limit)
        r = nt.releases
        where: builtins.list[ColumnElement[bool]] = []
        if state is not None:
            where.append(r.c.state == ReleaseState(state).value)
        if sender is not None:
            where.append(r.c.sender == sender)
        if recipient is not None:
            where.append(r.c.recipient == recipient)
        return self._load(where, after=seq_after(self._session, r, after, "release"), limit=limit)

    def sealed_to_queue(self, sender: str, *, limit: int, only: Precedence | None = None) -> Sequence[Release]:
        """Up to ``limit`` SEALED releases from ``sender``, the most urgent first (FLASH ... ROUTINE).

        Urgency is the precedence of the release's record, copied to the release when it
        was stored (a release whose record was gone then counts as ROUTINE); within one
        precedence, the first added. The outbox sweep takes them in this order, so a
        FLASH sealed behind a long ROUTINE backlog is queued by the next sweep, not after
        the backlog; an index serves the order, so the backlog's length costs nothing.
        ``only`` keeps those of one precedence.
        """
        check_page(limit)
        r = nt.releases
        where = [r.c.sender == sender, r.c.state == ReleaseState.SEALED.value]
        if only is not None:
            where.append(r.c.rank == _RANKS[Precedence(only).value])
        chosen = select(r.c.id).where(*where).order_by(r.c.rank, r.c.seq).limit(limit)
        order = {str(i): n for n, i in enumerate(self._session.execute(chosen).scalars())}
        if not order:
            return []
        loaded = self._load([r.c.id.in_(order)], after=-1, limit=limit)
        return sorted(loaded, key=lambda release: order[release.id])

    def last_number(self) -> int:
        """The number of the last release added (-1 when there is none): a cursor for :meth:`flash_sealed_after`."""
        found = self._session.execute(select(func.max(nt.releases.c.seq))).scalar()
        return -1 if found is None else int(found)

    def flash_sealed_after(self, sender: str, *, after: int) -> tuple[int, int]:
        """How many SEALED FLASH releases from ``sender`` were added after number ``after``; the new cursor.

        Reads only the releases numbered above ``after`` (a range of the unique number,
        at most ``PER_QUERY`` of them; the returned cursor is the last one read, so the
        next call goes on from there), then the precedence of their records: cheap
        enough to ask every few milliseconds while a delivery waits on a batch, however
        long the sealed backlog. Numbers are taken in commit order, so nothing committed
        is passed over.
        """
        r = nt.releases
        rows = self._session.execute(
            select(r.c.seq, r.c.state, r.c.sender, r.c.rank).where(r.c.seq > after).order_by(r.c.seq).limit(PER_QUERY)
        ).all()
        if not rows:
            return after, 0
        flash = _RANKS[Precedence.FLASH.value]
        sealed = ReleaseState.SEALED.value
        return int(rows[-1].seq), sum(
            row.state == sealed and row.sender == sender and row.rank == flash for row in rows
        )

    def _load(self, where: Sequence[ColumnElement[bool]], *, after: int, limit: int) -> Sequence[Release]:
        r, a = nt.releases, nt.release_agreements
        query = select(r).where(r.c.seq > after, *where).order_by(r.c.seq).limit(limit)
        rows = list(self._session.execute(query).mappings())
        if not rows:
            return []
        agreements: dict[str, builtins.list[tuple[str, str]]] = defaultdict(list)
        ids = [row["id"] for row in rows]
        used = select(a.c.release_id, a.c.agreement_id, a.c.fingerprint).where(a.c.release_id.in_(ids))
        for release_id, agreement_id, fingerprint in self._session.execute(used.order_by(a.c.position)):
            agreements[release_id].append((agreement_id, fingerprint))
        shared = {row["evidence"] for row in rows if row["evidence"] is not None}
        evidence: dict[str, bytes] = {}
        if shared:
            e = nt.decision_evidence
            found = self._session.execute(select(e.c.digest, e.c.evidence).where(e.c.digest.in_(sorted(shared))))
            # Kept only if it is what its digest says, with one mark: else _decision refuses.
            evidence = {d: bytes(b) for d, b in found if _sha256(b) == d and bytes(b).count(_MARK_JSON) == 1}
        out = []
        for row in rows:
            try:
                out.append(_release(row, agreements[row["id"]], evidence))
            except (Error, KeyError, TypeError, ValueError) as e:
                unreadable("release", row["id"], e)
        return out


def _json(value: object) -> str:
    return canonical_bytes(value).decode("utf-8")


# A batch of releases goes mostly by a few routes: their JSON is made once per route.
@lru_cache(maxsize=256)
def _route_json(route: tuple[str, ...]) -> str:
    return _json(list(route))


@lru_cache(maxsize=256)
def _hops_json(hops: tuple[Hop, ...]) -> str:
    return _json([h.to_dict() for h in hops])


_MARK_JSON = canonical_bytes(nt.EVIDENCE_RECORD_MARK)


def _check_distinct(releases: Sequence[Release]) -> None:
    """No two releases of one batch share an id or a message id."""
    ids = [r.id for r in releases]
    messages = [r.message_id for r in releases if r.message_id is not None]
    for seen, what in ((ids, "release"), (messages, "message")):
        if len(set(seen)) != len(seen):
            rules.refuse_duplicate(what, min(x for x in seen if seen.count(x) > 1))


def _insert_new(session: Session, table: Table) -> Insert:
    """An INSERT that leaves a row whose key is already there as it is."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


def _split_decision(release: Release) -> tuple[str, bytes] | None:
    """The release's decision as shared evidence (digest, bytes), or ``None`` to keep it in the row.

    The record id is the only part of a decision that differs between like releases;
    it is shared only when its JSON occurs exactly once and the mark not at all, so
    putting the record id back gives the very bytes (see ``_decision``).
    """
    record = canonical_bytes(release.record_id)
    if release.decision.count(record) != 1 or _MARK_JSON in release.decision:
        return None
    evidence = release.decision.replace(record, _MARK_JSON)
    return _sha256(evidence), evidence


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _decision(row: RowMapping, evidence: Mapping[str, bytes]) -> bytes:
    """The stored decision's bytes: in the row, or rebuilt from its evidence and the record id."""
    digest = row["evidence"]
    if digest is None:
        return bytes(row["decision"])
    shared = evidence.get(digest)
    if shared is None:
        msg = f"decision evidence {digest} is missing or altered"
        raise ValueError(msg)
    return shared.replace(_MARK_JSON, canonical_bytes(row["record_id"]))


def _release_row(release: Release, evidence: dict[str, bytes]) -> dict[str, object]:
    """The row of ``release``; its decision's evidence, when shared, goes into ``evidence``."""
    split = _split_decision(release)
    if split is not None:
        evidence[split[0]] = split[1]
    return {
        "id": release.id,
        "message_id": release.message_id,
        "record_id": release.record_id,
        "sender": release.sender,
        "recipient": release.recipient,
        "decided_on": release.on,
        "route": _route_json(release.route),
        "hops": _hops_json(release.hops),
        "decision": release.decision if split is None else b"",
        "evidence": None if split is None else split[0],
        "label": release.label,
        "envelope": release.envelope,
        "state": release.state.value,
        "created_at": release.created_at,
        "updated_at": release.updated_at,
    }


def _release(row: RowMapping, agreements: Sequence[tuple[str, str]], evidence: Mapping[str, bytes]) -> Release:
    return Release(
        id=row["id"],
        message_id=row["message_id"],
        record_id=row["record_id"],
        sender=row["sender"],
        recipient=row["recipient"],
        on=row["decided_on"],
        route=tuple(json.loads(row["route"])),
        hops=tuple(Hop(**hop) for hop in json.loads(row["hops"])),
        agreements=tuple(agreements),
        decision=_decision(row, evidence),
        label=row["label"],
        envelope=row["envelope"],
        state=ReleaseState(row["state"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )
