import dataclasses

import pytest

from accord.domain.classification import Level, LevelId, Scheme
from accord.domain.consent import Consent
from accord.domain.party import Party, PartyCode, check_party_code
from accord.domain.record import Portion, Precedence, Record
from accord.domain.world import World
from accord.errors import UnknownReferenceError, ValidationError
from tests.factories import D, gsomia, party, scheme, world


@pytest.mark.parametrize("code", ["KOR", "NATO", "US1"])
def test_party_codes_accepted(code):
    assert check_party_code(code) == code


@pytest.mark.parametrize("code", ["kor", "K", "", "KOR JPN", "1AB"])
def test_party_codes_refused(code):
    with pytest.raises(ValidationError, match="party code"):
        Party(code=PartyCode(code), name="x")


def test_party_defaults_scheme_to_its_code():
    assert party("KOR").scheme == "KOR"


def test_scheme_orders_levels_and_ranks_within_itself():
    s = scheme("AAA")
    assert [lv.id for lv in s.levels] == ["AAA/L3", "AAA/L2", "AAA/L1"]
    assert s.highest(["AAA/L1", "AAA/L3"]).id == "AAA/L3"
    assert s.dominates("AAA/L2", "AAA/L1")
    assert not s.dominates("AAA/L1", "AAA/L2")
    with pytest.raises(UnknownReferenceError, match="unknown level 'AAA/L9'"):
        s.level("AAA/L9")


def test_scheme_refuses_foreign_and_duplicate_levels():
    with pytest.raises(ValidationError, match="does not belong"):
        Scheme(party="AAA", name="x", levels=(Level(id=LevelId("BBB/L1"), rank=1, native="x"),))
    with pytest.raises(ValidationError, match="twice"):
        Scheme(party="AAA", name="x", levels=(Level(id=LevelId("AAA/L1"), rank=1, native="x"),) * 2)
    with pytest.raises(ValidationError, match="no levels"):
        Scheme(party="AAA", name="x", levels=())


def test_level_validity_window():
    tokutei = Level(
        id=LevelId("JPN/TOKUTEI"),
        rank=2,
        native="特定秘密",
        romanised="Tokutei Himitsu",
        valid_from=D(2014, 12, 10),
    )
    assert not tokutei.valid_on(D(2014, 12, 9))
    assert tokutei.valid_on(D(2014, 12, 10))
    assert tokutei.label() == "特定秘密 (Tokutei Himitsu)"
    assert tokutei.code == "TOKUTEI"
    with pytest.raises(ValidationError, match="SCHEME/CODE"):
        Level(id=LevelId("TOKUTEI"), rank=1, native="x")
    with pytest.raises(ValidationError, match="is after"):
        Level(
            id=LevelId("A/B"),
            rank=1,
            native="x",
            valid_from=D(2020, 1, 1),
            valid_until=D(2019, 1, 1),
        )


def test_record_rules():
    portion = Portion(id="1", level="AAA/L1", rel_to=frozenset({"BBB"}))
    with pytest.raises(ValidationError, match="no topics"):
        Record(id="r", originator="AAA", title="t", topics=frozenset(), portions=(portion,))
    with pytest.raises(ValidationError, match="no portions"):
        Record(id="r", originator="AAA", title="t", topics=frozenset({"x"}), portions=())
    with pytest.raises(ValidationError, match="same id"):
        Record(
            id="r",
            originator="AAA",
            title="t",
            topics=frozenset({"x"}),
            portions=(portion, portion),
        )
    two = Record(
        id="r",
        originator="AAA",
        title="t",
        topics=frozenset({"x"}),
        portions=(portion, Portion(id="2", level="AAA/L2", rel_to=frozenset({"CCC"}))),
    )
    assert two.rel_to == {"BBB", "CCC"}
    assert Precedence.FLASH.order < Precedence.ROUTINE.order


