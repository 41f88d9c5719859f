import datetime as dt

import pytest

from accord.domain.agreement import (
    Agreement,
    AgreementKind,
    AgreementStatus,
    Equivalence,
    Event,
    EventKind,
    Term,
)
from accord.errors import InvalidTransitionError, ValidationError
from tests.factories import D, events, gsomia, hub

S = AgreementStatus
K = EventKind


def lifecycle(*evs):
    return gsomia(
        "AAA",
        "BBB",
        start="2016-11-23",
        extra=events(*evs),
        term=Term(initial_years=1, renewal_years=1, notice_days=90, anniversary=(11, 23)),
    )


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        ("2016-11-22", S.NOT_IN_FORCE),
        ("2016-11-23", S.IN_FORCE),
        ("2019-08-22", S.IN_FORCE),
        ("2019-08-23", S.TERMINATION_PENDING),
        ("2019-11-21", S.TERMINATION_PENDING),
        ("2019-11-22", S.IN_FORCE),  # suspended the day before it would take effect
        ("2019-11-23", S.IN_FORCE),
        ("2023-03-21", S.IN_FORCE),
    ],
    ids=str,
)
def test_suspended_notice_never_takes_effect(on, expected):
    agreement = lifecycle(
        ("2019-08-23", K.TERMINATION_NOTIFIED, "2019-11-23"),
        ("2019-11-22", K.NOTICE_SUSPENDED),
        ("2023-03-21", K.NOTICE_WITHDRAWN),
    )
    assert agreement.status_on(D.fromisoformat(on)) is expected


def test_unsuspended_notice_terminates_on_its_effective_date():
    agreement = lifecycle(("2019-08-23", K.TERMINATION_NOTIFIED, "2019-11-23"))
    assert agreement.status_on(D(2019, 11, 22)) is S.TERMINATION_PENDING
    assert agreement.status_on(D(2019, 11, 23)) is S.TERMINATED
    assert agreement.status_on(D(2030, 1, 1)) is S.TERMINATED
    assert "took effect on 2019-11-23" in agreement.status_reason(D(2020, 1, 1))


def test_effective_date_computed_from_term_rules():
    # Art.21(3): 90 days in advance of the 23 Nov anniversary; the last day in 2019 was
    # 24 Aug. A notice on 25 Aug 2019 is too late for that year: 23 Nov 2020.
    on_time = lifecycle(("2019-08-24", K.TERMINATION_NOTIFIED))
    late = lifecycle(("2019-08-25", K.TERMINATION_NOTIFIED))
    assert on_time.status_on(D(2019, 11, 23)) is S.TERMINATED
    assert late.status_on(D(2019, 11, 23)) is S.TERMINATION_PENDING
    assert late.status_on(D(2020, 11, 23)) is S.TERMINATED


def test_withdrawn_notice_restores_in_force():
    agreement = lifecycle(("2019-08-23", K.TERMINATION_NOTIFIED, "2019-11-23"), ("2019-09-01", K.NOTICE_WITHDRAWN))
    assert agreement.status_on(D(2019, 12, 1)) is S.IN_FORCE


def test_withdrawal_on_the_effective_day_is_too_late():
    with pytest.raises(InvalidTransitionError, match="on 2019-11-23 follows its termination"):
        lifecycle(("2019-08-23", K.TERMINATION_NOTIFIED, "2019-11-23"), ("2019-11-23", K.NOTICE_WITHDRAWN))


@pytest.mark.parametrize(
    ("evs", "message"),
    [
        ((("2017-01-01", K.NOTICE_SUSPENDED),), "none is pending"),
        ((("2017-01-01", K.NOTICE_WITHDRAWN),), "none was given"),
        ((("2017-01-01", K.TERMINATED), ("2018-01-01", K.IN_FORCE)), "follows its termination"),
        (
            (
                ("2017-01-01", K.TERMINATION_NOTIFIED, "2017-11-23"),
                ("2017-02-01", K.TERMINATION_NOTIFIED, "2018-11-23"),
            ),
            "second termination notice",
        ),
    ],
    ids=["suspend-nothing", "withdraw-nothing", "after-termination", "double-notice"],
)
def test_impossible_lifecycles_are_refused(evs, message):
    with pytest.raises(InvalidTransitionError, match=message):
        lifecycle(*evs)


def test_notice_before_entry_into_force_is_refused():
    with pytest.raises(InvalidTransitionError, match="before it was in force"):
        gsomia(
            "AAA",
            "BBB",
            start="2020-01-01",
            extra=events(("2019-01-01", K.TERMINATION_NOTIFIED, "2019-06-01")),
        )


def test_notice_without_effective_date_or_term_is_refused():
    with pytest.raises(InvalidTransitionError, match="no effective date"):
        gsomia("AAA", "BBB", extra=events(("2019-01-01", K.TERMINATION_NOTIFIED)))


