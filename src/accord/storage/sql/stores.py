"""Map the world to SQL rows and back: :class:`SqlWorldStore`.

Saving compares the world with the rows already stored and writes only the difference:
parties, schemes and levels row by row, agreements by fingerprint (an agreement whose
fingerprint changed is replaced whole, one whose fingerprint is unchanged is left
alone). Loading rebuilds the domain values with one query per table and checks that
each agreement still hashes to the fingerprint stored with it.

The store never begins, commits or rolls back: the caller's session owns the
transaction (services do), so a failed save leaves nothing behind once rolled back.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import ColumnElement, RowMapping, Table, delete, insert, select, update
from sqlalchemy.orm import Session

from accord.domain.agreement import (
    Agreement,
    AgreementKind,
    Citation,
    Equivalence,
    Event,
    EventKind,
    Term,
)
from accord.domain.classification import Level, LevelId, Scheme
from accord.domain.party import Party, PartyCode, PartyKind
from accord.domain.world import World
from accord.errors import Error, StorageError
from accord.storage.sql import tables as t

__all__ = ["SqlWorldStore"]

_Row = dict[str, Any]
_Stored = RowMapping

# Bound the number of parameters of one IN (...) list: SQLite refuses more than
# 32,766 bind variables in a statement, and a registry may hold 10,000 agreements.
_CHUNK: Final = 500

_RELOAD_HINT: Final = "load the world again with `accord world load`"


class SqlWorldStore:
    """The world in a SQL database, through the caller's session."""

    def __init__(self, session: Session) -> None:
        """Use ``session`` for every statement; its owner commits or rolls back."""
        self._session = session

    # -- reading ----------------------------------------------------------------------

    def fingerprint(self) -> str | None:
        """The fingerprint of the stored world, or ``None`` if none was saved."""
        query = select(t.world.c.fingerprint).where(t.world.c.id == t.WORLD_ROW_ID)
        fingerprint: str | None = self._session.execute(query).scalar_one_or_none()
        return fingerprint

    def load(self) -> World | None:
        """The stored world, or ``None`` if none was saved.

        Raises:
            StorageError: the rows no longer make a valid world, or an agreement no
                longer hashes to its stored fingerprint (edited outside Accord).
        """
        expected = self.fingerprint()
        if expected is None:
            return None
        schemes = self._schemes()
        parties = tuple(_party(row) for row in self._rows(t.parties, t.parties.c.position))
        agreement_rows = self._rows(t.agreements, t.agreements.c.position)
        children = self._children()
        try:
            agreements = tuple(_agreement(row, children[row["id"]]) for row in agreement_rows)
            world = World(parties=parties, schemes=schemes, agreements=agreements)
        except (Error, ValueError) as e:
            detail = e.message if isinstance(e, Error) else str(e)
            msg = f"the stored world no longer validates: {detail}"
            raise StorageError(msg, hint=_RELOAD_HINT) from e
        for row, agreement in zip(agreement_rows, agreements, strict=True):
            if agreement.fingerprint != row["fingerprint"]:
                msg = (
                    f"agreement {agreement.id} no longer matches its stored fingerprint "
                    f"{row['fingerprint'][:12]}…: its rows were changed outside Accord"
                )
                raise StorageError(msg, hint=_RELOAD_HINT)
        if world.fingerprint != expected:
            msg = "the stored world no longer matches its fingerprint: rows changed outside Accord"
            raise StorageError(msg, hint=_RELOAD_HINT)
        return world

    def _rows(self, table: Table, *order: ColumnElement[Any]) -> list[_Stored]:
        return list(self._session.execute(select(table).order_by(*order)).mappings())

    def _schemes(self) -> tuple[Scheme, ...]:
        levels: dict[str, list[Level]] = defaultdict(list)
        for row in self._rows(t.levels, t.levels.c.scheme, t.levels.c.position):
            levels[row["scheme"]].append(_level(row))
        return tuple(
            Scheme(
                party=row["party"],
                name=row["name"],
                levels=tuple(levels[row["party"]]),
                source=row["source"],
            )
            for row in self._rows(t.schemes, t.schemes.c.position)
        )

    def _children(self) -> dict[str, dict[Table, list[_Stored]]]:
        """Every agreement's child rows by agreement id and table, in domain order."""
        out: dict[str, dict[Table, list[_Stored]]] = defaultdict(lambda: defaultdict(list))
        for table in t.AGREEMENT_CHILDREN:
            order = [table.c[name] for name in _ORDER.get(table.name, ("position",))]
            for row in self._rows(table, *order):
                out[row["agreement_id"]][table].append(row)
        return out

    # -- writing ----------------------------------------------------------------------

    def save(self, world: World) -> bool:
        """Make the stored world equal ``world``; True if any row changed."""
        stored = self._lock()
        changed = stored != world.fingerprint
        plan = _Plan.of(self._stored_agreements(), world)
        changed |= plan.changed
        # Clear first what is replaced or removed, so that the reference data below may
        # drop parties and levels that only those rows still pointed at. Children go
        # explicitly rather than by cascade: PostgreSQL may check "still relied on" before
        # it cascades, when removed agreements rely on one another.
        self._delete_where(reversed(t.AGREEMENT_CHILDREN), (*plan.replaced, *plan.removed))
        self._delete_where((t.agreements,), plan.removed, column="id")
        changed |= self._upsert(t.schemes, "party", _scheme_rows(world))
        changed |= self._upsert(t.levels, "id", _level_rows(world))
        changed |= self._upsert(t.parties, "code", _party_rows(world))
        self._write_agreements(world, plan)
        # Stale reference rows go last, dependants before what they depend on.
        changed |= self._delete_stale(t.parties, "code", {p.code for p in world.parties})
        changed |= self._delete_stale(t.levels, "id", {lv.id for s in world.schemes for lv in s.levels})
        changed |= self._delete_stale(t.schemes, "party", {s.party for s in world.schemes})
        if changed:
            self._session.execute(
                update(t.world).where(t.world.c.id == t.WORLD_ROW_ID).values(fingerprint=world.fingerprint)
            )
        return changed

    def _lock(self) -> str | None:
        """Lock the world row (serialising loaders on PostgreSQL); its fingerprint."""
        query = select(t.world.c.fingerprint).where(t.world.c.id == t.WORLD_ROW_ID)
        row = self._session.execute(query.with_for_update()).one_or_none()
        if row is None:  # the migration makes it; recreate it if someone deleted it
            self._session.execute(insert(t.world).values(id=t.WORLD_ROW_ID, fingerprint=None))
            return None
        fingerprint: str | None = row.fingerprint
        return fingerprint

    def _stored_agreements(self) -> dict[str, tuple[str, int]]:
        query = select(t.agreements.c.id, t.agreements.c.fingerprint, t.agreements.c.position)
        return {row.id: (row.fingerprint, row.position) for row in self._session.execute(query)}

    def _write_agreements(self, world: World, plan: _Plan) -> None:
        children: dict[Table, list[_Row]] = defaultdict(list)
        added: list[_Row] = []
        for position, agreement in enumerate(world.agreements):
            if agreement.id in plan.moved:
                self._session.execute(
                    update(t.agreements).where(t.agreements.c.id == agreement.id).values(position=position)
                )
                continue
            if agreement.id not in plan.written:
                continue
            row, rows = _agreement_rows(agreement, position)
            for table, items in rows.items():
                children[table].extend(items)
            if agreement.id in plan.replaced:
                self._session.execute(update(t.agreements).where(t.agreements.c.id == agreement.id).values(row))
            else:
                added.append(row)
        # Every agreement row exists before any child: relies_on may point forward.
        if added:
            self._session.execute(insert(t.agreements), added)
        for table in t.AGREEMENT_CHILDREN:
            if children[table]:
                self._session.execute(insert(table), children[table])

    def _upsert(self, table: Table, key: str, rows: list[_Row]) -> bool:
        """Insert missing rows and update differing ones; True if any was written."""
        existing = {row[key]: dict(row) for row in self._session.execute(select(table)).mappings()}
        fresh = [row for row in rows if row[key] not in existing]
        changed = bool(fresh)
        for row in rows:
            old = existing.get(row[key])
            if old is not None and old != row:
                values = {name: value for name, value in row.items() if name != key}
                self._session.execute(update(table).where(table.c[key] == row[key]).values(values))
                changed = True
        if fresh:
            self._session.execute(insert(table), fresh)
        return changed

    def _delete_stale(self, table: Table, key: str, keep: set[str]) -> bool:
        """Delete the rows whose key is not in ``keep``; True if there were any."""
        stale = [k for k in self._session.execute(select(table.c[key])).scalars() if k not in keep]
        self._delete_where((table,), stale, column=key)
        return bool(stale)

    def _delete_where(self, tables: Iterable[Table], keys: Sequence[str], *, column: str = "agreement_id") -> None:
        if not keys:
            return
        for table in tables:
            for chunk in _chunks(keys):
                self._session.execute(delete(table).where(table.c[column].in_(chunk)))


