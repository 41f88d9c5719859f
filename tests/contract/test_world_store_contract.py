"""The WorldStore contract, the same for the memory, SQLite and PostgreSQL stores."""

from __future__ import annotations

import dataclasses

import pytest

from accord.domain.agreement import EventKind, Term
from accord.domain.world import World
from tests.contract.conftest import Harness
from tests.contract.support import InjectedError, amended, edge_world, fingerprints, with_agreement


def save(harness: Harness, world: World) -> bool:
    with harness.unit() as store:
        return store.save(world)


def load(harness: Harness) -> World | None:
    with harness.unit() as store:
        return store.load()


def test_an_empty_store_holds_no_world(harness: Harness):
    with harness.unit() as store:
        assert store.load() is None
        assert store.fingerprint() is None


def test_the_shipped_world_reads_back_equal_with_the_same_fingerprints(harness: Harness, shipped_world: World):
    assert save(harness, shipped_world) is True

    loaded = load(harness)
    assert loaded == shipped_world
    assert loaded is not None
    assert fingerprints(loaded) == fingerprints(shipped_world)
    assert [a.id for a in loaded.agreements] == [a.id for a in shipped_world.agreements]
    assert loaded.fingerprint == shipped_world.fingerprint
    with harness.unit() as store:
        assert store.fingerprint() == shipped_world.fingerprint


def test_saving_the_same_world_twice_changes_nothing(harness: Harness, shipped_world: World):
    assert save(harness, shipped_world) is True
    assert save(harness, shipped_world) is False
    assert load(harness) == shipped_world


def test_an_agreement_whose_fingerprint_changed_is_replaced(harness: Harness, shipped_world: World):
    save(harness, shipped_world)
    gsomia = amended(shipped_world.agreement("KOR-JPN-GSOMIA"))
    changed = with_agreement(shipped_world, gsomia)

    assert save(harness, changed) is True

    loaded = load(harness)
    assert loaded == changed
    assert loaded is not None
    stored = loaded.agreement("KOR-JPN-GSOMIA")
    assert stored.fingerprint == gsomia.fingerprint != shipped_world.agreement("KOR-JPN-GSOMIA").fingerprint
    assert stored.events[-1].kind is EventKind.AMENDED
    others = {k: v for k, v in fingerprints(loaded).items() if k != "KOR-JPN-GSOMIA"}
    assert others == {k: v for k, v in fingerprints(shipped_world).items() if k != "KOR-JPN-GSOMIA"}


def test_removed_added_renamed_and_reordered_items_follow_the_world(harness: Harness, shipped_world: World):
    save(harness, shipped_world)
    kept = [a for a in shipped_world.agreements if a.id not in {"KOR-JPN-ACSA", "CAMP-DAVID-CONSULT"}]
    parties = tuple(
        dataclasses.replace(p, name="NATO (renamed)") if p.code == "NATO" else p
        for p in reversed(shipped_world.parties)
    )
    changed = World(parties=parties, schemes=shipped_world.schemes, agreements=tuple(reversed(kept)))

    assert save(harness, changed) is True
    assert load(harness) == changed
    assert save(harness, changed) is False

    # and back: the removed agreements return, in the original order
    assert save(harness, shipped_world) is True
    assert load(harness) == shipped_world


def test_dropping_a_party_and_its_scheme_is_a_change(harness: Harness, shipped_world: World):
    save(harness, shipped_world)
    smaller = World(
        parties=tuple(p for p in shipped_world.parties if p.code != "NATO"),
        schemes=tuple(s for s in shipped_world.schemes if s.party != "NATO"),
        agreements=shipped_world.agreements,
    )

    assert save(harness, smaller) is True
    assert load(harness) == smaller
    assert fingerprints(smaller) == fingerprints(shipped_world)


def test_a_world_without_parties_or_agreements_is_still_a_world(harness: Harness, shipped_world: World):
    empty = World(parties=(), schemes=(), agreements=())
    save(harness, shipped_world)

    assert save(harness, empty) is True
    assert load(harness) == empty
    with harness.unit() as store:
        assert store.fingerprint() == empty.fingerprint


def test_every_field_of_the_model_survives_the_round_trip(harness: Harness):
    world = edge_world()
    assert save(harness, world) is True

    loaded = load(harness)
    assert loaded == world
    assert loaded is not None
    assert fingerprints(loaded) == fingerprints(world)
    # orders the domain keeps but equality alone would not show were kept too
    assert loaded.scheme_of("AAA").levels == world.scheme_of("AAA").levels
    assert loaded.agreement("AAA-BBB").equivalences[0].levels == (("BBB", ("BBB/L1",)), ("AAA", ("AAA/L1b", "AAA/L1a")))
    assert [e.kind for e in loaded.agreement("AAA-BBB").events][:2] == [EventKind.SIGNED, EventKind.IN_FORCE]
    assert loaded.agreement("AAA-BBB").topics == frozenset()
    assert loaded.agreement("AAA-BBB").term == Term()
    assert save(harness, world) is False


def test_a_save_that_fails_half_way_leaves_the_store_as_it_was(harness: Harness, shipped_world: World):
    save(harness, shipped_world)
    gsomia = amended(shipped_world.agreement("KOR-JPN-GSOMIA"))
    parties = tuple(dataclasses.replace(p, name=f"{p.name} (renamed)") for p in shipped_world.parties)
    changed = World(
        parties=parties,
        schemes=shipped_world.schemes,
        agreements=tuple(a for a in with_agreement(shipped_world, gsomia).agreements if a.id != "KOR-JPN-ACSA"),
    )

    with pytest.raises(InjectedError):
        harness.save_failing_midway(changed)

    loaded = load(harness)
    assert loaded == shipped_world
    assert loaded is not None
    assert fingerprints(loaded) == fingerprints(shipped_world)
    # and the store still works: the same change goes through without the failure
    assert save(harness, changed) is True
    assert load(harness) == changed
