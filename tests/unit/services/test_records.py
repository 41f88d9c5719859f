"""The records service: create (encrypted, audited, one transaction), refuse, list, show."""

from __future__ import annotations

import datetime as dt

import pytest

from accord.audit.entry import AuditEntry, EntryKind
from accord.errors import IntegrityError, UnknownReferenceError, ValidationError
from accord.services import audit, node, records
from accord.services._database import Database
from accord.services.world import read_world
from accord.storage.sql import SqlAuditStore, SqlRecordStore
from tests.unit.services.conftest import FAST, PASSPHRASE

AT = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def world():
    return read_world()


@pytest.fixture
def service(database_url, node_home):
    db = Database(database_url=database_url)
    yield db, records.Records(database=db, home=node_home)
    db.close()


def draft(*portions, title="DPRK launch", precedence="PRIORITY"):
    return records.RecordDraft(
        title=title,
        topics=("dprk-missile",),
        portions=tuple(records.parse_portion(p) for p in portions) or (records.parse_portion("KOR/MIL-II:USA,JPN:a"),),
        purpose="warning",
        precedence=precedence,
    )


def counts(db):
    with db.transaction("count") as session:
        return SqlAuditStore(session).count(), len(SqlRecordStore(session).list())


def test_create_list_show(service, world, node_home):
    db, recs = service
    made = recs.create(
        draft("KOR/MIL-II:USA,JPN:launch at 05:10", "KOR/MIL-III::internal note"),
        world=world,
        passphrase=PASSPHRASE,
        at=AT,
    )
    assert made.originator == "KOR"
    assert counts(db) == (1, 1)
    with db.transaction("peek") as session:
        stored = SqlRecordStore(session).bodies(made.id)
    assert all(b"launch" not in body.ciphertext for body in stored.values())  # encrypted at rest
    view = recs.show(made.id)
    assert view.bodies is None
    assert "text" not in view.to_dict()["portions"][0]
    opened = recs.show(made.id, passphrase=PASSPHRASE, at=AT)
    assert opened.bodies == {"1": "launch at 05:10", "2": "internal note"}
    assert opened.to_dict()["portions"][1]["rel_to"] == []
    assert counts(db) == (2, 1)  # the read is audited
    with pytest.raises(UnknownReferenceError):
        recs.show("KOR-nope")
    with pytest.raises(IntegrityError):
        recs.show(made.id, passphrase="wrong")  # noqa: S106 - a wrong test passphrase
    audit.AuditLog(database=db, home=node_home).verify()


def test_pages(service, world):
    _, recs = service
    ids = [recs.create(draft(title=f"r{i}"), world=world, passphrase=PASSPHRASE, at=AT).id for i in range(3)]
    first = recs.list(limit=2)
    assert [s.record.id for s in first.items] == ids[:2]
    second = recs.list(after=first.next_cursor, limit=2)
    assert [s.record.id for s in second.items] == ids[2:]
    assert second.next_cursor is None


@pytest.mark.parametrize(
    ("portion", "precedence", "match"),
    [
        ("JPN/HI:USA:x", "ROUTINE", "not in KOR's scheme"),
        ("KOR/NOPE:USA:x", "ROUTINE", "unknown level"),
        ("KOR/MIL-II:XXX:x", "ROUTINE", "unknown party"),
        ("KOR/MIL-II:USA:  ", "ROUTINE", "no text"),
        ("KOR/MIL-II:USA:x", "SOON", "unknown precedence"),
    ],
    ids=["foreign-level", "unknown-level", "unknown-party", "empty-text", "bad-precedence"],
)
def test_a_refusal_stores_only_its_audit_entry(service, world, portion, precedence, match):
    db, recs = service
    with pytest.raises(ValidationError, match=match):
        recs.create(draft(portion, precedence=precedence), world=world, passphrase=PASSPHRASE, at=AT)
    assert counts(db) == (1, 0)


def test_a_level_no_longer_in_use_is_refused(database_url, tmp_path, world):
    home = tmp_path / "jpn"
    node.create_identity(home=home, party="JPN", passphrase=PASSPHRASE, at=AT, scrypt=FAST)
    with Database(database_url=database_url) as db:
        recs = records.Records(database=db, home=home)
        with pytest.raises(ValidationError, match="not in use on 2026-03-02"):
            recs.create(draft("JPN/BOEI:USA:x"), world=world, passphrase=PASSPHRASE, at=AT)
        assert counts(db) == (1, 0)


def test_no_passphrase_stores_nothing(service, world):
    db, recs = service
    with pytest.raises(ValidationError, match="no passphrase"):
        recs.create(draft(), world=world, passphrase=None, at=AT)
    assert counts(db) == (0, 0)


@pytest.mark.parametrize("spec", ["no-colons", ":USA:text", "KOR/MIL-II"])
def test_bad_portion_specs(spec):
    with pytest.raises(ValidationError, match="LEVEL:REL_TO"):
        records.parse_portion(spec)


def test_creation_and_reading_are_told_apart_in_the_log(service, world):
    db, recs = service
    made = recs.create(draft(), world=world, passphrase=PASSPHRASE, at=AT)
    recs.show(made.id, passphrase=PASSPHRASE, at=AT)
    with pytest.raises(ValidationError):
        recs.create(draft("KOR/NOPE:USA:x"), world=world, passphrase=PASSPHRASE, at=AT)
    with db.transaction("read log") as session:
        entries = [AuditEntry.from_bytes(b) for b in SqlAuditStore(session).entries()]
    assert [e.kind for e in entries] == [EntryKind.RECORD, EntryKind.ACCESS, EntryKind.RECORD]
    assert entries[2].meta["outcome"] == "refused"
