"""Every rule of the decision engine, each from both sides (allow and deny)."""

import pytest

from accord.domain.agreement import Agreement, AgreementKind, Event, EventKind, Term
from accord.domain.classification import Level, LevelId, Scheme
from accord.domain.consent import Consent
from accord.domain.release import Rule
from accord.domain.world import World
from accord.errors import UnknownReferenceError, ValidationError
from accord.policy import decide
from tests.factories import D, events, gsomia, hub, party, record, table, world

ON = D(2020, 6, 1)


def failed(decision, rule):
    return [c for c in decision.checks if c.rule is rule and not c.passed]


def passed(decision, rule):
    return [c for c in decision.checks if c.rule is rule and c.passed]


# -- fail closed -----------------------------------------------------------------


def test_no_agreement_means_deny():
    d = decide(record(), "BBB", on=ON, world=world())
    assert not d
    assert d.route == ()
    assert failed(d, Rule.ROUTE)[0].detail == "no information-security agreement binds AAA and BBB"
    assert d.label is None


def test_agreements_that_carry_no_information_do_not_open_a_route():
    acsa = Agreement(
        id="ACSA",
        kind=AgreementKind.LOGISTICS_SUPPORT,
        title="logistics",
        parties=("AAA", "BBB"),
        events=(Event(on=D(2000, 1, 1), kind=EventKind.IN_FORCE),),
    )
    assert not decide(record(), "BBB", on=ON, world=world(acsa))


# -- rule 1 and 8: in force on the date ------------------------------------------------


@pytest.mark.parametrize(
    ("on", "allowed"),
    [
        (D(1999, 12, 31), False),
        (D(2000, 1, 1), True),
        (D(2019, 9, 1), True),
        (D(2019, 11, 23), False),
    ],
    ids=["before-entry-into-force", "first-day", "notice-pending", "after-termination"],
)
def test_agreement_must_be_in_force(on, allowed):
    agreement = gsomia("AAA", "BBB", extra=events(("2019-08-23", EventKind.TERMINATION_NOTIFIED, "2019-11-23")))
    d = decide(record(), "BBB", on=on, world=world(agreement))
    assert bool(d) is allowed
    check = (passed if allowed else failed)(d, Rule.IN_FORCE)
    assert check, d.checks
    assert "AAA-BBB-ISA" in check[0].detail
    assert check[0].source == "Art.21"


def test_pending_notice_is_named_in_the_reason():
    agreement = gsomia("AAA", "BBB", extra=events(("2019-08-23", EventKind.TERMINATION_NOTIFIED, "2019-11-23")))
    d = decide(record(), "BBB", on=D(2019, 9, 1), world=world(agreement))
    assert any("termination-pending" in r and "takes effect 2019-11-23" in r for r in d.reasons)


def test_after_termination_nothing_new_goes_even_at_the_lowest_level():
    agreement = gsomia("AAA", "BBB", extra=events(("2010-01-01", EventKind.TERMINATED)))
    for level in (1, 2, 3):
        assert not decide(record(level=level), "BBB", on=ON, world=world(agreement))


# -- rule 2: the level has an equivalent --------------------------------------------------


def test_covered_level_goes_and_is_translated():
    d = decide(record(level=2), "BBB", on=ON, world=world(gsomia("AAA", "BBB")))
    assert d
    assert d.hops[0].level_in == "AAA/L2"
    assert d.hops[0].level_out == "BBB/L2"
    assert passed(d, Rule.LEVEL)[0].detail == "portion 1: AAA/L2 = BBB/L2 under AAA-BBB-ISA"


def test_uncovered_level_never_goes():
    agreement = gsomia("AAA", "BBB", upto=2, excluded_levels=("AAA/L3",))
    d = decide(record(level=3), "BBB", on=ON, world=world(agreement))
    assert not d
    assert failed(d, Rule.LEVEL)[0].detail == "portion 1: AAA/L3 is excluded from AAA-BBB-ISA"


