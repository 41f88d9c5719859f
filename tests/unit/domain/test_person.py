"""People in the domain: roles by name, need-to-know topics, a clearance checked against the world."""

from __future__ import annotations

import pytest

from accord.domain.person import Person, Role, parse_roles
from accord.errors import UnknownReferenceError, ValidationError
from accord.serialization.world import load_world
from tests.factories import D

WORLD = load_world()


def kim(**kw):
    base = {"id": "kim", "party": "KOR", "clearance": "KOR/MIL-II", "name": "Kim Min-jun"}
    return Person(**(base | kw))


def test_roles_are_kept_as_members_whatever_they_were_given_as():
    p = kim(roles=frozenset({"analyst", Role.DISCLOSURE_OFFICER}))
    assert p.roles == {Role.ANALYST, Role.DISCLOSURE_OFFICER}
    assert all(isinstance(r, Role) for r in p.roles)
    assert p.has_role(Role.ANALYST)
    assert not p.has_role(Role.ADMINISTRATOR)
    assert parse_roles([" security-officer "]) == {Role.SECURITY_OFFICER}


def test_an_unknown_role_is_refused_naming_the_known_ones():
    with pytest.raises(ValidationError, match=r"unknown role 'general'.*analyst, disclosure-officer"):
        kim(roles=frozenset({"general"}))


@pytest.mark.parametrize("topic", ["", " padded", "x" * 129])
def test_malformed_topics_are_refused(topic):
    with pytest.raises(ValidationError, match="need-to-know topic"):
        kim(need_to_know=frozenset({topic}))


def test_a_clearance_is_checked_against_the_world_on_a_day():
    kim().check(WORLD, on=D(2026, 3, 1))
    kim(clearance=None).check(WORLD, on=D(2026, 3, 1))
    with pytest.raises(UnknownReferenceError, match="KOR/MIL-IV is not a level of KOR's scheme"):
        kim(clearance="KOR/MIL-IV").check(WORLD, on=D(2026, 3, 1))
    with pytest.raises(UnknownReferenceError, match="unknown party"):
        Person(id="x", party="XYZ", clearance=None).check(WORLD, on=D(2026, 3, 1))


def test_a_clearance_at_a_level_not_in_use_is_refused():
    tanaka = Person(id="tanaka", party="JPN", clearance="JPN/TOKUTEI")
    tanaka.check(WORLD, on=D(2015, 1, 1))
    with pytest.raises(ValidationError, match="not in use on 2013-01-01"):
        tanaka.check(WORLD, on=D(2013, 1, 1))


def test_a_clearance_in_another_scheme_is_refused():
    with pytest.raises(ValidationError, match="own scheme"):
        kim(clearance="JPN/HI")
