"""Obligations between two real nodes as signed object files: export, import, and every refusal.

The originator's database runs on SQLite and PostgreSQL; the others on SQLite. A
refused import must store nothing but the audit entry of its refusal, the same object
imported twice must change nothing, and every audit log must verify afterwards.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest

from accord.audit.entry import EntryKind
from accord.canonical import canonical_bytes
from accord.crypto import CompositeSigner
from accord.crypto.signing import signed_bytes
from accord.domain.obligation import ReclassificationNotice
from accord.errors import Error, IntegrityError, UnknownReferenceError, ValidationError
from accord.services import node
from accord.services.obligations import PURPOSE, ObligationType, ReportRequest, SignedObject, consents_for
from accord.services.world import read_world
from accord.storage.sql import SqlReleaseStore
from accord.storage.values import ReleaseState
from tests.contract.holdings import release
from tests.unit.services.conftest import FAST, PASSPHRASE
from tests.unit.services.test_obligations import AT, BACKENDS, grant, make_identities, make_record, open_nodes, refusals


@pytest.fixture(scope="module")
def world():
    return read_world()


@pytest.fixture(scope="module")
def identities(tmp_path_factory):
    return make_identities(tmp_path_factory, "KOR", "USA", "JPN")


@pytest.fixture
def nodes(identities, tmp_path):
    yield from open_nodes(identities, tmp_path)


@pytest.fixture(params=BACKENDS)
def kor(nodes, request):
    return nodes("KOR", request.getfixturevalue("postgres_url") if request.param == "postgres" else None)


@pytest.fixture
def usa(nodes):
    return nodes("USA")


@pytest.fixture
def jpn(nodes):
    return nodes("JPN")


@pytest.fixture(scope="module")
def impostor(tmp_path_factory):
    """Another node that calls itself KOR: its own keys, not the ones KOR published."""
    home = tmp_path_factory.mktemp("impostor")
    node.create_identity(home=home, party="KOR", passphrase=PASSPHRASE, at=AT, scrypt=FAST)
    return node.unlock(home, PASSPHRASE)


def consent_file(kor, world, tmp_path, **kw):
    record = make_record(kor, world)
    consent = grant(kor, world, record_id=record.id, **kw)
    path = tmp_path / "consent.json"
    kor.service.export("consent", consent.id, out=path)
    return consent, path


def resign(signed: SignedObject, keys, value=None) -> bytes:
    """The file of ``value`` (default: the same value) signed with ``keys``."""
    value = value or signed.value
    signature = CompositeSigner(keys).sign(signed_bytes(value.to_dict(), purpose=PURPOSE))
    return dataclasses.replace(signed, value=value, signature=signature).to_bytes()


def test_a_consent_goes_from_originator_to_holder_once(kor, usa, world, tmp_path):
    consent, path = consent_file(kor, world, tmp_path)
    data = path.read_bytes()
    assert data == canonical_bytes(json.loads(data)) + b"\n"
    imported = usa.service.import_file(path, signer=kor.home / "node.json", world=world, at=AT)
    assert (imported.type, imported.value, imported.new) == (ObligationType.CONSENT, consent, True)
    entry = usa.entries()[-1]
    assert (entry.kind, entry.actor, entry.meta["action"]) == (EntryKind.CONSENT, "USA", "consent.import")
    before = usa.count()
    again = usa.service.import_file(path, signer=kor.home / "node.json", world=world, at=AT)
    assert again.new is False
    assert usa.count() == before  # importing twice changes nothing, not even the log
    with usa.db.transaction("read") as session:
        found = consents_for(
            session,
            originator="KOR",
            holder="USA",
            third_party="JPN",
            record_id=consent.record_id,
            topics={"dprk-missile"},
            on=AT.date(),
        )
    assert found == (consent,)
    # The holder can pass the very same signed file on (the signer is still KOR).
    usa.service.export("consent", consent.id, out=tmp_path / "again.json")
    assert (tmp_path / "again.json").read_bytes() == data
    assert kor.verify().entries == 2
    assert usa.verify().entries == 1


def test_every_changed_byte_is_refused(kor, world, tmp_path):
    _, path = consent_file(kor, world, tmp_path)
    data = path.read_bytes()
    identity = node.read_identity(kor.home)
    assert SignedObject.from_bytes(data, signer=identity).type is ObligationType.CONSENT
    for i in range(0, len(data), 3):
        changed = data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1 :]
        with pytest.raises(Error):
            SignedObject.from_bytes(changed, signer=identity)
    with pytest.raises(ValidationError, match=r"not a complete accord\.signed/1 object"):
        SignedObject.from_bytes(data[: len(data) // 2], signer=identity)


def test_a_bad_import_stores_only_the_audit_entry_of_its_refusal(kor, usa, jpn, world, tmp_path, impostor):
    consent, path = consent_file(kor, world, tmp_path)
    data = path.read_bytes()
    signed = SignedObject.from_bytes(data, signer=node.read_identity(kor.home))
    wider = dataclasses.replace(consent, valid_until=dt.date(2030, 1, 1))
    kor_json, jpn_json = kor.home / "node.json", jpn.home / "node.json"
    usa.service.import_file(path, signer=kor_json, world=world, at=AT)  # the genuine one, held

    def write(name, content):
        (tmp_path / name).write_bytes(content)
        return tmp_path / name

    cases = [
        (usa, write("truncated", data[:-40]), kor_json, ValidationError, "not a complete", EntryKind.RECEIPT),
        (usa, write("spaced", data.replace(b",", b", ", 1)), kor_json, ValidationError, "canonical form", None),
        (usa, write("forged", data.replace(b"2026-12-31", b"2027-12-31")), kor_json, IntegrityError, "verify", None),
        (usa, write("impostor", resign(signed, impostor.keys)), kor_json, IntegrityError, "KOR's keys", None),
        (usa, path, jpn_json, ValidationError, "signed by 'KOR', but the node file given is JPN's", None),
        (usa, write("replay", resign(signed, kor.keys.keys, wider)), kor_json, ValidationError, "same id", None),
        (usa, write("big", b" " * (2 << 20)), kor_json, ValidationError, "larger than", None),
        (usa, tmp_path / "missing.json", kor_json, ValidationError, "cannot read", None),
        (jpn, path, kor_json, ValidationError, r"is for USA, not for this node \(JPN\)", EntryKind.CONSENT),
        (kor, path, kor_json, ValidationError, r"signed by this node \(KOR\) itself", EntryKind.CONSENT),
    ]
    for at, file, signer, error, match, kind in cases:
        before = at.count()
        with pytest.raises(error, match=match):
            at.service.import_file(file, signer=signer, world=world, at=AT)
        after = at.count()
        assert after[1:] == before[1:], file.name  # no consent, recall or report
        assert after[0] == before[0] + 1, file.name  # one audit entry...
        refusal = at.entries()[-1]
        assert refusal.meta["outcome"] == "refused", file.name  # ...of the refusal
        if kind is not None:
            assert refusal.kind is kind
    assert [c.value for c in usa.service.consents()] == [consent]
    for n in (kor, usa, jpn):
        n.verify()


def test_a_recall_is_acknowledged_by_the_holder_and_filed_at_the_originator(kor, usa, jpn, world, tmp_path):
    record = make_record(kor, world)
    recall = kor.service.issue_recall(record.id, disposition="destroy", keys=kor.keys, at=AT)
    kor.service.export("recall", recall.id, out=tmp_path / "recall.json")
    assert usa.service.import_file(tmp_path / "recall.json", signer=kor.home / "node.json", world=world, at=AT).new
    with pytest.raises(ValidationError, match="asks to destroy the record, not to return it"):
        usa.service.acknowledge_recall(recall.id, done="return", keys=usa.keys, at=AT)
    ack = usa.service.acknowledge_recall(recall.id, keys=usa.keys, note="shredded, witnessed", at=AT)
    assert (ack.holder, ack.done, ack.on) == ("USA", "destroy", AT.date())
    with pytest.raises(ValidationError, match="already acknowledged"):
        usa.service.acknowledge_recall(recall.id, keys=usa.keys, at=AT)
    usa.service.export("recall-acknowledgement", recall.id, out=tmp_path / "ack.json")
    usa_json = usa.home / "node.json"
    with pytest.raises(ValidationError, match=r"answers recall .*, which JPN did not issue"):
        jpn.service.import_file(tmp_path / "ack.json", signer=usa_json, world=world, at=AT)
    assert kor.service.import_file(tmp_path / "ack.json", signer=usa_json, world=world, at=AT).new
    [status] = kor.service.recalls(state="acknowledged")
    assert [a.value for a in status.acknowledgements] == [ack]
    assert kor.entries()[-1].meta["action"] == "recall-acknowledgement.import"
    with pytest.raises(UnknownReferenceError, match=r"no recall-acknowledgement .* by JPN"):
        kor.service.export("recall-acknowledgement", recall.id, out=tmp_path / "x.json", holder="JPN")
    for n in (kor, usa, jpn):
        n.verify()


def test_a_report_and_its_result_reach_the_originator(kor, usa, jpn, world, tmp_path):
    request = ReportRequest(record_id="KOR-r1", kind="compromise", details="seen on a screen", originator="KOR")
    report = usa.service.report_compromise(request, world=world, keys=usa.keys, at=AT)
    usa_json = usa.home / "node.json"
    usa.service.export("compromise-report", report.id, out=tmp_path / "report.json")
    with pytest.raises(ValidationError, match="is for KOR, not for this node"):
        jpn.service.import_file(tmp_path / "report.json", signer=usa_json, world=world, at=AT)
    kor.service.import_file(tmp_path / "report.json", signer=usa_json, world=world, at=AT)
    with pytest.raises(ValidationError, match="no investigation-result"):
        usa.service.export("investigation-result", report.id, out=tmp_path / "result.json")
    result = usa.service.close_report(report.id, findings="one viewer, cleared", measures="screens", keys=usa.keys)
    usa.service.export("investigation-result", report.id, out=tmp_path / "result.json")
    with pytest.raises(ValidationError, match="which was not made to JPN"):
        jpn.service.import_file(tmp_path / "result.json", signer=usa_json, world=world, at=AT)
    assert kor.service.import_file(tmp_path / "result.json", signer=usa_json, world=world, at=AT).new
    [closed] = kor.service.reports(state="closed")
    assert (closed.report.value, closed.result.value) == (report, result)
    assert [e.kind for e in kor.entries()] == [EntryKind.REPORT, EntryKind.REPORT]
    for n in (kor, usa, jpn):
        n.verify()


def test_a_reclassification_reaches_the_holder_for_its_copy(kor, usa, jpn, world, tmp_path):
    record = make_record(kor, world)
    notice = kor.service.issue_reclassification(record.id, {"1": "KOR/MIL-III"}, world=world, keys=kor.keys, at=AT)
    with pytest.raises(ValidationError, match="give the record id"):
        kor.service.export("reclassification", notice.id, out=tmp_path / "n.json")
    kor.service.export("reclassification", notice.id, out=tmp_path / "n.json", record_id=record.id)
    usa.service.import_file(tmp_path / "n.json", signer=kor.home / "node.json", world=world, at=AT)
    assert usa.service.levels(record.id, originator="KOR") == {"1": "KOR/MIL-III"}
    assert usa.entries()[-1].kind is EntryKind.RECLASSIFICATION

    # JPN signs a "reclassification" of a record USA holds from KOR: not JPN's to make.
    with usa.db.transaction("receive r1 from KOR") as session:
        SqlReleaseStore(session).add_received(release("rel-in", state=ReleaseState.RECEIVED, message_id="m-1"))
    forged = ReclassificationNotice(
        id="JPN-n1", originator="JPN", record_id="r1", levels=(("summary", "JPN/HI"),), issued_on=AT.date()
    )
    jpn_signed = SignedObject(
        type=ObligationType.RECLASSIFICATION,
        signer="JPN",
        value=forged,
        signature=CompositeSigner(jpn.keys.keys).sign(signed_bytes(forged.to_dict(), purpose=PURPOSE)),
    )
    (tmp_path / "forged.json").write_bytes(jpn_signed.to_bytes())
    with pytest.raises(ValidationError, match="record r1 held here was originated by KOR, not JPN"):
        usa.service.import_file(tmp_path / "forged.json", signer=jpn.home / "node.json", world=world, at=AT)
    assert usa.service.levels("r1") == {}
    usa.verify()


def test_an_unknown_type_or_a_tampered_type_is_refused(kor, usa, world, tmp_path):
    _, path = consent_file(kor, world, tmp_path)
    data = path.read_bytes().replace(b'"type":"consent","value"', b'"type":"recall","value"')
    (tmp_path / "retyped.json").write_bytes(data)
    with pytest.raises(ValidationError, match="not a recall"):
        usa.service.import_file(tmp_path / "retyped.json", signer=kor.home / "node.json", world=world, at=AT)
    with pytest.raises(ValidationError, match="unknown object type 'memo'"):
        kor.service.export("memo", "x", out=tmp_path / "x.json")
    assert refusals(usa)[-1].kind is EntryKind.RECEIPT  # refused before its type could be trusted