def test_tear_line_releases_only_covered_and_releasable_portions():
    r = record(portions=((1, ("BBB",)), (3, ("BBB",)), (2, ("CCC",))))
    d = decide(r, "BBB", on=ON, world=world(gsomia("AAA", "BBB", upto=2)))
    assert d
    assert d.released_portions == ("1",)
    assert d.withheld_portions == ("2", "3")
    assert d.label is not None
    assert d.label.originator_level == "AAA/L1"  # the recipient's copy is only as high as what it carries


def test_a_level_that_does_not_exist_on_the_date_is_bad_input():
    newer = Scheme(
        party="AAA", name="a", levels=(Level(id=LevelId("AAA/L1"), rank=1, native="x", valid_from=D(2021, 1, 1)),)
    )
    w = World(
        parties=(party("AAA"), party("BBB")),
        schemes=(newer, world().scheme_of("BBB")),
        agreements=(gsomia("AAA", "BBB", upto=1),),
    )
    with pytest.raises(ValidationError, match=r"AAA/L1 does not exist on 2020-06-01 \(in use 2021-01-01 to now\)"):
        decide(record(level=1), "BBB", on=ON, world=w)
    assert decide(record(level=1), "BBB", on=D(2021, 1, 1), world=w)


def test_hub_is_a_conduit_not_an_addressee():
    d = decide(record(rel_to=("BBB",)), "BBB", on=ON, world=hub_world())
    assert d.via == ("HUB-HHH-AAA-BBB", d.agreements[0][1])
    assert [a for a, _ in d.agreements] == ["HUB-HHH-AAA-BBB", "AAA-HHH-ISA", "HHH-BBB-ISA"]
    assert "HHH receives it as the hub of HUB-HHH-AAA-BBB, to forward it to BBB" in d.reasons


def test_decision_says_when_it_relies_on_an_inferred_equivalence():
    inferred = gsomia("AAA", "BBB", equivalences=table("AAA", "BBB", inferred=True))
    d = decide(record(), "BBB", on=ON, world=world(inferred))
    assert d.relies_on_inferred
    assert any("equivalence inferred" in r for r in d.reasons)
    assert not decide(record(), "BBB", on=ON, world=world(gsomia("AAA", "BBB"))).relies_on_inferred


# -- rule 3: releasability ---------------------------------------------------------------


def test_recipient_must_be_in_the_releasability():
    w = world(gsomia("AAA", "BBB"))
    assert decide(record(rel_to=("BBB",)), "BBB", on=ON, world=w)
    d = decide(record(rel_to=("CCC",)), "BBB", on=ON, world=w)
    assert not d
    assert failed(d, Rule.RELEASABLE)[0].detail == "portion 1 is not releasable to BBB (REL TO CCC)"


# -- rule 4: scope ----------------------------------------------------------------------------


def test_topics_must_lie_within_the_scope():
    scoped = gsomia("AAA", "BBB", topics=frozenset({"t1", "t2"}))
    assert decide(record(topics=("t1", "t2")), "BBB", on=ON, world=world(scoped))
    d = decide(record(topics=("t1", "t9")), "BBB", on=ON, world=world(scoped))
    assert not d
    assert failed(d, Rule.SCOPE)[0].detail == "topic t9 is outside AAA-BBB-ISA (covers t1, t2 only)"


def test_purpose_must_lie_within_the_scope():
    scoped = gsomia("AAA", "BBB", purposes=frozenset({"defence"}))
    assert decide(record(purpose="defence"), "BBB", on=ON, world=world(scoped))
    d = decide(record(purpose="trade"), "BBB", on=ON, world=world(scoped))
    assert not d
    assert "purpose trade is outside" in failed(d, Rule.SCOPE)[0].detail


# -- rule 5: onward release needs the originator's consent --------------------------------


def consent(**kw):
    base = {
        "id": "c1",
        "originator": "AAA",
        "holder": "BBB",
        "third_party": "CCC",
        "valid_from": D(2020, 1, 1),
        "valid_until": D(2020, 12, 31),
        "topic": "t1",
    }
    return Consent(**{**base, **kw})


