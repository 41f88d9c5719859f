"""Access by people at the receiving node: each condition from both sides."""

import pytest

from accord.domain.person import Person
from accord.errors import UnknownReferenceError, ValidationError
from accord.policy.access import may_open
from tests.factories import D, world

W = world()
ON = D(2020, 6, 1)


def person(**kw):
    base = {"id": "p1", "party": "BBB", "clearance": "BBB/L2", "need_to_know": frozenset({"t1", "t2"})}
    return Person(**{**base, **kw})


def ask(p, level="BBB/L2", topics=("t1",)):
    return may_open(p, holder="BBB", level=level, topics=frozenset(topics), on=ON, world=W)


def test_cleared_national_with_need_to_know_may_open():
    d = ask(person())
    assert d
    assert [c.rule for c in d.checks] == ["nationality", "clearance", "need-to-know"]


@pytest.mark.parametrize(
    ("kw", "level", "topics", "rule"),
    [
        ({"party": "AAA", "clearance": "AAA/L3"}, "BBB/L2", ("t1",), "nationality"),
        ({"clearance": "BBB/L1"}, "BBB/L2", ("t1",), "clearance"),
        ({"clearance": None}, "BBB/L1", ("t1",), "clearance"),
        ({}, "BBB/L2", ("t1", "t9"), "need-to-know"),
        ({"need_to_know": frozenset()}, "BBB/L1", ("t1",), "need-to-know"),
    ],
    ids=["foreign-national", "clearance-too-low", "no-clearance", "missing-topic", "no-need-to-know"],
)
def test_each_condition_can_refuse(kw, level, topics, rule):
    d = ask(person(**kw), level=level, topics=topics)
    assert not d
    assert rule in {c.rule for c in d.checks if not c.passed}


def test_rank_or_role_alone_never_suffices():
    chief = person(clearance=None, roles=frozenset({"administrator", "security-officer"}))
    assert not ask(chief, level="BBB/L1")
    general = person(clearance="BBB/L3", need_to_know=frozenset(), roles=frozenset({"administrator"}))
    assert not ask(general, level="BBB/L1")


def test_higher_clearance_opens_lower_marking():
    assert ask(person(clearance="BBB/L3"), level="BBB/L1")


def test_clearance_must_be_in_own_scheme():
    with pytest.raises(ValidationError, match="own scheme"):
        Person(id="p", party="BBB", clearance="AAA/L3")


def test_unknown_marking_raises():
    with pytest.raises(UnknownReferenceError):
        ask(person(), level="BBB/L9")
