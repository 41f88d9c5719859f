"""The audit service: append in a transaction, checkpoint, verify, prove, verify offline."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from accord.audit.entry import EntryKind
from accord.errors import AuditChainBrokenError, IntegrityError, ValidationError
from accord.services import audit
from accord.services._database import Database
from tests.unit.services.conftest import AT, PASSPHRASE


def add(db, n, *, start=0):
    for i in range(start, start + n):
        with db.transaction("test") as session:
            audit.append(session, kind=EntryKind.ACCESS, actor="analyst", at=AT, subjects=(f"R-{i}",), meta={"i": i})


@pytest.fixture
def log(database_url, node_home):
    db = Database(database_url=database_url)
    yield db, audit.AuditLog(database=db, home=node_home)
    db.close()


def test_round_trip(log, node_home):
    db, audit_log = log
    add(db, 5)
    made = audit_log.checkpoint(passphrase=PASSPHRASE, at=AT + dt.timedelta(hours=1))
    assert (made.origin, made.size) == ("KOR", 5)
    with pytest.raises(ValidationError, match="no new entries"):
        audit_log.checkpoint(passphrase=PASSPHRASE)
    add(db, 2, start=5)
    report = audit_log.verify()
    assert (report.entries, report.checkpoints) == (7, (5,))
    bundle = audit_log.prove(3)
    node_json = json.loads((node_home / "node.json").read_text())
    entry = audit.verify_bundle(json.dumps(bundle.to_dict()), node_json)
    assert entry.subjects == ("R-3",)
    assert audit.verify_bundle(json.dumps(bundle.to_dict()), node_json["public_keys"]).seq == 3
    with pytest.raises(ValidationError, match="not covered"):
        audit_log.prove(5)
    forged = bundle.to_dict()
    forged["entry"]["actor"] = "someone else"
    with pytest.raises(IntegrityError):
        audit.verify_bundle(json.dumps(forged), node_json)


def test_about_lists_the_entries_naming_a_subject_in_order(log):
    db, audit_log = log
    add(db, 3)
    with db.transaction("test") as session:
        audit.append(session, kind=EntryKind.RELEASE, actor="KOR", at=AT, subjects=("R-1", "REL-9"), meta={"n": 1})
    assert [(e.seq, e.kind) for e in audit_log.about("R-1")] == [(1, EntryKind.ACCESS), (3, EntryKind.RELEASE)]
    assert [e.seq for e in audit_log.about("REL-9")] == [3]
    assert audit_log.about("R-") == []  # a whole subject, not a prefix


def test_a_rolled_back_transaction_leaves_no_entry(log):
    db, audit_log = log
    add(db, 1)

    def fail_after_append():
        with db.transaction("test") as session:
            audit.append(session, kind=EntryKind.ACCESS, actor="a", at=AT)
            raise RuntimeError

    with pytest.raises(RuntimeError):
        fail_after_append()
    assert audit_log.verify().entries == 1


def test_prove_needs_a_checkpoint_and_checkpoint_a_log(log):
    _, audit_log = log
    with pytest.raises(ValidationError, match="empty"):
        audit_log.checkpoint(passphrase=PASSPHRASE)
    with pytest.raises(ValidationError, match="no checkpoint"):
        audit_log.prove(0)


def test_a_changed_entry_is_named(log):
    db, audit_log = log
    add(db, 4)
    audit_log.checkpoint(passphrase=PASSPHRASE)
    with db.transaction("tamper") as session:
        from accord.storage.sql import node_tables as nt  # noqa: PLC0415

        table = nt.audit_entries
        data = session.execute(table.select().where(table.c.seq == 2)).one().entry
        session.execute(table.update().where(table.c.seq == 2).values(entry=data.replace(b"R-2", b"R-9")))
    with pytest.raises(AuditChainBrokenError) as caught:
        audit_log.verify()
    assert caught.value.seq == 2


def test_naive_times_are_refused():
    with pytest.raises(ValidationError, match="UTC offset"):
        audit.iso(dt.datetime(2026, 1, 1))  # noqa: DTZ001