def test_informational_events_do_not_change_status():
    agreement = gsomia(
        "AAA",
        "BBB",
        start="2016-11-23",
        extra=events(
            ("2012-06-29", K.SIGNING_POSTPONED),
            ("2017-11-23", K.RENEWED),
            ("2018-01-01", K.AMENDED),
        ),
    )
    assert agreement.status_on(D(2013, 1, 1)) is S.NOT_IN_FORCE
    assert agreement.status_on(D(2018, 6, 1)) is S.IN_FORCE
    assert [s for _, s, _ in agreement.timeline()] == [S.IN_FORCE]


def test_in_force_intervals_follow_the_timeline():
    agreement = lifecycle(("2019-08-23", K.TERMINATION_NOTIFIED, "2019-11-23"))
    assert agreement.in_force_intervals() == ((D(2016, 11, 23), D(2019, 11, 23)),)
    assert lifecycle().in_force_intervals() == ((D(2016, 11, 23), None),)


def test_fingerprint_changes_with_any_content_and_ignores_event_order():
    a = lifecycle(("2019-08-23", K.TERMINATION_NOTIFIED, "2019-11-23"))
    same = lifecycle(("2019-08-23", K.TERMINATION_NOTIFIED, "2019-11-23"))
    other = lifecycle(("2019-08-23", K.TERMINATION_NOTIFIED, "2020-11-23"))
    assert a.fingerprint == same.fingerprint
    assert a.fingerprint != other.fingerprint
    assert len(a.fingerprint) == 64


def test_equivalence_lookup_and_exclusion():
    agreement = gsomia("AAA", "BBB", upto=2, excluded_levels=("AAA/L3",))
    assert agreement.covers_level("AAA/L2")
    assert not agreement.covers_level("AAA/L3")
    row = agreement.equivalence_row("BBB/L1")
    assert row is not None
    assert row.for_party("AAA") == ("AAA/L1",)
    assert row.for_party("ZZZ") == ()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"parties": ("AAA",)}, "at least two parties"),
        ({"hub": "AAA"}, "only a hub arrangement names a hub"),
        ({"kind": AgreementKind.HUB_ARRANGEMENT}, "must name its hub"),
        ({"kind": AgreementKind.HUB_ARRANGEMENT, "hub": "ZZZ"}, "not one of its parties"),
        (
            {"equivalences": (Equivalence(levels=(("AAA", ("AAA/L1",)), ("ZZZ", ("ZZZ/L1",)))),)},
            "not a party",
        ),
        (
            {
                "excluded_levels": ("AAA/L1",),
                "equivalences": (Equivalence(levels=(("AAA", ("AAA/L1",)), ("BBB", ("BBB/L1",)))),),
            },
            "both excluded and covered",
        ),
        ({"title": ""}, "needs an id and a title"),
    ],
    ids=[
        "one-party",
        "hub-on-isa",
        "hub-missing",
        "hub-outsider",
        "row-outsider",
        "excluded-covered",
        "no-title",
    ],
)
def test_invalid_agreements_are_refused(kwargs, message):
    base = {
        "id": "X",
        "kind": AgreementKind.INFORMATION_SECURITY,
        "title": "x",
        "parties": ("AAA", "BBB"),
        "events": (Event(on=D(2000, 1, 1), kind=EventKind.IN_FORCE),),
    }
    with pytest.raises(ValidationError, match=message):
        Agreement(**{**base, **kwargs})


def test_equivalence_row_rules():
    with pytest.raises(ValidationError, match="at least two parties"):
        Equivalence(levels=(("AAA", ("AAA/L1",)),))
    with pytest.raises(ValidationError, match="belongs to another scheme"):
        Equivalence(levels=(("AAA", ("BBB/L1",)), ("BBB", ("BBB/L1",))))
    with pytest.raises(ValidationError, match="no level for"):
        Equivalence(levels=(("AAA", ()), ("BBB", ("BBB/L1",))))


def test_event_effective_date_rules():
    with pytest.raises(ValidationError, match="only a termination notice"):
        Event(on=D(2019, 1, 1), kind=EventKind.SIGNED, effective=D(2019, 2, 1))
    with pytest.raises(ValidationError, match="before it was given"):
        Event(on=D(2019, 1, 1), kind=EventKind.TERMINATION_NOTIFIED, effective=D(2018, 2, 1))


def test_term_anniversary_must_be_a_day():
    with pytest.raises(ValidationError, match="not a calendar day"):
        Term(anniversary=(2, 30))
    leap = Term(notice_days=1, anniversary=(2, 29))
    assert leap.termination_effective(dt.date(2021, 1, 1)) == dt.date(2021, 3, 1)
    assert leap.termination_effective(dt.date(2024, 1, 1)) == dt.date(2024, 2, 29)


def test_hub_arrangement_carries_its_hub():
    arrangement = hub("HHH", "AAA", "BBB")
    assert arrangement.hub == "HHH"
    assert arrangement.kind is AgreementKind.HUB_ARRANGEMENT
    assert arrangement.to_dict()["hub"] == "HHH"


def test_term_numbers_must_not_be_negative():
    with pytest.raises(ValidationError, match="notice_days must be 0 or more, not -1"):
        Term(notice_days=-1)