def test_consent_permits_exactly_what_it_names():
    c = Consent(
        id="c1",
        originator="AAA",
        holder="BBB",
        third_party="CCC",
        valid_from=D(2020, 1, 1),
        valid_until=D(2020, 12, 31),
        topic="t1",
    )
    ok = {
        "originator": "AAA",
        "holder": "BBB",
        "third_party": "CCC",
        "record_id": "r",
        "topics": frozenset({"t1"}),
        "on": D(2020, 6, 1),
    }
    assert c.permits(**ok)
    assert not c.permits(**{**ok, "on": D(2021, 1, 1)})
    assert not c.permits(**{**ok, "third_party": "DDD"})
    assert not c.permits(**{**ok, "topics": frozenset({"t1", "t2"})})  # fail closed on a wider record
    by_record = Consent(
        id="c2",
        originator="AAA",
        holder="BBB",
        third_party="CCC",
        valid_from=D(2020, 1, 1),
        valid_until=D(2020, 12, 31),
        record_id="r",
    )
    assert by_record.permits(**ok)
    assert not by_record.permits(**{**ok, "record_id": "other"})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"topic": None}, "exactly one of"),
        ({"record_id": "r"}, "exactly one of"),
        ({"valid_from": D(2021, 1, 1)}, "is after"),
        ({"third_party": "AAA"}, "must differ"),
    ],
)
def test_consent_validation(kwargs, message):
    base = {
        "id": "c",
        "originator": "AAA",
        "holder": "BBB",
        "third_party": "CCC",
        "valid_from": D(2020, 1, 1),
        "valid_until": D(2020, 12, 31),
        "topic": "t1",
    }
    with pytest.raises(ValidationError, match=message):
        Consent(**{**base, **kwargs})


def test_world_checks_references_and_indexes_pairs():
    w = world(gsomia("AAA", "BBB"))
    assert [a.id for a in w.carriers("AAA", "BBB")] == ["AAA-BBB-ISA"]
    assert [a.id for a in w.carriers("BBB", "AAA")] == ["AAA-BBB-ISA"]
    assert w.carriers("AAA", "CCC") == ()
    with pytest.raises(UnknownReferenceError, match="unknown party 'ZZZ'"):
        w.party("ZZZ")
    with pytest.raises(UnknownReferenceError, match="unknown agreement"):
        w.agreement("nope")
    with pytest.raises(UnknownReferenceError, match="unknown party 'ZZZ'"):
        world(gsomia("AAA", "ZZZ"))
    with pytest.raises(ValidationError, match="twice"):
        World(parties=(party("AAA"), party("AAA")), schemes=(scheme("AAA"),), agreements=())
    with pytest.raises(UnknownReferenceError, match="relies on unknown agreement"):
        world(gsomia("AAA", "BBB", relies_on=("NOPE",)))


def test_world_derived_values_are_built_once_and_kept_with_the_world():
    built = []

    def count(w: World) -> int:
        built.append(w)
        return len(w.agreements)

    w, other = world(gsomia("AAA", "BBB")), world()
    assert (w.derived(count), w.derived(count), other.derived(count)) == (1, 1, 0)
    assert built == [w, other]
    assert w == world(gsomia("AAA", "BBB"))  # not part of equality


def test_world_fingerprint_tracks_agreements():
    assert world(gsomia("AAA", "BBB")).fingerprint == world(gsomia("AAA", "BBB")).fingerprint
    assert world(gsomia("AAA", "BBB")).fingerprint != world(gsomia("AAA", "BBB", start="2001-01-01")).fingerprint


def test_world_fingerprint_covers_level_details():
    base = world(gsomia("AAA", "BBB"))
    scheme_a = base.scheme_of("AAA")
    shifted = Scheme(
        party="AAA",
        name=scheme_a.name,
        levels=tuple(dataclasses.replace(lv, valid_from=D(1990, 1, 1)) for lv in scheme_a.levels),
    )
    other = World(
        parties=base.parties,
        schemes=(shifted, *[s for s in base.schemes if s.party != "AAA"]),
        agreements=base.agreements,
    )
    assert other.fingerprint != base.fingerprint