@pytest.mark.parametrize(
    ("consents", "allowed"),
    [
        ((), False),
        ((consent(),), True),
        ((consent(valid_until=D(2020, 5, 31)),), False),
        ((consent(third_party="HHH"),), False),
        ((consent(topic=None, record_id="r-onward"),), True),
        ((consent(topic=None, record_id="other"),), False),
    ],
    ids=["none", "valid", "expired", "other-third-party", "by-record", "other-record"],
)
def test_onward_release_needs_consent(consents, allowed):
    w = world(gsomia("AAA", "BBB"), gsomia("BBB", "CCC"))
    r = record(rel_to=("BBB", "CCC"), record_id="r-onward")
    d = decide(r, "CCC", on=ON, world=w, holder="BBB", consents=consents)
    assert bool(d) is allowed
    if not allowed:
        assert failed(d, Rule.CONSENT)[0].source == "AAA-BBB-ISA Art.5"
    else:
        assert d.route == ("BBB", "CCC")


def test_originator_needs_no_consent():
    d = decide(record(), "BBB", on=ON, world=world(gsomia("AAA", "BBB")))
    assert passed(d, Rule.CONSENT)[0].detail == "AAA is the originator: no consent needed"


# -- rule 6: routes through a hub --------------------------------------------------------------


def hub_world(**hub_kw):
    return world(gsomia("AAA", "HHH"), gsomia("HHH", "BBB"), hub("HHH", "AAA", "BBB", **hub_kw))


def test_hub_route_when_no_direct_agreement():
    d = decide(record(), "BBB", on=ON, world=hub_world())
    assert d
    assert d.route == ("AAA", "HHH", "BBB")
    assert [h.agreement for h in d.hops] == ["AAA-HHH-ISA", "HHH-BBB-ISA"]
    assert [a for a, _ in d.agreements] == ["HUB-HHH-AAA-BBB", "AAA-HHH-ISA", "HHH-BBB-ISA"]
    assert passed(d, Rule.HUB)[0].detail == "HUB-HHH-AAA-BBB names HHH as hub and covers AAA and BBB"
    assert any(c.rule is Rule.CONSENT and c.route == "AAA>HHH>BBB" for c in d.checks)


def test_direct_route_is_preferred_to_the_hub():
    w = world(gsomia("AAA", "BBB"), gsomia("AAA", "HHH"), gsomia("HHH", "BBB"), hub("HHH", "AAA", "BBB"))
    d = decide(record(), "BBB", on=ON, world=w)
    assert d.route == ("AAA", "BBB")
    assert passed(d, Rule.HUB)[0].detail == "direct route lawful: no hub needed"


def test_hub_falls_back_when_the_direct_agreement_is_terminated():
    direct = gsomia("AAA", "BBB", extra=events(("2010-01-01", EventKind.TERMINATED)))
    w = world(direct, gsomia("AAA", "HHH"), gsomia("HHH", "BBB"), hub("HHH", "AAA", "BBB"))
    assert decide(record(), "BBB", on=ON, world=w).route == ("AAA", "HHH", "BBB")


def test_hub_refuses_topics_outside_the_arrangement():
    d = decide(record(topics=("t2",)), "BBB", on=ON, world=hub_world())
    assert not d
    assert failed(d, Rule.SCOPE)[0].route == "AAA>HHH>BBB"


def test_hub_refuses_levels_the_arrangement_does_not_cover():
    d = decide(record(level=3), "BBB", on=ON, world=hub_world(upto=2))
    assert not d
    assert "is above or outside the levels" in failed(d, Rule.LEVEL)[0].detail


def test_hub_needs_the_arrangement_in_force():
    assert not decide(record(), "BBB", on=ON, world=hub_world(start="2021-01-01"))


def test_hub_needs_each_leg_lawful():
    missing_leg = world(gsomia("AAA", "HHH"), hub("HHH", "AAA", "BBB"))
    d = decide(record(), "BBB", on=ON, world=missing_leg)
    assert not d
    assert failed(d, Rule.ROUTE)[-1].detail == "no information-security agreement binds HHH and BBB"
    ended_leg = world(
        gsomia("AAA", "HHH", extra=events(("2010-01-01", EventKind.TERMINATED))),
        gsomia("HHH", "BBB"),
        hub("HHH", "AAA", "BBB"),
    )
    assert not decide(record(), "BBB", on=ON, world=ended_leg)


