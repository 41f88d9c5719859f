"""The obligations service on real node homes: issue, sign, store and audit, or refuse.

Identities (real keys, cheap scrypt) are made once per module; each test gets fresh
SQLite databases (and PostgreSQL for the originator where a test says so). A refused
request must store nothing but its audit entry; the audit log must verify afterwards.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest

from accord.audit.entry import AuditEntry, EntryKind
from accord.canonical import canonical_bytes
from accord.crypto import CompositeSignature, CompositeVerifier
from accord.crypto.signing import signed_bytes
from accord.errors import IntegrityError, UnknownReferenceError, ValidationError
from accord.services import node, records
from accord.services._database import Database
from accord.services.audit import AuditLog
from accord.services.node import UnlockedNode
from accord.services.obligations import (
    PURPOSE,
    ConsentRequest,
    Obligations,
    ReportRequest,
    consents_for,
    latest_levels,
)
from accord.services.world import init_node, read_world
from accord.storage.sql import SqlAuditStore, SqlObligationStore, SqlRecordStore, SqlReleaseStore
from accord.storage.values import ReleaseState
from tests.contract.holdings import release
from tests.unit.services.conftest import FAST, PASSPHRASE

AT = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
TODAY = AT.date()


@pytest.fixture(scope="module")
def world():
    return read_world()


def make_identities(tmp_path_factory, *parties):
    """A home with an identity for each party: party -> (home, unlocked node)."""
    made = {}
    for party in parties:
        home = tmp_path_factory.mktemp(party.lower())
        node.create_identity(home=home, party=party, passphrase=PASSPHRASE, at=AT, scrypt=FAST)
        made[party] = (home, node.unlock(home, PASSPHRASE))
    return made


@pytest.fixture(scope="module")
def identities(tmp_path_factory):
    """Made once per module: identities are what costs time."""
    return make_identities(tmp_path_factory, "KOR", "USA", "JPN")


@dataclasses.dataclass
class Node:
    party: str
    home: Path
    db: Database
    keys: UnlockedNode
    service: Obligations

    def entries(self):
        with self.db.transaction("read") as session:
            return [AuditEntry.from_bytes(b) for b in SqlAuditStore(session).entries()]

    def count(self):
        """(audit entries, consents, recalls, reports) held."""
        with self.db.transaction("count") as session:
            store = SqlObligationStore(session)
            audit = SqlAuditStore(session).count()
            return audit, len(store.consents()), len(store.recalls()), len(store.reports())

    def verify(self):
        return AuditLog(database=self.db, home=self.home).verify()


def open_nodes(identities, tmp_path):
    """Yield ``make(party, url=None)``: a node of that party on a fresh database; close them after."""
    opened = []

    def make(party, url=None):
        home, keys = identities[party]
        url = url or f"sqlite:///{tmp_path / (party.lower() + '.db')}"
        init_node(home=home, database_url=url)
        db = Database(database_url=url)
        opened.append(db)
        return Node(party=party, home=home, db=db, keys=keys, service=Obligations(database=db, home=home))

    yield make
    for db in opened:
        db.close()


@pytest.fixture
def nodes(identities, tmp_path):
    yield from open_nodes(identities, tmp_path)


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def kor(nodes, request):
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    return nodes("KOR", url)


@pytest.fixture
def usa(nodes):
    return nodes("USA")


def make_record(kor, world, *portions, topics=("dprk-missile",)):
    draft = records.RecordDraft(
        title="DPRK launch",
        topics=topics,
        portions=tuple(records.parse_portion(p) for p in portions or ("KOR/MIL-II:USA,JPN:launch at 05:10",)),
    )
    return records.Records(database=kor.db, home=kor.home).create(draft, world=world, passphrase=None, node=kor.keys)


def grant(kor, world, **kw):
    fields = {"holder": "USA", "third_party": "JPN", "valid_from": "2026-03-01", "valid_until": "2026-12-31"}
    return kor.service.grant_consent(ConsentRequest(**(fields | kw)), world=world, keys=kor.keys, at=AT)


def refusals(n):
    return [e for e in n.entries() if e.meta.get("outcome") == "refused"]


# -- consents ------------------------------------------------------------------------------


def test_a_consent_is_signed_stored_and_audited_in_one_go(kor, world):
    record = make_record(kor, world)
    request = ConsentRequest(
        holder="USA", third_party="JPN", record_id=record.id, valid_from="2026-03-01", valid_until="2026-06-30"
    )
    consent = kor.service.grant_consent(request, world=world, keys=PASSPHRASE, at=AT)  # unlocks with the passphrase
    assert (consent.originator, consent.record_id, consent.valid_until) == ("KOR", record.id, dt.date(2026, 6, 30))
    [held] = kor.service.consents()
    assert held.value == consent
    public = kor.keys.identity.public
    CompositeVerifier((public.signing, public.pq_signing)).verify(
        CompositeSignature.from_dict(json.loads(held.signature)), signed_bytes(consent.to_dict(), purpose=PURPOSE)
    )
    entry = kor.entries()[-1]
    assert (entry.kind, entry.actor, entry.subjects) == (EntryKind.CONSENT, "KOR", (consent.id, record.id))
    assert entry.meta["action"] == "consent.grant"
    assert kor.verify().entries == 2  # the record, then the consent


@pytest.mark.parametrize(
    ("request_fields", "error", "match"),
    [
        ({"holder": "XYZ"}, UnknownReferenceError, "unknown party 'XYZ'"),
        ({"holder": "KOR"}, ValidationError, "KOR grants this consent"),
        ({"third_party": "USA"}, ValidationError, "must differ"),
        ({"valid_from": "2026-13-01"}, ValidationError, r"start of the window \(--from\) must be a date"),
        ({"valid_until": "next year"}, ValidationError, "must be a date YYYY-MM-DD"),
        ({"valid_from": "2026-07-01", "valid_until": "2026-06-30"}, ValidationError, "is after"),
        ({"valid_from": "2025-01-01", "valid_until": "2026-03-01"}, ValidationError, "is over already"),
        ({"topic": None}, ValidationError, "exactly one of a record or a topic"),
        ({"record_id": "KOR-nope", "topic": None}, UnknownReferenceError, "no record 'KOR-nope'"),
        ({"topic": "  "}, ValidationError, "must not be empty"),
    ],
    ids=[
        "unknown-party",
        "self-as-holder",
        "holder-is-third-party",
        "bad-start",
        "bad-end",
        "unordered",
        "over",
        "neither-record-nor-topic",
        "unknown-record",
        "empty-topic",
    ],
)
def test_a_refused_consent_stores_only_its_refusal(kor, world, request_fields, error, match):
    fields = {"topic": "dprk-missile"} | request_fields
    with pytest.raises(error, match=match):
        grant(kor, world, **fields)
    assert kor.count() == (1, 0, 0, 0)
    [entry] = refusals(kor)
    assert (entry.kind, entry.meta["action"]) == (EntryKind.CONSENT, "consent.grant")


def test_a_consent_for_a_record_needs_a_holder_it_was_released_to(kor, world):
    record = make_record(kor, world, "KOR/MIL-II:JPN:text")
    with pytest.raises(ValidationError, match=f"record {record.id} is not releasable to USA"):
        grant(kor, world, record_id=record.id)
    assert kor.count() == (2, 0, 0, 0)


def test_no_or_a_wrong_passphrase_stores_nothing(kor, world):
    record = make_record(kor, world)
    with pytest.raises(ValidationError, match="no passphrase"):
        kor.service.grant_consent(
            ConsentRequest(holder="USA", third_party="JPN", topic="t", valid_from=TODAY, valid_until=TODAY),
            world=world,
            keys=None,
            at=AT,
        )
    with pytest.raises(IntegrityError):
        kor.service.issue_recall(record.id, disposition="destroy", keys="wrong", at=AT)
    assert kor.count() == (1, 0, 0, 0)  # the record's entry only: a key problem is not a refused request


def test_consents_for_gives_exactly_the_consents_that_permit_the_release(kor, world):
    record = make_record(kor, world)
    on_record = grant(kor, world, record_id=record.id)
    on_topic = grant(kor, world, topic="dprk-missile", valid_until="2026-04-30")
    grant(kor, world, topic="dprk-nuclear")
    grant(kor, world, holder="JPN", third_party="USA", topic="dprk-missile")
    ask = {"originator": "KOR", "holder": "USA", "third_party": "JPN", "record_id": record.id}
    with kor.db.transaction("read") as session:
        assert consents_for(session, **ask, topics={"dprk-missile"}, on=TODAY) == (on_record, on_topic)
        assert consents_for(session, **ask, topics={"dprk-missile"}, on=dt.date(2026, 5, 1)) == (on_record,)
        assert consents_for(session, **ask, topics={"dprk-missile", "other"}, on=dt.date(2026, 4, 1)) == (on_record,)
        assert consents_for(session, **(ask | {"originator": "JPN"}), topics={"dprk-missile"}, on=TODAY) == ()
        store = SqlObligationStore(session)
        assert consents_for(store, **(ask | {"record_id": "other"}), topics={"dprk-missile"}, on=TODAY) == (on_topic,)


# -- reclassification ----------------------------------------------------------------------


def test_a_reclassification_re_marks_the_local_copy_with_the_notice(kor, world):
    record = make_record(kor, world, "KOR/MIL-II:USA,JPN:a", "KOR/MIL-III:USA:b")
    notice = kor.service.issue_reclassification(
        record.id, {"2": "KOR/MIL-II"}, world=world, keys=kor.keys, reason="new source", at=AT
    )
    later = dt.datetime(2026, 3, 9, tzinfo=dt.UTC)
    kor.service.issue_reclassification(
        record.id, {"1": "KOR/MIL-III", "2": "KOR/MIL-I"}, world=world, keys=kor.keys, at=later
    )
    with kor.db.transaction("read") as session:
        portions = SqlRecordStore(session).get(record.id).record.portions
        assert [p.level for p in portions] == ["KOR/MIL-III", "KOR/MIL-I"]
        assert latest_levels(session, record.id) == {"1": "KOR/MIL-III", "2": "KOR/MIL-I"}
        assert latest_levels(session, record.id, originator="JPN") == {}
    assert kor.service.reclassifications(record.id)[0].value == notice
    assert notice.reason == "new source"
    assert kor.entries()[-1].kind is EntryKind.RECLASSIFICATION
    kor.verify()


@pytest.mark.parametrize(
    ("levels", "match"),
    [
        ({}, "name at least one portion"),
        ({"9": "KOR/MIL-III"}, "has no portion '9'"),
        ({"1": "JPN/HI"}, "not a level of KOR's scheme"),
        ({"1": "KOR/NOPE"}, "unknown level"),
        ({"1": "KOR/MIL-II"}, "is already KOR/MIL-II"),
    ],
    ids=["none", "no-portion", "foreign-level", "unknown-level", "unchanged"],
)
def test_a_refused_reclassification_changes_nothing(kor, world, levels, match):
    record = make_record(kor, world)
    with pytest.raises(ValidationError, match=match):
        kor.service.issue_reclassification(record.id, levels, world=world, keys=kor.keys, at=AT)
    with kor.db.transaction("read") as session:
        assert SqlRecordStore(session).get(record.id).record.portions[0].level == "KOR/MIL-II"
        assert SqlObligationStore(session).reclassifications(record.id) == []
    assert refusals(kor)[0].kind is EntryKind.RECLASSIFICATION


# -- recalls and reports -------------------------------------------------------------------


def test_only_the_originator_recalls_and_only_a_holder_acknowledges(kor, world):
    record = make_record(kor, world)
    recall = kor.service.issue_recall(record.id, disposition="destroy", keys=kor.keys, reason="superseded", at=AT)
    assert (recall.disposition, recall.issued_on) == ("destroy", TODAY)
    with pytest.raises(ValidationError, match="unknown disposition 'burn'"):
        kor.service.issue_recall(record.id, disposition="burn", keys=kor.keys, at=AT)
    with pytest.raises(UnknownReferenceError, match="no record"):
        kor.service.issue_recall("JPN-elsewhere", disposition="return", keys=kor.keys, at=AT)
    with pytest.raises(ValidationError, match=r"KOR issued recall .*: its holders acknowledge it"):
        kor.service.acknowledge_recall(recall.id, keys=kor.keys, at=AT)
    assert [s.recall.value for s in kor.service.recalls(state="issued")] == [recall]
    assert kor.service.recalls(state="acknowledged") == []
    with pytest.raises(ValidationError, match="unknown recall state"):
        kor.service.recalls(state="done")
    assert [e.kind for e in refusals(kor)] == [EntryKind.RECALL] * 3
    kor.verify()


def test_a_holder_reports_a_compromise_of_a_held_copy_and_closes_it(usa, world):
    with usa.db.transaction("receive a KOR record") as session:  # as the release pipeline stores it
        SqlReleaseStore(session).add_received(release("rel-in", state=ReleaseState.RECEIVED, message_id="m-1"))
    report = usa.service.report_compromise(
        ReportRequest(record_id="r1", kind="loss", details="courier bag missing", detected_on="2026-03-01"),
        world=world,
        keys=usa.keys,
        at=AT,
    )
    assert (report.holder, report.originator, report.detected_on, report.reported_on) == (
        "USA",
        "KOR",
        dt.date(2026, 3, 1),
        TODAY,
    )
    refused = [
        (ReportRequest(record_id="r1", kind="loss", details="x", originator="JPN"), "originated by KOR, not JPN"),
        (ReportRequest(record_id="r9", kind="loss", details="x"), "name its originator"),
        (ReportRequest(record_id="r9", kind="theft", details="x", originator="KOR"), "unknown kind of compromise"),
        (ReportRequest(record_id="r9", kind="loss", details=" ", originator="KOR"), "description must not be empty"),
        (ReportRequest(record_id="r9", kind="loss", details="x", originator="USA"), "USA originated r9"),
        (ReportRequest(record_id="r9", kind="loss", details="x", originator="KOR", detected_on="2026-03-03"), "after"),
    ]
    for request, match in refused:
        with pytest.raises(ValidationError, match=match):
            usa.service.report_compromise(request, world=world, keys=usa.keys, at=AT)
    result = usa.service.close_report(
        report.id, findings="bag found sealed", measures="two couriers", keys=usa.keys, at=AT
    )
    assert result.closed_on == TODAY
    with pytest.raises(ValidationError, match="was closed on 2026-03-02"):
        usa.service.close_report(report.id, findings="again", measures="again", keys=usa.keys, at=AT)
    [status] = usa.service.reports(state="closed")
    assert (status.report.value, status.result.value) == (report, result)
    assert [e.meta["action"] for e in usa.entries() if "outcome" not in e.meta] == ["report.file", "report.close"]
    assert len(refusals(usa)) == len(refused) + 1
    usa.verify()


def test_the_originator_cannot_close_a_report_it_was_sent(kor, usa, world, tmp_path):
    report = usa.service.report_compromise(
        ReportRequest(record_id="KOR-r1", kind="possible-loss-or-compromise", details="x", originator="KOR"),
        world=world,
        keys=usa.keys,
        at=AT,
    )
    usa.service.export("compromise-report", report.id, out=tmp_path / "report.json")
    kor.service.import_file(tmp_path / "report.json", signer=usa.home / "node.json", world=world, at=AT)
    with pytest.raises(ValidationError, match="was made by USA: that holder investigates"):
        kor.service.close_report(report.id, findings="f", measures="m", keys=kor.keys, at=AT)
    with pytest.raises(UnknownReferenceError, match="no compromise report 'nope'"):
        usa.service.close_report("nope", findings="f", measures="m", keys=usa.keys, at=AT)
    assert kor.service.reports(state="open")[0].report.value == report


def test_the_whole_log_verifies_and_names_each_action(kor, world):
    record = make_record(kor, world)
    grant(kor, world, record_id=record.id)
    kor.service.issue_reclassification(record.id, {"1": "KOR/MIL-III"}, world=world, keys=kor.keys, at=AT)
    kor.service.issue_recall(record.id, disposition="return", keys=kor.keys, at=AT)
    actions = [e.meta.get("action") for e in kor.entries()]
    assert actions == ["record.create", "consent.grant", "reclassification.issue", "recall.issue"]
    assert kor.verify().entries == 4
    canonical_bytes([e.to_dict() for e in kor.entries()])  # every entry is plain JSON
