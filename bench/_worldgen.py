"""Deterministic synthetic registries and release requests for the benchmarks.

``generate_world`` builds a world of real domain objects (parties, schemes of 3-4
levels, information-security agreements between pairs with downward-closed equivalence
tables and dated lifecycles, hub arrangements with topic scopes, logistics and
consultation agreements) from a seed, so every run measures the same registry.
``generate_requests`` draws a mix of release questions over a world: direct and hub
routes, out-of-scope topics, uncovered levels, dates before entry into force and after
termination, records not releasable to the recipient, multi-portion records.

Successive agreements between one pair never overlap in force (a successor enters into
force the day its predecessor ends), as in practice; ``bench/_cedar.py`` says why that
matters to the Cedar comparison.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

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

__all__ = ["Request", "generate_requests", "generate_world"]

D = dt.date
TOPICS = tuple(f"topic-{i:02d}" for i in range(24))
PURPOSES = ("intelligence", "planning", "exercise", "operations", "research")
FIRST_DAY = D(1985, 1, 1)
LAST_DAY = D(2035, 12, 31)
_ENGLISH = ("RESTRICTED", "CONFIDENTIAL", "SECRET", "TOP SECRET")
_HUBS = 8  # the first parties act as hubs: many agreements, and hub arrangements


@dataclass(frozen=True, slots=True)
class Request:
    """One release question: the record, the recipient, the date, and what it tests."""

    record: Record
    recipient: str
    on: dt.date
    kind: str


def _day(rng: random.Random, lo: dt.date, hi: dt.date) -> dt.date:
    return lo + dt.timedelta(days=rng.randrange(max(1, (hi - lo).days)))


def _party(i: int) -> tuple[Party, Scheme]:
    code = f"P{i:03d}"
    n = 3 + (i * 7919) % 2  # 3 or 4 levels, fixed by the index
    levels = tuple(
        Level(
            id=LevelId(f"{code}/L{r}"),
            rank=r,
            native=f"{code} 등급 {r}",
            romanised=f"{code} grade {r}",
            english=_ENGLISH[r - 1],
        )
        for r in range(1, n + 1)
    )
    party = Party(code=PartyCode(code), name=f"Ministry of Defence {code}")
    return party, Scheme(party=code, name=f"{code} classification", levels=levels)


def _table(rng: random.Random, codes: Sequence[str], sizes: dict[str, int], upto: int) -> tuple[Equivalence, ...]:
    """Rows relating rank r of every party for r in 1..upto: downward closed on each side.

    When a party has one level more than the table's top row reaches, that row may list
    the party's top two levels, preferred first (as Japan lists 極秘 and 特定秘密).
    """
    rows = []
    for r in range(1, upto + 1):
        levels = []
        for code in codes:
            ids: tuple[str, ...] = (f"{code}/L{r}",)
            if r == upto and sizes[code] == upto + 1 and rng.random() < 0.3:
                ids = (f"{code}/L{r + 1}", f"{code}/L{r}")
            levels.append((code, ids))
        rows.append(
            Equivalence(
                levels=tuple(levels),
                english=_ENGLISH[r - 1],
                inferred=rng.random() < 0.2,
                source=f"https://registry.example/tables/{'-'.join(codes)}#{r}",
            )
        )
    return tuple(rows)


def _excluded(
    rng: random.Random, codes: Sequence[str], sizes: dict[str, int], rows: tuple[Equivalence, ...]
) -> tuple[str, ...]:
    if rng.random() < 0.5:
        return ()
    covered = {i for row in rows for _, ids in row.levels for i in ids}
    return tuple(f"{c}/L{r}" for c in codes for r in range(1, sizes[c] + 1) if f"{c}/L{r}" not in covered)


def _clauses(agreement_id: str, rules: Sequence[str]) -> tuple[tuple[str, Citation], ...]:
    return tuple(
        (rule, Citation(cite=f"Art.{n + 1}: {rule}", source=f"https://registry.example/{agreement_id}#art{n + 1}"))
        for n, rule in enumerate(rules)
    )


_ISA_RULES = ("in-force", "level-covered", "scope", "consent", "marking")
_HUB_RULES = ("in-force", "scope", "hub", "consent", "level-covered", "marking")


def _lifecycle(rng: random.Random, start: dt.date, *, last: bool) -> tuple[list[Event], Term | None]:  # noqa: C901 - one branch per ending
    """Events from entry into force; unless ``last``, the agreement ends (for a successor)."""

    def ev(on: dt.date, kind: EventKind, **kw: object) -> Event:
        return Event(on=on, kind=kind, source="https://registry.example/events", **kw)  # type: ignore[arg-type]

    signed = start - dt.timedelta(days=rng.choice((0, 0, 14, 60, 180)))
    events = [ev(signed, EventKind.SIGNED)]
    term = None
    endings = ["notice", "terminated", "withdrawn-then-terminated", "term-notice"]
    if last:
        endings += ["open", "open", "open", "open", "suspended", "withdrawn", "future", "never"]
    ending = rng.choice(endings)
    if ending == "never":
        return events, term
    if ending == "future":
        start = _day(rng, D(2026, 1, 1), D(2031, 1, 1))
    events.append(ev(start, EventKind.IN_FORCE))
    notice = start + dt.timedelta(days=rng.randrange(400, 4000))
    if rng.random() < 0.3:
        events.append(ev(start + (notice - start) / 2, EventKind.AMENDED, summary="amended"))
    effective = notice + dt.timedelta(days=rng.randrange(90, 400))
    match ending:
        case "notice":
            events.append(ev(notice, EventKind.TERMINATION_NOTIFIED, effective=effective))
        case "terminated":
            events.append(ev(notice, EventKind.TERMINATED))
        case "withdrawn-then-terminated":
            events.append(ev(notice, EventKind.TERMINATION_NOTIFIED, effective=effective))
            events.append(ev(notice + dt.timedelta(days=30), EventKind.NOTICE_WITHDRAWN))
            events.append(ev(effective + dt.timedelta(days=rng.randrange(200, 2000)), EventKind.TERMINATED))
        case "term-notice":
            term = Term(initial_years=1, renewal_years=1, notice_days=90, anniversary=(start.month, min(start.day, 28)))
            events.append(ev(notice, EventKind.TERMINATION_NOTIFIED))
        case "suspended":
            events.append(ev(notice, EventKind.TERMINATION_NOTIFIED, effective=effective))
            events.append(ev(notice + dt.timedelta(days=20), EventKind.NOTICE_SUSPENDED))
        case "withdrawn":
            events.append(ev(notice, EventKind.TERMINATION_NOTIFIED, effective=effective))
            events.append(ev(notice + dt.timedelta(days=20), EventKind.NOTICE_SUSPENDED))
            events.append(ev(notice + dt.timedelta(days=60), EventKind.NOTICE_WITHDRAWN))
    return events, term


def _scope(rng: random.Random, restrict: float) -> frozenset[str] | None:
    if rng.random() >= restrict:
        return None
    return frozenset(rng.sample(TOPICS, rng.randrange(6, 13)))


def _isa(  # noqa: PLR0913 - an agreement between a and b, numbered n, from start
    rng: random.Random, n: int, a: str, b: str, sizes: dict[str, int], start: dt.date, *, last: bool
) -> Agreement:
    agreement_id = f"ISA-{n:05d}"
    events, term = _lifecycle(rng, start, last=last)
    smaller = min(sizes[a], sizes[b])
    upto = rng.choice((smaller, smaller, smaller - 1, max(1, smaller - 2)))
    rows = _table(rng, (a, b), sizes, upto)
    purposes = frozenset(rng.sample(PURPOSES, 3)) if rng.random() < 0.1 else None
    return Agreement(
        id=agreement_id,
        kind=AgreementKind.INFORMATION_SECURITY,
        title=f"Agreement between {a} and {b} on the protection of classified information",
        parties=(a, b),
        events=tuple(events),
        topics=_scope(rng, 0.15),
        purposes=purposes,
        equivalences=rows,
        excluded_levels=_excluded(rng, (a, b), sizes, rows),
        term=term,
        clauses=_clauses(agreement_id, _ISA_RULES),
        sources=(f"https://registry.example/{agreement_id}",),
    )


def generate_world(*, parties: int = 200, agreements: int = 10_000, seed: int = 2014) -> World:
    """A registry of ``agreements`` agreements among ``parties`` parties, the same for a seed.

    About 85% are information-security agreements between pairs (a third of the pairs
    with a predecessor that ended), 5% hub arrangements, the rest logistics and
    consultation agreements (indexed by the world but never carriers).
    """
    rng = random.Random(seed)
    made = [_party(i) for i in range(parties)]
    codes: list[str] = [p.code for p, _ in made]
    sizes = {s.party: len(s.levels) for _, s in made}
    hubs, others = codes[:_HUBS], codes[_HUBS:]
    n_hub = agreements // 20
    n_other = agreements // 10
    n_isa = agreements - n_hub - n_other
    pairs: list[tuple[str, str]] = [(h, g) for i, h in enumerate(hubs) for g in hubs[i + 1 :]]
    pairs += [(h, p) for p in others for h in rng.sample(hubs, 4)]
    seen = set(pairs)
    out: list[Agreement] = []
    linked: dict[str, set[str]] = {h: set() for h in hubs}
    for a, b in _pairs(rng, pairs, seen, codes):
        if len(out) >= n_isa:
            break
        start = _day(rng, D(1988, 1, 1), D(2016, 1, 1))
        chain = 1 + (rng.random() < 0.3) + (rng.random() < 0.1)
        for k in range(chain):
            last = k == chain - 1 or len(out) + 1 >= n_isa
            agreement = _isa(rng, len(out) + 1, a, b, sizes, start, last=last)
            out.append(agreement)
            if a in linked:
                linked[a].add(b)
            if last:
                break
            start = agreement.in_force_intervals()[-1][1] or LAST_DAY
    out += [_arrangement(rng, n, hubs, linked, sizes) for n in range(1, n_hub + 1)]
    out += [_other(rng, n, codes) for n in range(1, n_other + 1)]
    return World(parties=tuple(p for p, _ in made), schemes=tuple(s for _, s in made), agreements=tuple(out))


def _pairs(
    rng: random.Random, pairs: list[tuple[str, str]], seen: set[tuple[str, str]], codes: list[str]
) -> Iterator[tuple[str, str]]:
    """The given pairs, then random pairs of non-hub parties not yet seen, until none is left."""
    yield from pairs
    others = len(codes) - _HUBS
    while len(seen) < len(pairs) + others * (others - 1) // 2:
        a, b = sorted(rng.sample(codes[_HUBS:], 2))
        if (a, b) not in seen:
            seen.add((a, b))
            yield a, b


def _arrangement(
    rng: random.Random, n: int, hubs: list[str], linked: dict[str, set[str]], sizes: dict[str, int]
) -> Agreement:
    agreement_id = f"HUB-{n:04d}"
    hub = rng.choice(hubs)
    members = rng.sample(sorted(linked[hub]), rng.randrange(2, 5))
    codes = (hub, *members)
    upto = min(sizes[c] for c in codes) - rng.choice((0, 1))
    events, term = _lifecycle(rng, _day(rng, D(1995, 1, 1), D(2020, 1, 1)), last=rng.random() < 0.7)
    rows = _table(rng, codes, sizes, upto)
    return Agreement(
        id=agreement_id,
        kind=AgreementKind.HUB_ARRANGEMENT,
        title=f"Information sharing arrangement through {hub}",
        parties=codes,
        hub=hub,
        binding=False,
        events=tuple(events),
        topics=frozenset(rng.sample(TOPICS, rng.randrange(2, 6))),
        equivalences=rows,
        excluded_levels=_excluded(rng, codes, sizes, rows),
        term=term,
        clauses=_clauses(agreement_id, _HUB_RULES),
        sources=(f"https://registry.example/{agreement_id}",),
    )


def _other(rng: random.Random, n: int, codes: list[str]) -> Agreement:
    kind = AgreementKind.LOGISTICS_SUPPORT if n % 3 else AgreementKind.CONSULTATION
    agreement_id = f"{'LSA' if kind is AgreementKind.LOGISTICS_SUPPORT else 'CON'}-{n:04d}"
    parties = rng.sample(codes, 2 if kind is AgreementKind.LOGISTICS_SUPPORT else rng.randrange(3, 6))
    events, term = _lifecycle(rng, _day(rng, D(1990, 1, 1), D(2020, 1, 1)), last=True)
    return Agreement(
        id=agreement_id,
        kind=kind,
        term=term,
        title=f"{kind} among {', '.join(parties)}",
        parties=tuple(parties),
        events=tuple(events),
        clauses=_clauses(agreement_id, ("in-force",)),
        sources=(f"https://registry.example/{agreement_id}",),
    )


# -- requests ---------------------------------------------------------------------------


def _when(rng: random.Random, agreement: Agreement) -> dt.date:
    """A day the agreement carries, if it ever does; otherwise any day."""
    spans = agreement.in_force_intervals()
    if not spans:
        return _day(rng, FIRST_DAY, LAST_DAY)
    start, end = rng.choice(spans)
    return _day(rng, start, end or LAST_DAY)


def _hub_day(rng: random.Random, world: World, arrangement: Agreement, sender: str, recipient: str) -> dt.date:
    """Mostly a day the arrangement and a pair of leg agreements all carry, when there is one."""
    assert arrangement.hub is not None  # noqa: S101 - only hub arrangements come here
    spans = []
    for leg1 in world.carriers(sender, arrangement.hub):
        for leg2 in world.carriers(arrangement.hub, recipient):
            for s0, e0 in arrangement.in_force_intervals():
                for s1, e1 in leg1.in_force_intervals():
                    for s2, e2 in leg2.in_force_intervals():
                        start, end = max(s0, s1, s2), min(e0 or LAST_DAY, e1 or LAST_DAY, e2 or LAST_DAY)
                        if start < end:
                            spans.append((start, end))
    if spans and rng.random() < 0.8:
        start, end = rng.choice(spans)
        return _day(rng, start, end)
    return _when(rng, arrangement)


def _in_use(world: World, level_id: str, on: dt.date) -> str:
    """``level_id`` if it exists on ``on``, else a level of the same scheme and rank that does.

    A marking that did not exist on the day (JPN/BOEI after 2014) is malformed input,
    not a release question.
    """
    level = world.level(level_id)
    if level.valid_on(on):
        return level_id
    usable = [lv for lv in world.scheme_of(level.scheme).levels if lv.valid_on(on) and lv.rank <= level.rank]
    return usable[0].id


def _covered(agreement: Agreement, world: World, code: str) -> list[str]:
    return [lv.id for lv in world.scheme_of(code).levels if agreement.covers_level(lv.id)]


def _topics(rng: random.Random, agreement: Agreement, pool: Sequence[str]) -> frozenset[str]:
    scoped = sorted(agreement.topics) if agreement.topics is not None else pool
    return frozenset(rng.sample(scoped, min(len(scoped), rng.choice((1, 1, 2)))))


def generate_requests(  # noqa: C901, PLR0912, PLR0915
    world: World, count: int, *, seed: int = 7, topics: Sequence[str] = TOPICS
) -> list[Request]:
    """``count`` release questions over ``world``, a mix of ones allowed and denied.

    ``topics`` is the pool records draw their topics from where an agreement does not
    restrict them; the shipped world uses real ones (``dprk-missile``, ...).
    """
    rng = random.Random(seed)
    isas = [a for a in world.agreements if a.kind is AgreementKind.INFORMATION_SECURITY]
    arrangements = [a for a in world.agreements if a.kind is AgreementKind.HUB_ARRANGEMENT]
    codes = [p.code for p in world.parties]
    ended = [a for a in isas if any(end is not None for _, end in a.in_force_intervals())]
    kinds = (
        ["direct"] * 25
        + ["hub"] * 20
        + ["hub-out-of-scope"] * 7
        + ["uncovered-level"] * 8
        + ["before-in-force"] * 5
        + ["after-termination"] * 7
        + ["not-releasable"] * 8
        + ["multi-portion"] * 10
        + ["random"] * 10
    )
    out: list[Request] = []
    for n in range(count):
        kind = rng.choice(kinds)
        purpose = rng.choice(PURPOSES)
        if kind.startswith("hub") or (kind == "multi-portion" and rng.random() < 0.5):
            agreement = rng.choice(arrangements)
            assert agreement.hub is not None  # noqa: S101
            sender, recipient = rng.sample([c for c in agreement.parties if c != agreement.hub], 2)
        else:
            agreement = rng.choice(ended if kind == "after-termination" and ended else isas)
            sender, recipient = rng.sample(agreement.parties, 2)
        if kind == "random":
            sender, recipient = rng.sample(codes, 2)
        on = _hub_day(rng, world, agreement, sender, recipient) if agreement.hub else _when(rng, agreement)
        record_topics = _topics(rng, agreement, topics)
        if agreement.purposes is not None:
            purpose = rng.choice(sorted(agreement.purposes))
        levels = [lv.id for lv in world.scheme_of(sender).levels]
        covered = _covered(agreement, world, sender) or levels
        level = rng.choice(covered)
        rel_to = {recipient, *rng.sample(codes, rng.randrange(0, 3))} - {sender}
        match kind:
            case "hub-out-of-scope":
                record_topics |= {rng.choice([t for t in topics if t not in (agreement.topics or ())])}
            case "uncovered-level":
                level = levels[0]  # the highest, often uncovered
            case "before-in-force":
                spans = agreement.in_force_intervals()
                first = spans[0][0] if spans else LAST_DAY
                on = _day(rng, FIRST_DAY, first)
            case "after-termination":
                end = max((e for _, e in agreement.in_force_intervals() if e is not None), default=LAST_DAY)
                on = _day(rng, end, LAST_DAY)
            case "not-releasable":
                rel_to = set(rng.sample([c for c in codes if c not in (sender, recipient)], 2))
            case "random":
                level = rng.choice(levels)
                on = _day(rng, FIRST_DAY, LAST_DAY)
                record_topics = frozenset(rng.sample(topics, rng.choice((1, 2))))
        portions = [Portion(id="1", level=_in_use(world, level, on), rel_to=frozenset(rel_to))]
        if kind == "multi-portion":
            for pid in ("2", "3")[: rng.randrange(1, 3)]:
                others = frozenset({recipient} if rng.random() < 0.6 else set())
                extra = _in_use(world, rng.choice(levels), on)
                portions.append(Portion(id=pid, level=extra, rel_to=(others | {codes[0]}) - {sender}))
        record = Record(
            id=f"R{n:06d}",
            originator=sender,
            title=f"Report {n}",
            topics=record_topics,
            purpose=purpose,
            portions=tuple(portions),
        )
        out.append(Request(record=record, recipient=recipient, on=on, kind=kind))
    return out
