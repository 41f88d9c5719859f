"""The WitnessStore contract on SQLite and PostgreSQL: heads replaced, alarms kept and resolved, cosignatures."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError as SqlIntegrityError

from accord.errors import StorageError, UnknownReferenceError, ValidationError
from accord.federation.witness import AlarmKind
from accord.storage.sql import SqlWitnessStore, make_engine, migrate
from accord.storage.witness import Alarm, KeptCosignature, WitnessedHead
from tests.contract.conftest import SQL_BACKENDS, _rolled_back, _unit_session
from tests.contract.support import sqlite_url

T0 = "2026-03-01T09:00:00.000000Z"
T1 = "2026-03-01T10:00:00.000000Z"

Unit = Callable[[], AbstractContextManager[SqlWitnessStore]]


@pytest.fixture(scope="module", params=SQL_BACKENDS)
def _engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = sqlite_url(tmp_path_factory.mktemp("witness"))
    else:
        url = request.getfixturevalue("postgres_module_url")
    engine = make_engine(url)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def unit(_engine: Engine) -> Iterator[Unit]:
    with _rolled_back(_engine) as connection:

        @contextmanager
        def make() -> Iterator[SqlWitnessStore]:
            with _unit_session(connection) as session:
                yield SqlWitnessStore(session)

        make.connection = connection  # type: ignore[attr-defined]
        yield make


def head(peer: str = "KOR", size: int = 5, root: str = "a" * 64, **kw: object) -> WitnessedHead:
    base: dict[str, object] = {
        "peer": peer,
        "size": size,
        "root": root,
        "checkpoint_at": "2026-03-01T08:59:00Z",
        "signature": b'{"signatures":[]}',
        "message_id": f"m-{peer}-{size}",
        "received_at": T0,
    }
    return WitnessedHead(**(base | kw))  # type: ignore[arg-type]


def alarm(peer: str = "KOR", kind: AlarmKind = AlarmKind.FORKED, **kw: object) -> Alarm:
    base: dict[str, object] = {
        "peer": peer,
        "kind": kind,
        "reason": "two roots for 5 entries",
        "seen_size": 5,
        "claimed_size": 5,
        "evidence": b'{"seen":{},"claimed":{}}',
        "message_id": "m-alarm",
        "raised_at": T0,
    }
    return Alarm(**(base | kw))  # type: ignore[arg-type]


def cosignature(witness: str = "JPN", size: int = 5, **kw: object) -> KeptCosignature:
    base: dict[str, object] = {
        "witness": witness,
        "size": size,
        "root": "b" * 64,
        "checkpoint_at": "2026-03-01T08:59:00Z",
        "cosigned_at": "2026-03-01T09:00:00Z",
        "cosignature": f"cosigned {size}".encode(),
        "message_id": f"c-{witness}-{size}",
        "received_at": T0,
    }
    return KeptCosignature(**(base | kw))  # type: ignore[arg-type]


def test_a_head_per_peer_is_replaced_in_place(unit):
    with unit() as store:
        assert store.head("KOR") is None
        store.set_head(head())
        store.set_head(head("USA", 2))
    with unit() as store:
        store.set_head(head(size=9, root="c" * 64))
    with unit() as store:
        assert store.head("KOR") == head(size=9, root="c" * 64)
        assert [(h.peer, h.size) for h in store.heads()] == [("KOR", 9), ("USA", 2)]


def test_alarms_are_numbered_listed_and_resolved_once(unit):
    with unit() as store:
        first = store.add_alarm(alarm())
        second = store.add_alarm(alarm("USA", AlarmKind.SHRANK, seen_size=7, claimed_size=3))
        assert first.id is not None
        assert second.id is not None
        assert second.id > first.id
    with unit() as store:
        assert [a.peer for a in store.alarms(open_only=True)] == ["KOR", "USA"]
        assert [a.kind for a in store.alarms(peer="USA")] == [AlarmKind.SHRANK]
        resolved = store.resolve_alarm(first.id, at=T1, resolution="  restored from backup  ")
        assert (resolved.open, resolved.resolution) == (False, "restored from backup")
    with unit() as store:
        assert [a.id for a in store.alarms(open_only=True)] == [second.id]
        assert [a.open for a in store.alarms()] == [False, True]
        assert store.alarms(peer="KOR")[0].evidence == b'{"seen":{},"claimed":{}}'
        with pytest.raises(ValidationError, match="resolved already"):
            store.resolve_alarm(first.id, at=T1, resolution="again")
        with pytest.raises(ValidationError, match="what was done"):
            store.resolve_alarm(second.id, at=T1, resolution="   ")
        with pytest.raises(UnknownReferenceError):
            store.resolve_alarm(9999, at=T1, resolution="none such")
    with unit() as store:  # the refusals changed nothing
        assert [a.open for a in store.alarms()] == [False, True]


def test_cosignatures_keep_the_first_per_witness_and_size(unit):
    with unit() as store:
        assert store.last_cosignature("JPN") is None
        assert store.add_cosignature(cosignature(size=5))
        assert store.add_cosignature(cosignature(size=12))
        assert store.add_cosignature(cosignature("USA", size=7))
        assert not store.add_cosignature(cosignature(size=5, cosignature=b"another"))
    with unit() as store:
        assert store.last_cosignature("JPN").size == 12
        assert [(c.witness, c.size) for c in store.cosignatures()] == [("JPN", 5), ("JPN", 12), ("USA", 7)]
        assert [c.cosignature for c in store.cosignatures(witness="JPN")] == [b"cosigned 5", b"cosigned 12"]


def test_bad_values_are_refused_before_storing():
    with pytest.raises(ValidationError):
        head(size=-1)
    with pytest.raises(ValidationError):
        head(root="XYZ")
    with pytest.raises(ValidationError):
        alarm(raised_at="yesterday")
    with pytest.raises(ValueError, match="unknown"):
        alarm(kind="unknown")


def test_the_database_refuses_unknown_kinds_and_half_resolutions(unit):
    connection = unit.connection
    with unit() as store:
        store.add_alarm(alarm())
    for statement in (
        "UPDATE witness_alarms SET kind = 'odd'",
        "UPDATE witness_alarms SET resolved_at = '2026-03-01T10:00:00.000000Z'",
        "UPDATE witness_heads SET size = -1",
    ):
        savepoint = connection.begin_nested()
        if "witness_heads" in statement:
            with unit() as store:
                store.set_head(head())
        with pytest.raises(SqlIntegrityError):
            connection.execute(text(statement))
        savepoint.rollback()


def test_rows_changed_outside_accord_do_not_read_back(unit):
    with unit() as store:
        store.set_head(head())
    unit.connection.execute(text("UPDATE witness_heads SET root = 'not hex'"))
    with unit() as store, pytest.raises(StorageError, match="witnessed head of KOR"):
        store.head("KOR")
