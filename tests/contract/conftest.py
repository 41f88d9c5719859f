"""Backends for the storage contract suite: memory, SQLite (a file) and PostgreSQL.

``harness`` runs a test once per backend with a :class:`Harness` giving units of work
on the world store; ``node`` does the same with a :class:`Node` giving units of work on
the record, release, audit and obligation stores together (``sql_node``: on SQLite and
PostgreSQL only); ``database_url`` runs a test once per SQL database. All start empty.
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
from accord.storage import (
    AuditStore,
    InMemoryAuditStore,
    InMemoryObligationStore,
    InMemoryRecordStore,
    InMemoryReleaseStore,
    InMemoryWorldStore,
    ObligationStore,
    RecordStore,
    ReleaseStore,
    WorldStore,
)
from accord.storage.sql import (
    SqlAuditStore,
    SqlObligationStore,
    SqlRecordStore,
    SqlReleaseStore,
    SqlWorldStore,
    make_engine,
    migrate,
)
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


@contextmanager
def _unit_session(connection: Connection) -> Iterator[Session]:
    """A session whose transaction is a savepoint in the test's own transaction."""
    with Session(bind=connection, join_transaction_mode="create_savepoint") as session, session.begin():
        yield session


class SqlHarness(Harness):
    """A migrated database shared by a module; each test runs in one transaction that
    is rolled back at its end, and each unit of work is a savepoint inside it."""

    def __init__(self, name: str, connection: Connection) -> None:
        super().__init__(name)
        self.connection = connection

    @contextmanager
    def unit(self) -> Iterator[WorldStore]:
        with _unit_session(self.connection) as session:
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
    yield from _migrated_engine(request, tmp_path_factory)


@pytest.fixture(scope="module", params=SQL_BACKENDS)
def _sql_store_engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    yield from _migrated_engine(request, tmp_path_factory)


def _migrated_engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A migrated database for the module: a SQLite file, or PostgreSQL in a schema of its own."""
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


@contextmanager
def _rolled_back(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that is rolled back at the end: the test's changes go."""
    with engine.connect() as connection:
        outer = connection.begin()
        try:
            yield connection
        finally:
            outer.rollback()


@pytest.fixture
def harness(_store_engine: Engine | None) -> Iterator[Harness]:
    if _store_engine is None:
        yield MemoryHarness()
        return
    with _rolled_back(_store_engine) as connection:
        yield SqlHarness(_store_engine.dialect.name, connection)


@dataclasses.dataclass(frozen=True)
class NodeStores:
    records: RecordStore
    releases: ReleaseStore
    audit: AuditStore
    obligations: ObligationStore


class Node:
    """A node's stores on one backend, used in units of work."""

    def __init__(self, name: str) -> None:
        self.name = name

    @contextmanager
    def unit(self) -> Iterator[NodeStores]:
        """The stores inside a unit of work that commits if the block succeeds.

        A store's refusal caught inside the block leaves the unit usable: the SQL
        stores write nothing before they refuse (or undo it in a savepoint).
        """
        raise NotImplementedError


class MemoryNode(Node):
    def __init__(self) -> None:
        super().__init__("memory")
        self.stores = NodeStores(
            InMemoryRecordStore(), InMemoryReleaseStore(), InMemoryAuditStore(), InMemoryObligationStore()
        )

    @contextmanager
    def unit(self) -> Iterator[NodeStores]:
        yield self.stores


class SqlNode(Node):
    """Like SqlHarness: each unit of work is a savepoint in the test's own transaction."""

    def __init__(self, name: str, connection: Connection) -> None:
        super().__init__(name)
        self.connection = connection

    @contextmanager
    def unit(self) -> Iterator[NodeStores]:
        with _unit_session(self.connection) as session:
            yield NodeStores(
                SqlRecordStore(session), SqlReleaseStore(session), SqlAuditStore(session), SqlObligationStore(session)
            )


@pytest.fixture
def node(_store_engine: Engine | None) -> Iterator[Node]:
    if _store_engine is None:
        yield MemoryNode()
        return
    with _rolled_back(_store_engine) as connection:
        yield SqlNode(_store_engine.dialect.name, connection)


@pytest.fixture
def sql_node(_sql_store_engine: Engine) -> Iterator[SqlNode]:
    """Like ``node``, for what only the SQL stores offer (the batch methods the services use)."""
    with _rolled_back(_sql_store_engine) as connection:
        yield SqlNode(_sql_store_engine.dialect.name, connection)
