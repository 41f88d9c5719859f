"""Backends for the storage contract suite: memory, SQLite (a file) and PostgreSQL.

``store_backend`` runs a test once per backend with a :class:`Harness` giving units of
work on one store; ``database_url`` runs it once per SQL database. Both start empty.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from accord.domain.world import World
from accord.serialization.world import load_world
from accord.storage import InMemoryWorldStore, WorldStore
from accord.storage.sql import SqlWorldStore, make_engine, migrate
from tests.contract.support import InjectedError, failing_at_insert_into, sqlite_url

SQL_BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
ALL_BACKENDS = ["memory", *SQL_BACKENDS]


@pytest.fixture(scope="session")
def shipped_world() -> World:
    return load_world()


@pytest.fixture(params=SQL_BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return sqlite_url(tmp_path)
    url: str = request.getfixturevalue("postgres_url")
    return url


class Harness:
    """One store of one backend, and a way to make a save fail half-way through."""

    def __init__(self, name: str) -> None:
        self.name = name

    @contextmanager
    def unit(self) -> Iterator[WorldStore]:
        """The store, inside a unit of work that commits if the block succeeds."""
        raise NotImplementedError

    def save_failing_midway(self, world: World) -> None:
        """Save ``world`` with a failure injected half-way; raises InjectedError."""
        raise NotImplementedError


class MemoryHarness(Harness):
    def __init__(self) -> None:
        super().__init__("memory")
        self.store = InMemoryWorldStore()

    @contextmanager
    def unit(self) -> Iterator[WorldStore]:
        yield self.store

    def save_failing_midway(self, world: World) -> None:
        # Nothing to interrupt between writes in memory: break the world's second half.
        half = len(world.agreements) // 2
        broken = (*world.agreements[:half], *(_Exploding() for _ in world.agreements[half:]))
        world = dataclasses.replace(world)
        object.__setattr__(world, "agreements", broken)
        self.store.save(world)


class _Exploding:
    def __getattr__(self, name: str) -> object:
        raise InjectedError(name)


class SqlHarness(Harness):
    """A migrated database shared by a module; each test runs in one transaction that
    is rolled back at its end, and each unit of work is a savepoint inside it."""

    def __init__(self, name: str, connection: Connection) -> None:
        super().__init__(name)
        self.connection = connection

    @contextmanager
    def unit(self) -> Iterator[WorldStore]:
        with Session(bind=self.connection, join_transaction_mode="create_savepoint") as session, session.begin():
            yield SqlWorldStore(session)

    def save_failing_midway(self, world: World) -> None:
        # Clauses are written after the agreements, terms, parties, scope, events,
        # equivalences and excluded levels: the failure comes with rows written.
        with failing_at_insert_into(self.connection.engine, "agreement_clauses") as writes, self.unit() as store:
            try:
                store.save(world)
            finally:
                assert writes, "the failure was meant to come after some rows were written"


@pytest.fixture(scope="module", params=ALL_BACKENDS)
def _store_engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine | None]:
    if request.param == "memory":
        yield None
        return
    if request.param == "sqlite":
        url = sqlite_url(tmp_path_factory.mktemp("store"))
    else:
        url = request.getfixturevalue("postgres_module_url")
    engine = make_engine(url)
    migrate.upgrade(engine)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def harness(_store_engine: Engine | None) -> Iterator[Harness]:
    if _store_engine is None:
        yield MemoryHarness()
        return
    with _store_engine.connect() as connection:
        outer = connection.begin()
        try:
            yield SqlHarness(_store_engine.dialect.name, connection)
        finally:
            outer.rollback()
