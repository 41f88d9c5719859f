"""Small builders of domain values for tests: a two-scheme world, agreements, records."""

from __future__ import annotations

import datetime as dt
import itertools

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
from accord.domain.party import Party, PartyCode
from accord.domain.record import Portion, Record
from accord.domain.world import World

D = dt.date
_ids = itertools.count(1)


def scheme(code: str, levels: int = 3) -> Scheme:
    """A scheme ``code`` with levels L1 (lowest) .. Ln (highest)."""
    return Scheme(
        party=code,
        name=f"{code} scheme",
        levels=tuple(
            Level(id=LevelId(f"{code}/L{r}"), rank=r, native=f"{code} level {r}") for r in range(1, levels + 1)
        ),
    )


def party(code: str) -> Party:
    return Party(code=PartyCode(code), name=f"Party {code}")


def table(*codes: str, levels: int = 3, upto: int | None = None, inferred: bool = False) -> tuple[Equivalence, ...]:
    """Rows relating level r of every party for r in 1..upto (downward closed)."""
    top = upto if upto is not None else levels
    return tuple(
        Equivalence(
            levels=tuple((c, (f"{c}/L{r}",)) for c in codes),
            english=f"LEVEL {r}",
            inferred=inferred,
        )
        for r in range(1, top + 1)
    )


def events(*pairs: tuple[str, EventKind] | tuple[str, EventKind, str]) -> tuple[Event, ...]:
    out = []
    for item in pairs:
        effective = D.fromisoformat(item[2]) if len(item) == 3 else None  # type: ignore[misc]
        out.append(Event(on=D.fromisoformat(item[0]), kind=item[1], effective=effective, source="test"))
    return tuple(out)


def gsomia(
    a: str,
    b: str,
    *,
    start: str = "2000-01-01",
    upto: int = 3,
    extra: tuple[Event, ...] = (),
    **kw: object,
) -> Agreement:
    return Agreement(
        id=kw.pop("id", f"{a}-{b}-ISA"),  # type: ignore[arg-type]
        kind=AgreementKind.INFORMATION_SECURITY,
        title=f"{a}-{b} information security agreement",
        parties=(a, b),
        events=(Event(on=D.fromisoformat(start), kind=EventKind.IN_FORCE, source="test"), *extra),
        equivalences=kw.pop("equivalences", table(a, b, upto=upto)),  # type: ignore[arg-type]
        clauses=(
            ("consent", Citation(cite="Art.5")),
            ("in-force", Citation(cite="Art.21")),
            ("level-covered", Citation(cite="Art.4")),
            ("marking", Citation(cite="Art.4.2")),
            ("scope", Citation(cite="Art.2")),
        ),
        **kw,  # type: ignore[arg-type]
    )


def hub(
    hub_code: str,
    *others: str,
    topics: frozenset[str] | None = frozenset({"t1"}),
    start: str = "2000-01-01",
    upto: int = 3,
    **kw: object,
) -> Agreement:
    codes = (hub_code, *others)
    return Agreement(
        id=kw.pop("id", "HUB-" + "-".join(codes)),  # type: ignore[arg-type]
        kind=AgreementKind.HUB_ARRANGEMENT,
        title="hub arrangement",
        parties=codes,
        hub=hub_code,
        binding=False,
        topics=topics,
        events=(Event(on=D.fromisoformat(start), kind=EventKind.IN_FORCE, source="test"),),
        equivalences=table(*codes, upto=upto),
        clauses=(("hub", Citation(cite="para 4")), ("scope", Citation(cite="para 1"))),
        **kw,  # type: ignore[arg-type]
    )


def world(*agreements: Agreement, codes: tuple[str, ...] = ("AAA", "BBB", "HHH", "CCC")) -> World:
    return World(
        parties=tuple(party(c) for c in codes),
        schemes=tuple(scheme(c) for c in codes),
        agreements=agreements,
    )


def record(
    originator: str = "AAA",
    level: int = 2,
    rel_to: tuple[str, ...] = ("BBB",),
    topics: tuple[str, ...] = ("t1",),
    portions: tuple[tuple[int, tuple[str, ...]], ...] | None = None,
    purpose: str = "",
    record_id: str | None = None,
) -> Record:
    parts = portions if portions is not None else ((level, rel_to),)
    return Record(
        id=record_id or f"rec-{next(_ids)}",
        originator=originator,
        title="test record",
        topics=frozenset(topics),
        purpose=purpose,
        portions=tuple(
            Portion(id=str(i), level=f"{originator}/L{lv}", rel_to=frozenset(rel))
            for i, (lv, rel) in enumerate(parts, 1)
        ),
    )


__all__ = ["D", "Term", "events", "gsomia", "hub", "party", "record", "scheme", "table", "world"]