# Child tables whose rows are not ordered by a single `position` column.
_ORDER: Final[dict[str, tuple[str, ...]]] = {
    t.agreement_terms.name: (),
    t.agreement_parties.name: ("party",),
    t.agreement_scope.name: ("dimension", "value"),
    t.equivalence_levels.name: ("row_position", "party_position", "level_position"),
}


def _chunks(keys: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(keys), _CHUNK):
        yield keys[start : start + _CHUNK]


@dataclass(frozen=True, slots=True)
class _Plan:
    """Which agreements a save adds, replaces, removes or only moves in the order."""

    replaced: tuple[str, ...]
    removed: tuple[str, ...]
    moved: frozenset[str]
    written: frozenset[str]  # added or replaced: their rows are written afresh

    @classmethod
    def of(cls, stored: dict[str, tuple[str, int]], world: World) -> _Plan:
        replaced: list[str] = []
        moved: set[str] = set()
        written: set[str] = set()
        for position, agreement in enumerate(world.agreements):
            before = stored.get(agreement.id)
            if before is None or before[0] != agreement.fingerprint:
                written.add(agreement.id)
                if before is not None:
                    replaced.append(agreement.id)
            elif before[1] != position:
                moved.add(agreement.id)
        ids = {a.id for a in world.agreements}
        removed = tuple(sorted(i for i in stored if i not in ids))
        return cls(tuple(replaced), removed, frozenset(moved), frozenset(written))

    @property
    def changed(self) -> bool:
        return bool(self.written or self.removed or self.moved)


