"""Registry (services.registry) on SQLite and PostgreSQL: set-up, loads, failures, errors."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from accord.domain.world import World
from accord.errors import StorageError
from accord.services.registry import LoadReport, Registry
from accord.storage.sql import make_engine
from tests.contract.support import InjectedError, amended, failing_at_insert_into, fingerprints, with_agreement


@pytest.fixture
def registry(database_url: str) -> Iterator[Registry]:
    with Registry(database_url=database_url) as registry:
        yield registry


@pytest.fixture
def loaded(registry: Registry, shipped_world: World) -> Registry:
    registry.init()
    registry.load_world(shipped_world)
    return registry


def test_reads_before_init_and_before_a_load_say_what_to_run(registry: Registry, shipped_world: World):
    assert registry.has_world() is False
    with pytest.raises(StorageError, match="not initialised") as before_init:
        registry.world()
    assert "accord init" in before_init.value.diagnostics()
    with pytest.raises(StorageError, match="not initialised"):
        registry.load_world(shipped_world)

    registry.init()
    registry.init()  # idempotent

    assert registry.has_world() is False
    with pytest.raises(StorageError, match="no world loaded in") as before_load:
        registry.world()
    assert "accord world load" in before_load.value.diagnostics()


def test_loading_twice_reports_a_change_once(registry: Registry, shipped_world: World):
    registry.init()

    first = registry.load_world(shipped_world)
    second = registry.load_world(shipped_world)

    assert first == LoadReport(
        changed=True,
        parties=len(shipped_world.parties),
        schemes=len(shipped_world.schemes),
        agreements=len(shipped_world.agreements),
        fingerprint=shipped_world.fingerprint,
    )
    assert second == dataclasses.replace(first, changed=False)
    assert second.to_dict()["changed"] is False
    assert registry.has_world() is True
    assert registry.world() == shipped_world
    assert fingerprints(registry.world()) == fingerprints(shipped_world)


def test_a_changed_agreement_replaces_the_stored_one(loaded: Registry, shipped_world: World):
    changed = with_agreement(shipped_world, amended(shipped_world.agreement("TISA")))

    report = loaded.load_world(changed)

    assert report.changed is True
    assert report.fingerprint == changed.fingerprint != shipped_world.fingerprint
    assert loaded.world() == changed
    assert loaded.world().agreement("TISA").fingerprint == changed.agreement("TISA").fingerprint


def test_a_load_the_database_refuses_half_way_changes_nothing(loaded: Registry, shipped_world: World):
    # The first agreement is replaced (its rows written) before the last one breaks a
    # CHECK constraint the domain would never let through: a hub on a non-hub agreement.
    last = dataclasses.replace(shipped_world.agreements[-1], notes="changed, and broken")
    object.__setattr__(last, "hub", "USA")
    broken = World(
        parties=shipped_world.parties,
        schemes=shipped_world.schemes,
        agreements=(amended(shipped_world.agreements[0]), *shipped_world.agreements[1:-1], last),
    )

    with pytest.raises(StorageError, match="cannot load the world into") as refused:
        loaded.load_world(broken)

    assert isinstance(refused.value.__cause__, SQLAlchemyError)
    assert "nothing was changed" in refused.value.diagnostics()
    assert loaded.world() == shipped_world
    assert loaded.load_world(shipped_world).changed is False


def test_a_load_interrupted_half_way_changes_nothing(loaded: Registry, shipped_world: World):
    changed = with_agreement(shipped_world, amended(shipped_world.agreement("KOR-JPN-GSOMIA")))

    with failing_at_insert_into(Engine, "agreement_clauses") as writes, pytest.raises(InjectedError):
        loaded.load_world(changed)

    assert writes  # rows had been written when it failed
    assert loaded.world() == shipped_world
    assert loaded.load_world(changed).changed is True


@pytest.mark.usefixtures("loaded")
def test_a_schema_from_another_version_is_reported(database_url: str):
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = 'f00f00f00f00'"))
    finally:
        engine.dispose()

    with Registry(database_url=database_url) as fresh:
        with pytest.raises(StorageError, match="schema revision f00f00f00f00") as outdated:
            fresh.world()
        assert "accord init" in outdated.value.diagnostics()
        with pytest.raises(StorageError, match="cannot migrate"):
            fresh.init()


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("not a url", "is not a database URL"),
        ("mysql://root@localhost/accord", "does not support"),
    ],
)
def test_unusable_urls_are_refused_up_front(url: str, problem: str):
    with pytest.raises(StorageError, match=problem):
        Registry(database_url=url)


def test_an_unreachable_server_is_a_storage_error_without_the_password():
    # Port 1 on the loopback refuses at once: no server, no wait.
    url = "postgresql://accord:s3cret@127.0.0.1:1/accord"
    with Registry(database_url=url) as registry, pytest.raises(StorageError, match="cannot read") as unreachable:
        registry.has_world()
    assert "s3cret" not in unreachable.value.diagnostics()
    assert "***" in unreachable.value.message
