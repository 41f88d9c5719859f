"""services.history: the 2006-2023 replay is plain data that tells the story."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from accord.services.history import MILESTONES, OTHER_TOPIC, TISA_TOPIC, Milestone, replay
from accord.services.world import read_world

D = dt.date


@pytest.fixture(scope="module")
def steps():
    return {s.on.isoformat(): s for s in replay(read_world(None))}


def test_one_step_per_milestone_in_date_order():
    replayed = replay(read_world(None))
    dates = [s.on for s in replayed]
    assert dates == sorted(dates)
    assert len(replayed) == len(MILESTONES)
    assert dates[0].year == 2006
    assert dates[-1] == D(2023, 8, 18)


@pytest.mark.parametrize("on", ["2006-07-03", "2007-08-10", "2011-01-10", "2012-06-29", "2014-10-09"])
def test_before_tisa_nothing_goes(steps, on):
    step = steps[on]
    assert not step.covered.allowed
    assert not step.other.allowed
    assert step.covered.route == ()
    assert step.covered.label == ""
    assert "not-in-force" in step.covered.reason


@pytest.mark.parametrize("on", ["2014-12-29", "2015-04-27"])
def test_from_tisa_missile_information_goes_through_the_us_hub(steps, on):
    covered, other = steps[on].covered, steps[on].other
    assert covered.topic == TISA_TOPIC
    assert covered.allowed
    assert covered.route == ("KOR", "USA", "JPN")
    assert covered.via == "TISA"
    assert covered.agreements == ("TISA", "KOR-USA-GSOMIA", "USA-JPN-GSOMIA")
    assert covered.route_text == "KOR → USA → JPN"
    assert "TISA names USA as hub" in covered.reason
    assert "極秘" in covered.label
    assert other.topic == OTHER_TOPIC
    assert not other.allowed
    assert "outside TISA" in other.reason


@pytest.mark.parametrize("on", ["2016-11-23", "2019-08-23", "2019-11-22", "2023-03-21", "2023-08-18"])
def test_from_the_bilateral_gsomia_both_topics_go_direct(steps, on):
    for outcome in (steps[on].covered, steps[on].other):
        assert outcome.allowed
        assert outcome.route == ("KOR", "JPN")
        assert outcome.via is None
        assert outcome.agreements == ("KOR-JPN-GSOMIA",)


def test_a_pending_notice_does_not_stop_release(steps):
    assert "termination-pending" in steps["2019-08-23"].covered.reason
    assert "takes effect 2019-11-23" in steps["2019-08-23"].covered.reason
    assert "suspended" in steps["2019-11-22"].covered.reason
    assert "withdrawn" in steps["2023-03-21"].covered.reason


def test_steps_are_json_data(steps):
    data = json.loads(json.dumps(steps["2015-04-27"].to_dict()))
    assert data["on"] == "2015-04-27"
    assert [o["topic"] for o in data["outcomes"]] == [TISA_TOPIC, OTHER_TOPIC]
    assert data["outcomes"][0]["route"] == ["KOR", "USA", "JPN"]


def test_replay_takes_other_milestones():
    mine = (Milestone(on=D(2020, 1, 1), title="b", source="s"), Milestone(on=D(2010, 1, 1), title="a", source="s"))
    replayed = replay(read_world(None), mine)
    assert [s.milestone.title for s in replayed] == ["a", "b"]
    assert [s.covered.allowed for s in replayed] == [False, True]


def test_every_milestone_cites_a_source():
    assert all(m.source and m.title for m in MILESTONES)
