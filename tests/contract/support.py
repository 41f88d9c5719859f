"""Helpers shared by the storage contract tests: failure injection and test worlds."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, event

from accord.domain.agreement import Agreement, AgreementKind, Citation, Equivalence, Event, EventKind, Term
from accord.domain.classification import Level, LevelId, Scheme
from accord.domain.party import Party, PartyCode, PartyKind
from accord.domain.world import World

D = dt.date


class InjectedError(RuntimeError):
    """Raised on purpose in the middle of a save."""


def sqlite_url(directory: Path) -> str:
    # A directory that does not exist yet: make_engine must create it.
    return f"sqlite:///{directory / 'node' / 'accord.db'}"


@contextmanager
def failing_at_insert_into(engine: Engine | type[Engine], table: str) -> Iterator[list[str]]:
    """Raise InjectedError when ``table`` is first written; yields the writes before it."""
    writes: list[str] = []

    def before(_conn, _cursor, statement: str, *_args) -> None:
        words = statement.split(None, 3)
        if words[0].upper() in {"INSERT", "UPDATE", "DELETE"}:
            if words[0].upper() == "INSERT" and words[2] == table:
                raise InjectedError(statement)
            writes.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield writes
    finally:
        event.remove(engine, "before_cursor_execute", before)


def fingerprints(world: World) -> dict[str, str]:
    return {a.id: a.fingerprint for a in world.agreements}


def with_agreement(world: World, agreement: Agreement) -> World:
    """``world`` with the agreement of the same id replaced by ``agreement``."""
    agreements = tuple(agreement if a.id == agreement.id else a for a in world.agreements)
    return dataclasses.replace(world, agreements=agreements)


def amended(agreement: Agreement, note: str = "amended") -> Agreement:
    event = Event(on=D(2024, 1, 1), kind=EventKind.AMENDED, summary=note, source="https://example.org/amendment")
    return dataclasses.replace(agreement, notes=f"{agreement.notes} ({note})", events=(*agreement.events, event))


# -- a world that exercises every field and order the model keeps -----------------------


def _level(level_id: str, rank: int, **kw: object) -> Level:
    return Level(id=LevelId(level_id), rank=rank, native=f"{level_id} 級", **kw)  # type: ignore[arg-type]


def edge_world() -> World:
    aaa = Scheme(
        party="AAA",
        name="AAA scheme",
        source="https://example.org/aaa https://example.org/aaa-2",
        levels=(
            _level("AAA/L2", 2, romanised="Ni", english="SECRET", note="top"),
            # equal ranks: the given order is part of the scheme
            _level("AAA/L1b", 1, valid_from=D(2014, 12, 10)),
            _level("AAA/L1a", 1, valid_until=D(2014, 12, 9)),
        ),
    )
    bbb = Scheme(party="BBB", name="BBB scheme", levels=(_level("BBB/L1", 1), _level("BBB/L2", 2)))
    hhh = Scheme(party="HHH", name="HHH scheme", levels=(_level("HHH/L1", 1),))
    parties = (
        Party(code=PartyCode("BBB"), name="Party B", native_name="비"),
        Party(code=PartyCode("AAA"), name="Party A", authority="Ministry"),
        Party(code=PartyCode("HHH"), name="Hub", kind=PartyKind.ORGANISATION),
        # a party marking in another party's scheme
        Party(code=PartyCode("XXX"), name="Party X", scheme="AAA"),
    )
    src = "https://example.org/src"
    bilateral = Agreement(
        id="AAA-BBB",
        kind=AgreementKind.INFORMATION_SECURITY,
        title="A-B agreement",
        parties=("BBB", "AAA", "XXX"),
        topics=frozenset(),  # restricted to nothing, which is not "unrestricted"
        purposes=frozenset({"p2", "p1"}),
        term=Term(),
        equivalences=(
            Equivalence(levels=(("BBB", ("BBB/L1",)), ("AAA", ("AAA/L1b", "AAA/L1a"))), english="LOW", source=src),
            Equivalence(levels=(("AAA", ("AAA/L2",)), ("BBB", ("BBB/L2",))), inferred=True),
        ),
        clauses=(
            ("scope", Citation(cite="Art.2", source=src)),
            ("consent", Citation(cite="Art.5")),
            ("scope", Citation(cite="Art.2 as amended")),  # the model keeps both; so must we
        ),
        sources=(src, "https://example.org/other", src),
        notes="Ünïcode notes — 協定",
        events=(
            Event(on=D(2001, 1, 1), kind=EventKind.SIGNED, summary="signed"),
            Event(on=D(2001, 1, 1), kind=EventKind.IN_FORCE, summary="same day, after signing", party="XXX"),
            Event(on=D(2005, 3, 1), kind=EventKind.TERMINATION_NOTIFIED, effective=D(2005, 9, 1), party="AAA"),
            Event(on=D(2005, 4, 1), kind=EventKind.NOTICE_WITHDRAWN, inferred=True, source=src),
        ),
    )
    hub = Agreement(
        id="HUB",
        kind=AgreementKind.HUB_ARRANGEMENT,
        title="hub arrangement",
        parties=("AAA", "BBB", "HHH"),
        hub="HHH",
        binding=False,
        topics=frozenset({"t1", "t2"}),
        relies_on=("BBB-HHH", "AAA-BBB"),  # the first one comes later in the world
        excluded_levels=("AAA/L2", "BBB/L2"),
        term=Term(initial_years=1, renewal_years=2, notice_days=0, anniversary=(2, 29)),
        equivalences=(Equivalence(levels=(("AAA", ("AAA/L1a",)), ("HHH", ("HHH/L1",)), ("BBB", ("BBB/L1",)))),),
        events=(Event(on=D(2010, 1, 1), kind=EventKind.IN_FORCE),),
    )
    other = Agreement(
        id="BBB-HHH",
        kind=AgreementKind.INFORMATION_SECURITY,
        title="B-H agreement",
        parties=("HHH", "BBB"),
        events=(
            Event(on=D(2002, 1, 1), kind=EventKind.IN_FORCE),
            Event(on=D(2020, 1, 1), kind=EventKind.TERMINATED),
        ),
    )
    return World(parties=parties, schemes=(bbb, aaa, hhh), agreements=(bilateral, hub, other))
