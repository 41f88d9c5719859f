import pytest

from accord.domain.agreement import EventKind
from accord.domain.obligation import ReclassificationNotice
from accord.errors import UnknownReferenceError, ValidationError
from accord.policy.obligations import remark
from tests.factories import D, events, gsomia, world

W = world(gsomia("AAA", "BBB", upto=2, extra=events(("2010-01-01", EventKind.TERMINATED))))


def notice(*levels):
    return ReclassificationNotice(id="n1", originator="AAA", record_id="r1", levels=levels, issued_on=D(2020, 1, 1))


def test_held_copies_are_remarked_even_after_termination():
    result = remark(notice(("1", "AAA/L1"), ("2", "AAA/L2")), holder="BBB", on=D(2020, 1, 1), world=W)
    assert result.levels == (("1", "BBB/L1"), ("2", "BBB/L2"))
    assert result.agreement == "AAA-BBB-ISA"
    assert result.must_surrender == ()


def test_a_level_without_equivalent_must_be_surrendered():
    result = remark(notice(("1", "AAA/L3")), holder="BBB", on=D(2020, 1, 1), world=W)
    assert result.must_surrender == ("1",)


def test_bad_notices():
    with pytest.raises(ValidationError, match="it reclassifies"):
        remark(notice(("1", "AAA/L1")), holder="AAA", on=D(2020, 1, 1), world=W)
    with pytest.raises(UnknownReferenceError):
        remark(notice(("1", "AAA/L9")), holder="BBB", on=D(2020, 1, 1), world=W)
    with pytest.raises(UnknownReferenceError):
        remark(notice(("1", "AAA/L1")), holder="ZZZ", on=D(2020, 1, 1), world=W)
