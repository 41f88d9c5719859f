"""Decision evidence stored once per shape (revision e5b7d3a91c42), on SQLite and PostgreSQL.

Like releases share one ``decision_evidence`` row and read back with the very decision
bytes they were given; a decision that cannot be shared safely stays in its row;
altered evidence is refused on reading; and downgrading writes every shared decision
back into its row, so nothing is lost either way.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from accord.errors import StorageError
from accord.storage import Release
from accord.storage.sql import SqlReleaseStore, make_engine, migrate
from accord.storage.sql.node_tables import EVIDENCE_RECORD_MARK
from accord.storage.values import encode_decision
from tests.contract.conftest import Node, SqlNode
from tests.contract.holdings import _decision, release
from tests.contract.test_migrations_contract import assert_schema_is_the_declared_one

EVIDENCE = "e5b7d3a91c42"
BEFORE = "e5b2d8f1a6c4"  # disclosures: the revision this one follows


def like(record_id: str, release_id: str) -> Release:
    """A release of another record with the same markings: the same decision but for its record id."""
    kept = release()
    decision = _decision(kept.on)._replace(record_id=record_id)
    return dataclasses.replace(kept, id=release_id, record_id=record_id, decision=encode_decision(decision))


def column(node: SqlNode, sql: str) -> list[object]:
    return list(node.connection.execute(text(sql)).scalars())


def test_like_releases_share_one_evidence_and_read_back_their_own_bytes(node: Node):
    kept = [release("rel-1"), like("r2", "rel-2"), like("r3", "rel-3")]
    assert kept[1].decision != kept[2].decision
    with node.unit() as s:
        s.releases.add(kept[0])
        s.releases.add_many(kept[1:])
    with node.unit() as s:
        for expected in kept:
            stored = s.releases.get(expected.id)
            assert stored == expected
            assert stored.decision == expected.decision  # the very bytes, rebuilt
    if isinstance(node, SqlNode):
        assert column(node, "SELECT count(*) FROM decision_evidence") == [1]
        assert column(node, "SELECT count(*) FROM releases WHERE evidence IS NOT NULL") == [3]
        assert set(column(node, "SELECT length(decision) FROM releases")) == {0}
        [evidence] = column(node, "SELECT evidence FROM decision_evidence")
        assert bytes(evidence).count(f'"{EVIDENCE_RECORD_MARK}"'.encode()) == 1
        assert b'"r2"' not in bytes(evidence)


@pytest.mark.parametrize("record_id", ["JPN", EVIDENCE_RECORD_MARK], ids=["id-occurs-elsewhere", "id-is-the-mark"])
def test_a_decision_that_cannot_be_shared_safely_stays_in_its_row(node: Node, record_id):
    kept = like(record_id, "rel-9")
    with node.unit() as s:
        s.releases.add(kept)
    with node.unit() as s:
        assert s.releases.get("rel-9") == kept
    if isinstance(node, SqlNode):
        assert column(node, "SELECT count(*) FROM decision_evidence") == [0]
        assert column(node, "SELECT decision FROM releases") == [kept.decision]


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def test_downgrading_puts_every_shared_decision_back_in_its_row(engine: Engine):
    kept = [release("rel-1"), like("r2", "rel-2")]
    migrate.upgrade(engine)
    with Session(engine) as session, session.begin():
        SqlReleaseStore(session).add_many(kept)

    migrate.downgrade(engine, BEFORE)
    with engine.connect() as connection:
        rows = dict(connection.execute(text("SELECT id, decision FROM releases ORDER BY id")).all())
        assert {k: bytes(v) for k, v in rows.items()} == {r.id: r.decision for r in kept}

    migrate.upgrade(engine, EVIDENCE)
    assert migrate.current(engine) == EVIDENCE
    migrate.upgrade(engine)  # and the revisions after it
    assert_schema_is_the_declared_one(engine)
    with Session(engine) as session, session.begin():
        assert [SqlReleaseStore(session).get(r.id) for r in kept] == kept


def test_altered_evidence_is_refused_on_reading(engine: Engine):
    migrate.upgrade(engine)
    with Session(engine) as session, session.begin():
        SqlReleaseStore(session).add(release())
    with engine.begin() as connection:
        connection.execute(text("UPDATE decision_evidence SET evidence = :e"), {"e": b'{"allowed":true}'})
    with Session(engine) as session, session.begin(), pytest.raises(StorageError, match="rel-1 no longer reads back"):
        SqlReleaseStore(session).get("rel-1")
