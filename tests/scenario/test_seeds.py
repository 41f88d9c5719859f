"""One scenario per seed document: what its date and text imply could flow.

The seeds are the news reports in shared/seeds/; the dates and facts come from
shared/reference/domain-facts.md, as the shipped world dataset does.
"""

from __future__ import annotations

import datetime as dt

import pytest

from accord.domain.agreement import AgreementStatus
from accord.domain.record import Record
from accord.errors import ValidationError
from accord.policy import decide
from accord.serialization.world import load_world

WORLD = load_world()
D = dt.date


def ask(sender, recipient, on, *, level=None, topic="dprk-missile", rel_to=None):
    levels = {"KOR": "KOR/MIL-II", "JPN": "JPN/GOKUHI", "USA": "USA/SECRET"}
    record = Record.single(
        id="r",
        originator=sender,
        level=level or levels[sender],
        topics={topic},
        rel_to=set(rel_to or {recipient}),
    )
    return decide(record, recipient, on=on, world=WORLD)


def status(agreement_id, on):
    return WORLD.agreement(agreement_id).status_on(on)


class TestSeed000July2006:
    """Hankyoreh, 2006-07-03: talk of a three-way alliance; only the US-ROK pact exists."""

    ON = D(2006, 7, 3)

    def test_nothing_between_seoul_and_tokyo(self):
        assert not ask("KOR", "JPN", self.ON)
        assert not ask("JPN", "KOR", self.ON)

    def test_seoul_and_washington_share_under_the_1987_agreement(self):
        d = ask("KOR", "USA", self.ON)
        assert d.route == ("KOR", "USA")
        assert d.agreements[0][0] == "KOR-USA-GSOMIA"

    def test_no_us_japan_gsomia_until_august_2007(self):
        assert not ask("USA", "JPN", self.ON)
        assert ask("USA", "JPN", D(2007, 8, 10)).route == ("USA", "JPN")


class TestSeed001And002January2011:
    """Dong-A and Chosun, 5-6 Jan 2011: a Korea-Japan GSOMIA and ACSA are only talked about."""

    @pytest.mark.parametrize("on", [D(2011, 1, 5), D(2011, 1, 6)])
    def test_nothing_directly_between_kor_and_jpn(self, on):
        d = ask("KOR", "JPN", on)
        assert not d
        assert any("KOR-JPN-GSOMIA is not-in-force" in r for r in d.reasons)

    def test_no_hub_route_before_tisa(self):
        d = ask("KOR", "JPN", D(2011, 1, 6), topic="dprk-nuclear")
        assert not d
        assert any("TISA is not-in-force" in r for r in d.reasons)

    def test_each_side_shares_with_washington(self):
        assert ask("KOR", "USA", D(2011, 1, 6))
        assert ask("JPN", "USA", D(2011, 1, 6))

    def test_no_korea_japan_acsa(self):
        assert status("KOR-JPN-ACSA", D(2011, 1, 6)) is AgreementStatus.NOT_IN_FORCE
        assert status("USA-JPN-ACSA", D(2011, 1, 6)) is AgreementStatus.IN_FORCE

    def test_june_2012_signing_postponed_leaves_nothing(self):
        assert not ask("KOR", "JPN", D(2012, 6, 29))


class TestSeed004October2014:
    """Hankyoreh, 2014-10-09: a trilateral information-sharing MOU is being discussed."""

    def test_not_yet_in_force(self):
        assert not ask("KOR", "JPN", D(2014, 10, 9))
        assert not ask("KOR", "JPN", D(2014, 12, 28))

    def test_tisa_routes_missile_data_through_the_us_from_29_december_2014(self):
        for on in (D(2014, 12, 29), D(2015, 6, 1)):
            d = ask("KOR", "JPN", on)
            assert d.route == ("KOR", "USA", "JPN")
            assert [a for a, _ in d.agreements] == ["TISA", "KOR-USA-GSOMIA", "USA-JPN-GSOMIA"]
            assert d.via == ("TISA", WORLD.agreement("TISA").fingerprint)
            assert d.relies_on_inferred  # no published KOR-USA or USA-JPN table
            assert d.label is not None
            assert d.label.recipient_level == "JPN/GOKUHI"
            assert d.label.originator_level == "KOR/MIL-II"

    def test_tisa_works_both_ways(self):
        d = ask("JPN", "KOR", D(2015, 6, 1), topic="dprk-nuclear")
        assert d.route == ("JPN", "USA", "KOR")
        assert d.label.recipient_level == "KOR/MIL-II"

    def test_tisa_carries_nothing_but_dprk_nuclear_and_missile(self):
        d = ask("KOR", "JPN", D(2015, 6, 1), topic="china-navy")
        assert not d
        assert any("china-navy is outside TISA" in r for r in d.reasons)

    def test_tisa_never_carries_rok_level_one(self):
        assert not ask("KOR", "JPN", D(2015, 6, 1), level="KOR/MIL-I")

    def test_originator_may_withhold_from_japan(self):
        assert not ask("KOR", "JPN", D(2015, 6, 1), rel_to={"USA"})