def test_hub_forwards_for_the_originator_without_a_consent_object():
    # The hub deciding its own onward leg: the originator's REL TO is the consent.
    d = decide(record(rel_to=("BBB",)), "BBB", on=ON, world=hub_world(), holder="HHH")
    assert d
    assert "consent for hub HHH to forward it under HUB-HHH-AAA-BBB" in passed(d, Rule.CONSENT)[0].detail
    # ... but only within the arrangement's scope.
    assert not decide(record(rel_to=("BBB",), topics=("t2",)), "BBB", on=ON, world=hub_world(), holder="HHH")


# -- rule 7: the recipient's marking --------------------------------------------------------


def test_recipient_copy_is_marked_with_originator_and_equivalent_level():
    d = decide(record(level=2), "BBB", on=ON, world=world(gsomia("AAA", "BBB")))
    assert d.label is not None
    assert d.label.originator == "AAA"
    assert d.label.originator_name == "Party AAA"
    assert d.label.originator_level == "AAA/L2"
    assert d.label.recipient_level == "BBB/L2"
    assert d.label.english == "LEVEL 2"
    assert d.label.text() == "BBB BBB level 2 [LEVEL 2] // ORIGINATOR AAA (Party AAA) AAA level 2"
    assert passed(d, Rule.MARKING)[0].source == "Art.4.2"


# -- bad input raises; denial does not ----------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"recipient": "ZZZ"}, UnknownReferenceError, "unknown party 'ZZZ'"),
        ({"holder": "ZZZ"}, UnknownReferenceError, "unknown party 'ZZZ'"),
        ({"recipient": "AAA"}, ValidationError, "cannot release a record to itself"),
    ],
)
def test_bad_input_raises(kwargs, error, message):
    recipient = kwargs.pop("recipient", "BBB")
    with pytest.raises(error, match=message):
        decide(record(), recipient, on=ON, world=world(gsomia("AAA", "BBB")), **kwargs)


def test_unknown_level_raises():
    with pytest.raises(UnknownReferenceError, match="unknown level 'AAA/L7'"):
        decide(record(level=7), "BBB", on=ON, world=world(gsomia("AAA", "BBB")))


def test_decision_serialises_with_the_documented_keys():
    d = decide(record(), "BBB", on=ON, world=world(gsomia("AAA", "BBB")))
    out = d.to_dict()
    for key in ("allowed", "route", "agreements", "recipient_label", "reasons", "checks"):
        assert key in out
    assert out["agreements"] == [{"id": "AAA-BBB-ISA", "fingerprint": d.hops[0].fingerprint}]
    assert out["recipient_label"]["text"] == d.label.text()


def test_term_rules_are_used_for_an_undated_notice():
    agreement = gsomia(
        "AAA",
        "BBB",
        term=Term(notice_days=90, anniversary=(11, 23)),
        extra=events(("2019-08-23", EventKind.TERMINATION_NOTIFIED)),
    )
    assert decide(record(), "BBB", on=D(2019, 11, 22), world=world(agreement))
    assert not decide(record(), "BBB", on=D(2019, 11, 23), world=world(agreement))


def test_of_two_agreements_in_force_the_one_carrying_more_portions_wins():
    narrow = gsomia("AAA", "BBB", id="A-NARROW", upto=1)
    wide = gsomia("AAA", "BBB", id="B-WIDE", upto=2)
    d = decide(record(portions=((1, ("BBB",)), (2, ("BBB",)))), "BBB", on=ON, world=world(narrow, wide))
    assert d.released_portions == ("1", "2")
    assert [a for a, _ in d.agreements] == ["B-WIDE"]
    # With one portion both carry it; the first by id is taken.
    assert decide(record(level=1), "BBB", on=ON, world=world(narrow, wide)).agreements[0][0] == "A-NARROW"
