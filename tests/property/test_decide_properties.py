"""Properties of the decision engine over generated worlds and the shipped world."""

from __future__ import annotations

import dataclasses
import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from accord.domain.agreement import Agreement, AgreementStatus, EventKind
from accord.domain.record import Portion, Record
from accord.domain.world import World
from accord.policy import decide
from accord.serialization.world import load_world
from tests.factories import events, gsomia, hub, world

CODES = ("AAA", "BBB", "HHH", "CCC")
TOPICS = ("t1", "t2", "t3")
DAY0 = dt.date(2000, 1, 1)
SHIPPED = load_world()


def _day(n: int) -> str:
    return (DAY0 + dt.timedelta(days=n)).isoformat()


@st.composite
def agreements(draw: st.DrawFn) -> Agreement:
    a, b = draw(st.lists(st.sampled_from(CODES), min_size=2, max_size=2, unique=True))
    start = draw(st.integers(0, 3000))
    extra = []
    ending = draw(st.sampled_from(["none", "terminated", "notice", "suspended"]))
    if ending == "terminated":
        extra.append((_day(start + draw(st.integers(1, 2000))), EventKind.TERMINATED))
    elif ending in {"notice", "suspended"}:
        notice = start + draw(st.integers(1, 2000))
        extra.append((_day(notice), EventKind.TERMINATION_NOTIFIED, _day(notice + 90)))
        if ending == "suspended":
            extra.append((_day(notice + draw(st.integers(1, 89))), EventKind.NOTICE_SUSPENDED))
    topics = draw(st.one_of(st.none(), st.frozensets(st.sampled_from(TOPICS), min_size=1)))
    return gsomia(
        a,
        b,
        id=f"{a}-{b}-{start}-{ending}",
        start=_day(start),
        upto=draw(st.integers(1, 3)),
        extra=events(*extra),
        topics=topics,
    )


@st.composite
def worlds(draw: st.DrawFn) -> World:
    chosen = draw(st.lists(agreements(), max_size=6, unique_by=lambda a: a.id))
    if draw(st.booleans()):
        others = tuple(c for c in CODES if c != "HHH")
        chosen.append(
            hub(
                "HHH",
                *others,
                start=_day(draw(st.integers(0, 3000))),
                upto=draw(st.integers(1, 3)),
                topics=draw(st.frozensets(st.sampled_from(TOPICS), min_size=1)),
            )
        )
    return world(*chosen, codes=CODES)


@st.composite
def records(draw: st.DrawFn, codes: tuple[str, ...] = CODES) -> Record:
    originator = draw(st.sampled_from(codes))
    n = draw(st.integers(1, 3))
    portions = tuple(
        Portion(
            id=str(i),
            level=f"{originator}/L{draw(st.integers(1, 3))}",
            rel_to=draw(st.frozensets(st.sampled_from(codes))),
        )
        for i in range(n)
    )
    return Record(
        id="r",
        originator=originator,
        title="t",
        portions=portions,
        topics=draw(st.frozensets(st.sampled_from(TOPICS), min_size=1)),
    )


def _recipient(draw: st.DrawFn, record: Record) -> str:
    return draw(st.sampled_from([c for c in CODES if c != record.originator]))


days = st.integers(0, 6000).map(lambda n: DAY0 + dt.timedelta(days=n))


@settings(max_examples=300, deadline=None)
@given(w=worlds(), data=st.data(), on=days)
def test_no_allow_without_every_hop_in_force(w, data, on):
    record = data.draw(records())
    d = decide(record, _recipient(data.draw, record), on=on, world=w)
    if d:
        assert d.hops
        for hop in d.hops:
            assert w.agreement(hop.agreement).status_on(on).carries
        if len(d.route) > 2:
            assert any(a.hub == d.route[1] and a.status_on(on).carries for a in w.arrangements(d.route[0], d.route[-1]))
    else:
        assert d.route == ()
        assert d.label is None


def _raise_one(record: Record, index: int) -> Record:
    portions = list(record.portions)
    p = portions[index % len(portions)]
    rank = int(p.level.rsplit("L", 1)[1])
    portions[index % len(portions)] = dataclasses.replace(p, level=f"{record.originator}/L{min(rank + 1, 3)}")
    return dataclasses.replace(record, portions=tuple(portions))


@settings(max_examples=300, deadline=None)
@given(w=worlds(), data=st.data(), on=days, index=st.integers(0, 2))
def test_raising_a_level_never_turns_deny_into_allow(w, data, on, index):
    record = data.draw(records())
    recipient = _recipient(data.draw, record)
    before = decide(record, recipient, on=on, world=w)
    after = decide(_raise_one(record, index), recipient, on=on, world=w)
    if not before:
        assert not after


