"""services.decisions: parsing what people type, and asking the engine."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from accord.errors import UnknownReferenceError, ValidationError
from accord.services import decisions
from accord.services.decisions import (
    ReleaseQuestion,
    decide_release,
    parse_date,
    parse_parties,
    parse_topics,
)
from accord.services.world import read_world

D = dt.date


@pytest.fixture(scope="module")
def world():
    return read_world(None)


def question(**overrides):
    flags = {"sender": "KOR", "recipient": "JPN", "level": "KOR/MIL-II", "topics": ["dprk-missile"], "on": "2015-06-01"}
    flags.update(overrides)
    return ReleaseQuestion.from_flags(**flags)


# -- dates ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2015-06-01", D(2015, 6, 1)),
        ("  2015-06-01\n", D(2015, 6, 1)),
        ("2016-02-29", D(2016, 2, 29)),
        ("2000-02-29", D(2000, 2, 29)),
        ("1900-01-01", D(1900, 1, 1)),
        ("2199-12-31", D(2199, 12, 31)),
    ],
    ids=["plain", "whitespace", "leap-day", "leap-century", "earliest", "latest"],
)
def test_parse_date_accepts(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("2015-02-29", "not a calendar day"),
        ("1900-02-29", "not a calendar day"),
        ("2015-13-01", "not a calendar day"),
        ("2015-00-10", "not a calendar day"),
        ("2015-06-31", "not a calendar day"),
        ("0000-01-01", "not a calendar day"),
        ("1899-12-31", "outside the dates Accord handles"),
        ("2200-01-01", "outside the dates Accord handles"),
        ("9999-12-31", "outside the dates Accord handles"),
        ("0001-01-01", "outside the dates Accord handles"),
        ("2015-6-1", "write it as YYYY-MM-DD"),
        ("20150601", "write it as YYYY-MM-DD"),
        ("2015-W23-1", "write it as YYYY-MM-DD"),
        ("2015/06/01", "write it as YYYY-MM-DD"),
        ("2015-06-01T00:00", "write it as YYYY-MM-DD"),
        ("\uff12\uff10\uff11\uff15-\uff10\uff16-\uff10\uff11", "write it as YYYY-MM-DD"),  # full-width digits
        ("", "write it as YYYY-MM-DD"),
        ("yesterday", "write it as YYYY-MM-DD"),
    ],
    ids=lambda v: v or "empty",
)
def test_parse_date_refuses_with_the_field_and_value(text, fragment):
    with pytest.raises(ValidationError) as info:
        parse_date(text, field="--on")
    message = info.value.message
    assert message.startswith("--on: ")
    assert fragment in message
    assert "\n" not in message


def test_parse_date_defaults_to_today(monkeypatch):
    monkeypatch.setattr(decisions, "today", lambda: D(2020, 5, 4))
    assert parse_date(None) == D(2020, 5, 4)
    assert parse_date(" Today ") == D(2020, 5, 4)


def test_the_bounds_are_the_documented_ones():
    assert (D(1900, 1, 1), D(2199, 12, 31)) == (decisions.EARLIEST, decisions.LATEST)


# -- parties and topics ---------------------------------------------------------------


def test_parse_parties_splits_commas_and_upper_cases():
    assert parse_parties(["kor, USA", " jpn "]) == {"KOR", "USA", "JPN"}


@pytest.mark.parametrize("values", [[], [""], [" , "]], ids=["none", "empty", "commas"])
def test_parse_parties_needs_one(values):
    with pytest.raises(ValidationError, match="--rel-to: give at least one party"):
        parse_parties(values, field="--rel-to")


def test_parse_topics_keeps_case_and_splits():
    assert parse_topics(["dprk-missile,dprk-nuclear", "Other"]) == {"dprk-missile", "dprk-nuclear", "Other"}
    with pytest.raises(ValidationError, match="give at least one topic"):
        parse_topics([" "])


# -- the question ---------------------------------------------------------------------


def test_from_flags_normalises_and_defaults_rel_to_to_the_recipient():
    q = question(sender=" kor", recipient="jpn ")
    assert (q.sender, q.recipient, q.on, q.rel_to) == ("KOR", "JPN", D(2015, 6, 1), None)
    record = q.record()
    assert record.originator == "KOR"
    assert record.rel_to == {"JPN"}
    assert [p.level for p in record.portions] == ["KOR/MIL-II"]


def test_from_flags_keeps_an_explicit_rel_to():
    assert question(rel_to=["USA,JPN"]).record().rel_to == {"USA", "JPN"}


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"sender": " "}, "--from"),
        ({"recipient": ""}, "--to"),
        ({"level": " "}, "--level"),
        ({"topics": []}, "--topic"),
        ({"rel_to": [""]}, "--rel-to"),
        ({"on": "2015-02-30"}, "--on"),
    ],
    ids=["from", "to", "level", "topic", "rel-to", "on"],
)
def test_from_flags_names_the_bad_flag(overrides, fragment):
    with pytest.raises(ValidationError) as info:
        question(**overrides)
    assert info.value.message.startswith(fragment)


# -- decisions ------------------------------------------------------------------------


def test_2015_goes_through_the_tisa_hub(world):
    decision = decide_release(world, question())
    assert decision.allowed
    assert decision.route == ("KOR", "USA", "JPN")
    assert decision.via == ("TISA", world.agreement("TISA").fingerprint)
    assert decision.label is not None
    assert decision.label.recipient_level == "JPN/GOKUHI"


def test_2017_goes_direct_under_the_bilateral_gsomia(world):
    decision = decide_release(world, question(on="2017-01-10"))
    assert decision.route == ("KOR", "JPN")
    assert [a for a, _ in decision.agreements] == ["KOR-JPN-GSOMIA"]
    assert decision.via is None


def test_a_denial_is_a_value(world):
    decision = decide_release(world, question(on="2012-06-29"))
    assert not decision.allowed
    assert decision.via is None
    assert any("not-in-force" in r for r in decision.reasons)


def test_a_bare_level_is_read_in_the_senders_scheme(world):
    decision = decide_release(world, question(level="MIL-II"))
    assert decision.allowed
    assert decision.label is not None
    assert decision.label.originator_level == "KOR/MIL-II"


def test_rel_to_without_the_recipient_is_denied(world):
    decision = decide_release(world, question(rel_to=["USA"]))
    assert not decision.allowed
    assert any("not releasable to JPN" in r for r in decision.reasons)


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"recipient": "XXX"}, "unknown party 'XXX'"),
        ({"sender": "ZZZ"}, "unknown party 'ZZZ'"),
        ({"level": "KOR/MIL-IX"}, "unknown level 'KOR/MIL-IX'"),
        ({"level": "JPN/HI"}, "unknown level 'JPN/HI'"),
        ({"rel_to": ["JPN,QQQ"]}, "unknown party 'QQQ'"),
    ],
    ids=["recipient", "sender", "level", "foreign-level", "rel-to"],
)
def test_unknown_references_come_back_from_the_engine(world, overrides, fragment):
    with pytest.raises(UnknownReferenceError, match=fragment):
        decide_release(world, question(**overrides))


def test_release_to_oneself_is_refused(world):
    with pytest.raises(ValidationError, match="itself"):
        decide_release(world, question(recipient="KOR"))


def test_the_decision_serialises_to_one_json_object(world):
    data = json.loads(json.dumps(decide_release(world, question()).to_dict()))
    assert {"allowed", "route", "agreements", "recipient_label", "reasons", "checks"} <= set(data)