class TestSeed003August2023:
    """JoongAng Daily, 2023-08-22: the 2016 GSOMIA, nearly revoked in 2019, stands."""

    def test_direct_from_23_november_2016(self):
        assert ask("KOR", "JPN", D(2016, 11, 22)).route == ("KOR", "USA", "JPN")
        d = ask("KOR", "JPN", D(2016, 11, 23))
        assert d.route == ("KOR", "JPN")
        assert d.agreements[0][0] == "KOR-JPN-GSOMIA"
        assert not d.relies_on_inferred  # Art.4.2 gives the table
        assert d.label.text().startswith("JPN 極秘 (Gokuhi) [SECRET] // ORIGINATOR KOR")

    def test_direct_route_carries_any_military_topic(self):
        assert ask("KOR", "JPN", D(2017, 3, 1), topic="china-navy").route == ("KOR", "JPN")

    def test_level_three_is_marked_hi(self):
        d = ask("KOR", "JPN", D(2017, 3, 1), level="KOR/MIL-III")
        assert d.label.recipient_level == "JPN/HI"
        assert d.label.english == "CONFIDENTIAL"

    def test_level_one_never_goes_under_the_gsomia(self):
        d = ask("KOR", "JPN", D(2017, 3, 1), level="KOR/MIL-I")
        assert not d
        assert any("KOR/MIL-I is excluded from KOR-JPN-GSOMIA" in r for r in d.reasons)

    def test_still_flowing_while_the_2019_notice_was_pending(self):
        assert status("KOR-JPN-GSOMIA", D(2019, 10, 1)) is AgreementStatus.TERMINATION_PENDING
        d = ask("KOR", "JPN", D(2019, 10, 1))
        assert d.route == ("KOR", "JPN")
        assert any("termination-pending" in r for r in d.reasons)

    def test_suspension_on_22_november_2019_keeps_it_in_force(self):
        for on in (D(2019, 11, 22), D(2019, 11, 23), D(2021, 1, 1)):
            assert status("KOR-JPN-GSOMIA", on) is AgreementStatus.IN_FORCE
            assert ask("KOR", "JPN", on).route == ("KOR", "JPN")

    def test_withdrawal_in_march_2023_and_the_seed_date(self):
        assert status("KOR-JPN-GSOMIA", D(2023, 3, 21)) is AgreementStatus.IN_FORCE
        assert ask("KOR", "JPN", D(2023, 8, 22)).route == ("KOR", "JPN")

    def test_camp_david_commitment_is_in_force_but_carries_no_records(self):
        assert status("CAMP-DAVID-CONSULT", D(2023, 8, 22)) is AgreementStatus.IN_FORCE
        assert status("CAMP-DAVID-CONSULT", D(2023, 8, 17)) is AgreementStatus.NOT_IN_FORCE
        assert WORLD.carriers("KOR", "JPN")[0].id == "KOR-JPN-GSOMIA"

    def test_no_korea_japan_acsa_even_in_2023(self):
        assert status("KOR-JPN-ACSA", D(2023, 8, 22)) is AgreementStatus.NOT_IN_FORCE

    def test_japanese_levels_follow_the_2014_secrecy_law(self):
        tokutei = Record.single(id="r", originator="JPN", level="JPN/TOKUTEI", topics={"dprk-missile"}, rel_to={"KOR"})
        with pytest.raises(
            ValidationError, match=r"JPN/TOKUTEI does not exist on 2014-12-09 \(in use 2014-12-10 to now\)"
        ):
            decide(tokutei, "KOR", on=D(2014, 12, 9), world=WORLD)
        d = decide(tokutei, "KOR", on=D(2017, 1, 1), world=WORLD)
        assert d.label.recipient_level == "KOR/MIL-II"
        boei = Record.single(id="r", originator="JPN", level="JPN/BOEI", topics={"dprk-missile"}, rel_to={"USA"})
        assert decide(boei, "USA", on=D(2010, 1, 1), world=WORLD)
        with pytest.raises(ValidationError, match="JPN/BOEI does not exist on 2015-01-01"):
            decide(boei, "USA", on=D(2015, 1, 1), world=WORLD)