@settings(max_examples=300, deadline=None)
@given(w=worlds(), data=st.data(), on=days, drop=st.sampled_from(CODES))
def test_removing_a_party_from_releasability_never_turns_deny_into_allow(w, data, on, drop):
    record = data.draw(records())
    recipient = _recipient(data.draw, record)
    narrower = dataclasses.replace(
        record,
        portions=tuple(dataclasses.replace(p, rel_to=p.rel_to - {drop}) for p in record.portions),
    )
    before = decide(record, recipient, on=on, world=w)
    after = decide(narrower, recipient, on=on, world=w)
    if not before:
        assert not after
    assert set(after.released_portions) <= set(before.released_portions)


@settings(max_examples=200, deadline=None)
@given(w=worlds(), data=st.data(), gap=st.integers(0, 3000))
def test_nothing_new_goes_after_every_agreement_is_terminated(w, data, gap):
    ended = []
    for a in w.agreements:
        day_after = max(e.on for e in a.events) + dt.timedelta(days=1)
        if a.status_on(day_after) is not AgreementStatus.TERMINATED:
            a = dataclasses.replace(a, events=(*a.events, *events((day_after.isoformat(), EventKind.TERMINATED))))  # noqa: PLW2901
        ended.append(a)
    terminated = world(*ended, codes=CODES)
    latest = max((max(e.on for e in a.events) for a in ended), default=DAY0)
    on = latest + dt.timedelta(days=gap)
    record = data.draw(records())
    assert not decide(record, _recipient(data.draw, record), on=on, world=terminated)


@settings(max_examples=200, deadline=None)
@given(w=worlds(), data=st.data(), on=days)
def test_decisions_are_deterministic(w, data, on):
    record = data.draw(records())
    recipient = _recipient(data.draw, record)
    first = decide(record, recipient, on=on, world=w).to_dict()
    rebuilt = world(*reversed(w.agreements), codes=CODES)
    assert decide(record, recipient, on=on, world=w).to_dict() == first
    assert decide(record, recipient, on=on, world=rebuilt).to_dict() == first


@settings(max_examples=100, deadline=None)
@given(data=st.data(), on=days)
def test_deny_by_default_in_an_empty_world(data, on):
    record = data.draw(records())
    assert not decide(record, _recipient(data.draw, record), on=on, world=world(codes=CODES))


SHIPPED_LEVELS = {p.code: [lv.id for lv in SHIPPED.scheme_of(p.code).levels] for p in SHIPPED.parties}
SHIPPED_CODES = tuple(sorted(SHIPPED_LEVELS))


@st.composite
def shipped_requests(draw: st.DrawFn) -> tuple[Record, str, dt.date]:
    originator = draw(st.sampled_from(SHIPPED_CODES))
    on = dt.date(1980, 1, 1) + dt.timedelta(days=draw(st.integers(0, 18000)))
    # Only levels in use on the date: a marking that did not exist then is bad input.
    levels = [i for i in SHIPPED_LEVELS[originator] if SHIPPED.level(i).valid_on(on)]
    rank = draw(st.integers(0, len(levels) - 1))
    record = Record(
        id="r",
        originator=originator,
        title="t",
        topics=draw(st.frozensets(st.sampled_from(("dprk-missile", "dprk-nuclear", "china-navy")), min_size=1)),
        portions=(
            Portion(
                id="1",
                level=levels[rank],
                rel_to=draw(st.frozensets(st.sampled_from(SHIPPED_CODES))),
            ),
        ),
    )
    recipient = draw(st.sampled_from([c for c in SHIPPED_CODES if c != originator]))
    return record, recipient, on


@settings(max_examples=300, deadline=None)
@given(request=shipped_requests())
def test_shipped_world_properties(request):
    record, recipient, on = request
    d = decide(record, recipient, on=on, world=SHIPPED)
    assert d.to_dict() == decide(record, recipient, on=on, world=SHIPPED).to_dict()
    if d:
        assert all(SHIPPED.agreement(h.agreement).status_on(on).carries for h in d.hops)
        assert recipient in record.portions[0].rel_to
        # Levels are never compared across schemes by rank: the label comes from a table.
        assert d.label is not None
        assert d.label.recipient_level.startswith(f"{recipient}/")
    scheme = SHIPPED.scheme_of(record.originator)
    higher = [
        lv.id for lv in scheme.levels if lv.rank > scheme.level(record.portions[0].level).rank and lv.valid_on(on)
    ]
    for level in higher:
        raised = dataclasses.replace(record, portions=(dataclasses.replace(record.portions[0], level=level),))
        if not d:
            assert not decide(raised, recipient, on=on, world=SHIPPED)
