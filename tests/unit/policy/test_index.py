"""The engine's tables of a world give what the agreements themselves give, on every date."""

import datetime as dt

import pytest

from accord.domain.agreement import Agreement, Equivalence, EventKind
from accord.domain.classification import Level, LevelId, Scheme
from accord.domain.release import Rule
from accord.domain.world import World
from accord.policy import decide
from accord.policy._index import Tables
from accord.serialization.world import load_world
from tests.factories import D, Term, events, gsomia, party, record, scheme, world

# Several changes, two of them on one day, and a notice taking effect by the term rules.
BUSY = gsomia(
    "AAA",
    "BBB",
    start="2001-03-01",
    extra=events(
        ("2005-05-05", EventKind.TERMINATION_NOTIFIED, "2006-01-01"),
        ("2005-05-05", EventKind.NOTICE_WITHDRAWN),
        ("2008-02-29", EventKind.TERMINATION_NOTIFIED),
    ),
    term=Term(notice_days=90, anniversary=(3, 1)),
)


def _days(agreement: Agreement) -> list[dt.date]:
    out = [dt.date.min, dt.date.max, D(1900, 1, 1)]
    for day, _, _ in agreement.timeline():
        out += [day - dt.timedelta(days=1), day, day + dt.timedelta(days=1)]
    return out


@pytest.mark.parametrize("agreement", [*load_world().agreements, BUSY], ids=lambda a: a.id)
def test_in_force_text_is_the_agreements_status_on_every_day(agreement):
    terms = (world(BUSY) if agreement is BUSY else load_world()).derived(Tables).terms(agreement)
    for on in _days(agreement):
        status, reason = agreement.status_with_reason(on)
        carries, before, after = terms.in_force[_index_of(terms.dates, on)]
        assert (carries, f"{before}{on}{after}") == (status.carries, f"{agreement.id} is {status} on {on} ({reason})")


def _index_of(dates, on):
    return sum(1 for d in dates if d <= on)


def test_busy_agreement_reads_as_its_events_say():
    w = world(BUSY)
    texts = {on: _in_force_detail(w, on) for on in (D(2001, 2, 28), D(2005, 5, 5), D(2008, 3, 1), D(2009, 3, 1))}
    assert texts == {
        D(2001, 2, 28): "AAA-BBB-ISA is not-in-force on 2001-02-28 (no entry into force by then)",
        D(2005, 5, 5): "AAA-BBB-ISA is in-force on 2005-05-05 (termination-notice-withdrawn on 2005-05-05)",
        D(2008, 3, 1): (
            "AAA-BBB-ISA is termination-pending on 2008-03-01 "
            "(termination-notified on 2008-02-29, takes effect 2009-03-01)"
        ),
        D(2009, 3, 1): (
            "AAA-BBB-ISA is terminated on 2009-03-01 (terminated: the termination notice took effect on 2009-03-01)"
        ),
    }


def _in_force_detail(w, on):
    d = decide(record(), "BBB", on=on, world=w)
    return next(c.detail for c in d.checks if c.rule is Rule.IN_FORCE)


def test_a_target_level_with_a_validity_window_is_taken_only_while_in_use():
    # BBB lists two equivalents of AAA/L2, preferred first; the first exists only from 2010.
    levels = (
        Level(id=LevelId("BBB/L1"), rank=1, native="b1"),
        Level(id=LevelId("BBB/L2"), rank=2, native="b2"),
        Level(id=LevelId("BBB/NEW"), rank=3, native="new", valid_from=D(2010, 1, 1)),
    )
    schemes = (scheme("AAA"), Scheme(party="BBB", name="BBB scheme", levels=levels))
    isa = gsomia(
        "AAA",
        "BBB",
        equivalences=(
            *gsomia("AAA", "BBB", upto=1).equivalences,
            Equivalence(levels=(("AAA", ("AAA/L2",)), ("BBB", ("BBB/NEW", "BBB/L2")))),
        ),
    )
    w = World(parties=(party("AAA"), party("BBB")), schemes=schemes, agreements=(isa,))
    before = decide(record(level=2), "BBB", on=D(2009, 12, 31), world=w)
    after = decide(record(level=2), "BBB", on=D(2010, 1, 1), world=w)
    assert (before.hops[0].level_out, after.hops[0].level_out) == ("BBB/L2", "BBB/NEW")
    assert [c.detail for c in before.checks if c.rule is Rule.LEVEL] == ["portion 1: AAA/L2 = BBB/L2 under AAA-BBB-ISA"]


def test_tables_are_kept_with_their_world_and_filled_once_per_pair():
    w, other = load_world(), load_world()
    assert w.derived(Tables) is w.derived(Tables)
    assert w.derived(Tables) is not other.derived(Tables)
    pair = w.derived(Tables).pairs["KOR", "JPN"]
    assert w.derived(Tables).pairs["KOR", "JPN"] is pair
    assert [leg.id for leg in pair.legs] == [a.id for a in w.carriers("KOR", "JPN")]
    assert [route.id for route in pair.hubs] == [a.id for a in w.arrangements("KOR", "JPN")]
    assert pair.route_key == "KOR>JPN"
    assert [route.route_key for route in pair.hubs] == ["KOR>USA>JPN"]