# -- domain -> rows ---------------------------------------------------------------------


def _scheme_rows(world: World) -> list[_Row]:
    return [{"party": s.party, "position": i, "name": s.name, "source": s.source} for i, s in enumerate(world.schemes)]


def _level_rows(world: World) -> list[_Row]:
    return [
        {
            "id": lv.id,
            "scheme": s.party,
            "position": i,
            "rank": lv.rank,
            "native": lv.native,
            "romanised": lv.romanised,
            "english": lv.english,
            "valid_from": lv.valid_from,
            "valid_until": lv.valid_until,
            "note": lv.note,
        }
        for s in world.schemes
        for i, lv in enumerate(s.levels)
    ]


def _party_rows(world: World) -> list[_Row]:
    return [
        {
            "code": p.code,
            "position": i,
            "name": p.name,
            "kind": p.kind.value,
            "native_name": p.native_name,
            "authority": p.authority,
            "scheme": p.scheme,
        }
        for i, p in enumerate(world.parties)
    ]


def _agreement_rows(a: Agreement, position: int) -> tuple[_Row, dict[Table, list[_Row]]]:
    row = {
        "id": a.id,
        "position": position,
        "kind": a.kind.value,
        "title": a.title,
        "binding": a.binding,
        "hub": a.hub,
        "restricts_topics": a.topics is not None,
        "restricts_purposes": a.purposes is not None,
        "notes": a.notes,
        "fingerprint": a.fingerprint,
    }
    key = {"agreement_id": a.id}
    children: dict[Table, list[_Row]] = {
        t.agreement_parties: [{**key, "party": p} for p in a.parties],
        t.agreement_scope: [
            {**key, "dimension": dimension, "value": value}
            for dimension, values in (("topic", a.topics), ("purpose", a.purposes))
            for value in sorted(values or ())
        ],
        t.agreement_events: [{**key, "position": i, **_event_row(e)} for i, e in enumerate(a.events)],
        t.agreement_equivalences: [
            {**key, "position": i, "english": r.english, "inferred": r.inferred, "source": r.source}
            for i, r in enumerate(a.equivalences)
        ],
        t.equivalence_levels: [
            {
                **key,
                "row_position": i,
                "party_position": j,
                "level_position": k,
                "party": party,
                "level_id": level_id,
            }
            for i, r in enumerate(a.equivalences)
            for j, (party, ids) in enumerate(r.levels)
            for k, level_id in enumerate(ids)
        ],
        t.agreement_excluded_levels: [{**key, "position": i, "level_id": lv} for i, lv in enumerate(a.excluded_levels)],
        t.agreement_relies_on: [{**key, "position": i, "relied_on": other} for i, other in enumerate(a.relies_on)],
        t.agreement_clauses: [
            {**key, "position": i, "rule": rule, "cite": c.cite, "source": c.source}
            for i, (rule, c) in enumerate(a.clauses)
        ],
        t.agreement_sources: [{**key, "position": i, "url": u} for i, u in enumerate(a.sources)],
    }
    if a.term is not None:
        children[t.agreement_terms] = [{**key, **_term_row(a.term)}]
    return row, children


def _event_row(e: Event) -> _Row:
    return {
        "occurred_on": e.on,
        "kind": e.kind.value,
        "summary": e.summary,
        "party": e.party,
        "effective": e.effective,
        "source": e.source,
        "inferred": e.inferred,
    }


def _term_row(term: Term) -> _Row:
    month, day = term.anniversary or (None, None)
    return {
        "initial_years": term.initial_years,
        "renewal_years": term.renewal_years,
        "notice_days": term.notice_days,
        "anniversary_month": month,
        "anniversary_day": day,
    }


# -- rows -> domain ---------------------------------------------------------------------


def _level(row: _Stored) -> Level:
    return Level(
        id=LevelId(row["id"]),
        rank=row["rank"],
        native=row["native"],
        romanised=row["romanised"],
        english=row["english"],
        valid_from=row["valid_from"],
        valid_until=row["valid_until"],
        note=row["note"],
    )


def _party(row: _Stored) -> Party:
    return Party(
        code=PartyCode(row["code"]),
        name=row["name"],
        kind=PartyKind(row["kind"]),
        native_name=row["native_name"],
        authority=row["authority"],
        scheme=row["scheme"],
    )


def _agreement(row: _Stored, children: Mapping[Table, list[_Stored]]) -> Agreement:
    scope = children[t.agreement_scope]
    terms = children[t.agreement_terms]
    return Agreement(
        id=row["id"],
        kind=AgreementKind(row["kind"]),
        title=row["title"],
        parties=tuple(r["party"] for r in children[t.agreement_parties]),
        events=tuple(_event(r) for r in children[t.agreement_events]),
        binding=row["binding"],
        hub=row["hub"],
        topics=_scope(scope, "topic") if row["restricts_topics"] else None,
        purposes=_scope(scope, "purpose") if row["restricts_purposes"] else None,
        equivalences=_equivalences(children[t.agreement_equivalences], children[t.equivalence_levels]),
        excluded_levels=tuple(r["level_id"] for r in children[t.agreement_excluded_levels]),
        term=_term(terms[0]) if terms else None,
        relies_on=tuple(r["relied_on"] for r in children[t.agreement_relies_on]),
        clauses=tuple((r["rule"], Citation(cite=r["cite"], source=r["source"])) for r in children[t.agreement_clauses]),
        sources=tuple(r["url"] for r in children[t.agreement_sources]),
        notes=row["notes"],
    )


def _scope(rows: list[_Stored], dimension: str) -> frozenset[str]:
    return frozenset(r["value"] for r in rows if r["dimension"] == dimension)


def _event(row: _Stored) -> Event:
    return Event(
        on=row["occurred_on"],
        kind=EventKind(row["kind"]),
        summary=row["summary"],
        party=row["party"],
        effective=row["effective"],
        source=row["source"],
        inferred=row["inferred"],
    )


def _equivalences(rows: list[_Stored], cells: list[_Stored]) -> tuple[Equivalence, ...]:
    # cells come ordered by (row, party, level) position: regroup them into
    # ((party, (level, ...)), ...) per row, keeping both orders.
    grouped: dict[int, dict[int, tuple[str, list[str]]]] = defaultdict(dict)
    for cell in cells:
        party = grouped[cell["row_position"]].setdefault(cell["party_position"], (cell["party"], []))
        party[1].append(cell["level_id"])
    return tuple(
        Equivalence(
            levels=tuple((party, tuple(ids)) for party, ids in grouped[r["position"]].values()),
            english=r["english"],
            inferred=r["inferred"],
            source=r["source"],
        )
        for r in rows
    )


def _term(row: _Stored) -> Term:
    month, day = row["anniversary_month"], row["anniversary_day"]
    return Term(
        initial_years=row["initial_years"],
        renewal_years=row["renewal_years"],
        notice_days=row["notice_days"],
        anniversary=(month, day) if month is not None else None,
    )
