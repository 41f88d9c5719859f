"""The release pipeline between two real node homes: seal at KOR, receive and open at JPN.

Each node has its own identity (real keys) and its own migrated database; the sender's
database runs on SQLite and PostgreSQL. Refusals must store nothing but their audit
entry, and both audit logs must verify at the end.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json

import pytest

from accord.audit.entry import AuditEntry, EntryKind
from accord.canonical import canonical_bytes
from accord.domain.person import Person
from accord.errors import IntegrityError, UnknownReferenceError, ValidationError
from accord.services import node, records
from accord.services._database import Database
from accord.services.audit import AuditLog
from accord.services.obligations import Obligations
from accord.services.releases import ReleaseRequest, Releases, parts_directory, write_message_file
from accord.services.world import init_node, read_world
from accord.storage.sql import SqlAuditStore, SqlReleaseStore
from tests.unit.services.conftest import PASSPHRASE

AT = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
DIRECT = dt.date(2017, 1, 1)  # the KOR-JPN GSOMIA is in force
VIA_HUB = dt.date(2015, 6, 1)  # only TISA, through USA
NONE = dt.date(2013, 1, 1)  # neither


@pytest.fixture(scope="module")
def world():
    return read_world()


def make_node(tmp_path, party, url=None):
    home = tmp_path / party.lower()
    url = url or f"sqlite:///{tmp_path / (party.lower() + '.db')}"
    init_node(home=home, database_url=url)
    node.create_identity(home=home, party=party, passphrase=PASSPHRASE, at=AT, unsafe_fast_kdf=True)
    db = Database(database_url=url)
    return home, db, node.unlock(home, PASSPHRASE, unsafe_fast_kdf=True)


@pytest.fixture
def kor(tmp_path, database_url):
    home = tmp_path / "home"  # database_url migrated this home's database
    node.create_identity(home=home, party="KOR", passphrase=PASSPHRASE, at=AT, unsafe_fast_kdf=True)
    db = Database(database_url=database_url)
    yield home, db, node.unlock(home, PASSPHRASE, unsafe_fast_kdf=True)
    db.close()


@pytest.fixture
def jpn(tmp_path):
    home, db, unlocked = make_node(tmp_path, "JPN")
    yield home, db, unlocked
    db.close()


@pytest.fixture
def usa(tmp_path):
    home, db, unlocked = make_node(tmp_path, "USA")
    yield home, db, unlocked
    db.close()


def create_record(kor, world, *portions):
    home, db, _ = kor
    draft = records.RecordDraft(
        title="DPRK launch",
        topics=("dprk-missile",),
        portions=tuple(records.parse_portion(p) for p in portions),
        purpose="warning",
    )
    return records.Records(database=db, home=home).create(draft, world=world, passphrase=None, node=kor[2], at=AT)


def entries(db):
    with db.transaction("read") as session:
        return [AuditEntry.from_bytes(b) for b in SqlAuditStore(session).entries()]


def stored_releases(db):
    with db.transaction("read") as session:
        return list(SqlReleaseStore(session).list())


def person(**overrides):
    fields = {"id": "tanaka", "party": "JPN", "clearance": "JPN/GOKUHI", "need_to_know": frozenset({"dprk-missile"})}
    return Person(**(fields | overrides))


def release_direct(kor, jpn, world):
    record = create_record(kor, world, "KOR/MIL-II:JPN:launch at 05:10 from Sohae", "KOR/MIL-III::our source")
    home, db, unlocked = kor
    outcome = Releases(database=db, home=home).release(
        record.id, "JPN", world=world, node=unlocked, next_hop=jpn[2].identity, on=DIRECT, at=AT
    )
    return record, outcome


def test_release_seals_the_tear_line_and_audits_it(kor, jpn, world):
    record, outcome = release_direct(kor, jpn, world)
    assert outcome.decision.allowed
    assert outcome.decision.route == ("KOR", "JPN")
    release = outcome.release
    assert release is not None
    assert release.state == "sealed"
    assert release.label is not None
    assert json.loads(release.label)["recipient_level"] == "JPN/GOKUHI"
    # Sealed: neither portion's text is readable in what is stored and sent.
    assert b"Sohae" not in release.envelope
    assert b"our source" not in release.envelope
    assert [r.id for r in stored_releases(kor[1])] == [release.id]
    last = entries(kor[1])[-1]
    assert last.kind is EntryKind.RELEASE
    assert last.subjects == (record.id, release.id)
    assert last.meta["released"] == 1
    assert last.meta["withheld"] == 1
    assert set(last.digests) == {"decision", "content", "envelope"}


def test_what_is_stored_and_audited_is_the_canonical_form_of_what_was_decided_and_sent(kor, jpn, world):
    """The message, the stored decision and the audit digests are exactly what they stand for.

    The pipeline builds these bytes from parts encoded once (and a decision's encoding
    from its shape's); here they are held to the canonical JSON of the values.
    """
    _, outcome = release_direct(kor, jpn, world)
    _, second = release_direct(kor, jpn, world)
    for result in (outcome, second):
        release, message = result.release, result.message
        assert release is not None
        assert message is not None
        assert message.to_bytes() == canonical_bytes(message.to_dict())
        assert release.envelope == message.to_bytes()
        assert release.decision == canonical_bytes(result.decision.to_dict())
        [stored] = [r for r in stored_releases(kor[1]) if r.id == release.id]
        assert stored.decision == release.decision
        assert stored.label == canonical_bytes(result.decision.label.to_dict())
        entry = next(e for e in entries(kor[1]) if e.subjects == (release.record_id, release.id))
        assert entry.digests["decision"] == hashlib.sha256(release.decision).hexdigest()
        assert entry.digests["envelope"] == hashlib.sha256(release.envelope).hexdigest()
    assert outcome.release.decision != second.release.decision  # each names its own record


def test_receive_and_open_for_a_cleared_person(kor, jpn, world):
    record, outcome = release_direct(kor, jpn, world)
    home, db, unlocked = jpn
    service = Releases(database=db, home=home)
    received = service.receive(outcome.message.to_bytes(), world=world, node=unlocked, sender=kor[2].identity, at=AT)
    assert received.new
    assert received.release.state == "received"
    assert received.release.sender == "KOR"
    assert received.release.record_id == record.id
    assert entries(db)[-1].kind is EntryKind.RECEIPT
    opened = service.read(received.release.id, person=person(), world=world, node=unlocked, at=AT)
    assert opened.access.allowed
    assert opened.texts == {"1": "launch at 05:10 from Sohae"}  # the withheld portion never arrived
    shown = opened.to_dict()
    assert shown["record"]["originator"] == "KOR"
    assert shown["portions"] == [{"id": "1", "level": "KOR/MIL-II", "text": "launch at 05:10 from Sohae"}]
    access = entries(db)[-1]
    assert (access.kind, access.meta["outcome"], access.meta["person"]) == (EntryKind.ACCESS, "allowed", "tanaka")


@pytest.mark.parametrize(
    ("who", "failed"),
    [
        pytest.param({"clearance": "JPN/HI"}, "clearance", id="clearance-too-low"),
        pytest.param({"need_to_know": frozenset({"dprk-nuclear"})}, "need-to-know", id="no-need-to-know"),
        pytest.param({"party": "KOR", "clearance": "KOR/MIL-I"}, "nationality", id="wrong-nationality"),
        pytest.param({"clearance": None, "roles": frozenset({"administrator"})}, "clearance", id="role-alone"),
    ],
)
def test_open_refused_without_clearance_need_to_know_or_nationality(kor, jpn, world, who, failed):
    _, outcome = release_direct(kor, jpn, world)
    home, db, unlocked = jpn
    service = Releases(database=db, home=home)
    received = service.receive(outcome.message.to_bytes(), world=world, node=unlocked, sender=kor[2].identity, at=AT)
    opened = service.read(received.release.id, person=person(**who), world=world, node=unlocked, at=AT)
    assert not opened.access
    assert opened.texts is None
    assert "portions" not in opened.to_dict()
    assert failed in {c.rule for c in opened.access.checks if not c.passed}
    assert entries(db)[-1].meta["outcome"] == "refused"


def test_receiving_the_same_message_twice_stores_it_once(kor, jpn, world):
    _, outcome = release_direct(kor, jpn, world)
    home, db, unlocked = jpn
    service = Releases(database=db, home=home)
    data = outcome.message.to_bytes()
    assert service.receive(data, world=world, node=unlocked, sender=kor[2].identity, at=AT).new
    before = len(entries(db))
    again = service.receive(data, world=world, node=unlocked, sender=kor[2].identity, at=AT)
    assert not again.new
    assert len(entries(db)) == before
    assert len(stored_releases(db)) == 1


def test_denied_release_is_audited_and_stores_no_release(kor, jpn, world):
    record = create_record(kor, world, "KOR/MIL-II:JPN:launch")
    home, db, unlocked = kor
    outcome = Releases(database=db, home=home).release(
        record.id, "JPN", world=world, node=unlocked, next_hop=jpn[2].identity, on=NONE, at=AT
    )
    assert not outcome.decision
    assert outcome.release is None
    assert stored_releases(db) == []
    last = entries(db)[-1]
    assert (last.kind, last.meta["outcome"]) == (EntryKind.DECISION, "denied")
    assert "decision" in last.digests


def test_hub_route_is_sealed_for_the_hub(kor, usa, world):
    record = create_record(kor, world, "KOR/MIL-II:JPN,USA:launch")
    home, db, unlocked = kor
    outcome = Releases(database=db, home=home).release(
        record.id, "JPN", world=world, node=unlocked, next_hop=usa[2].identity, on=VIA_HUB, at=AT
    )
    assert outcome.decision.route == ("KOR", "USA", "JPN")
    assert outcome.message.recipient == "USA"
    assert outcome.release.agreements[0][0] == "TISA"


def test_keys_of_the_wrong_node_refuse_the_release(kor, jpn, world):
    record = create_record(kor, world, "KOR/MIL-II:JPN,USA:launch")
    home, db, unlocked = kor
    service = Releases(database=db, home=home)
    before = len(entries(db))
    with pytest.raises(ValidationError, match="no public keys given for USA"):
        service.release_many(
            [ReleaseRequest(record_id=record.id, recipient="JPN", on=VIA_HUB)],
            world=world,
            node=unlocked,
            next_hops={"JPN": jpn[2].identity.public},
            at=AT,
        )
    assert stored_releases(db) == []
    after = entries(db)
    assert len(after) == before + 1  # only the refusal's entry
    assert after[-1].meta["outcome"] == "refused"


def test_unknown_record(kor, jpn, world):
    home, db, unlocked = kor
    with pytest.raises(UnknownReferenceError, match="no record"):
        Releases(database=db, home=home).release(
            "KOR-nope", "JPN", world=world, node=unlocked, next_hop=jpn[2].identity, on=DIRECT, at=AT
        )


def tampered(message, path, value):
    doc = json.loads(message.to_bytes())
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return json.dumps(doc).encode()


def flip(text):
    return ("B" if text[0] == "A" else "A") + text[1:]


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(
            lambda m: tampered(m, ["sealed", "envelope", "ct"], flip(m.sealed.envelope.to_dict()["ct"])),
            id="ciphertext-byte",
        ),
        pytest.param(
            lambda m: tampered(m, ["sealed", "envelope", "enc"], flip(m.sealed.envelope.to_dict()["enc"])),
            id="encapsulated-key",
        ),
        pytest.param(lambda m: tampered(m, ["sealed", "hop_signatures"], []), id="no-hop-signature"),
        pytest.param(lambda m: tampered(m, ["sealed", "envelope", "decision"], "0" * 64), id="decision-id"),
        pytest.param(lambda m: tampered(m, ["sealed", "envelope", "agreement"], "0" * 64), id="envelope-agreement"),
        pytest.param(lambda m: tampered(m, ["agreement", "fingerprint"], "0" * 64), id="other-agreement-version"),
        pytest.param(lambda m: tampered(m, ["recipient"], "USA"), id="addressed-elsewhere"),
        pytest.param(lambda m: tampered(m, ["record_id"], "KOR-other"), id="header-mismatch"),
        pytest.param(lambda m: tampered(m, ["sender"], "USA"), id="sender-mismatch"),
    ],
)
def test_modified_messages_are_refused_opaquely(kor, jpn, world, change):
    _, outcome = release_direct(kor, jpn, world)
    home, db, unlocked = jpn
    service = Releases(database=db, home=home)
    before = len(entries(db))
    with pytest.raises(IntegrityError) as caught:
        service.receive(change(outcome.message), world=world, node=unlocked, sender=kor[2].identity, at=AT)
    assert caught.value.message == "sealed release failed its integrity check"  # no oracle
    assert stored_releases(db) == []
    refusal = entries(db)
    assert len(refusal) == before + 1
    assert refusal[-1].meta["outcome"] == "refused"
    assert refusal[-1].meta["reason"]  # the detail is in the log only


def test_forged_sender_key_is_refused(kor, jpn, usa, world):
    _, outcome = release_direct(kor, jpn, world)
    home, db, unlocked = jpn
    impostor = dataclasses.replace(usa[2].identity, party="KOR")  # another node's keys claiming to be KOR
    with pytest.raises(IntegrityError):
        Releases(database=db, home=home).receive(
            outcome.message.to_bytes(), world=world, node=unlocked, sender=impostor, at=AT
        )
    assert stored_releases(db) == []


def test_message_for_another_node_cannot_be_opened_there(kor, jpn, usa, world):
    _, outcome = release_direct(kor, jpn, world)
    home, db, unlocked = usa
    with pytest.raises(IntegrityError):
        Releases(database=db, home=home).receive(
            outcome.message.to_bytes(), world=world, node=unlocked, sender=kor[2].identity, at=AT
        )
    assert stored_releases(db) == []


def test_replay_under_a_new_message_id_is_refused(kor, jpn, world):
    _, outcome = release_direct(kor, jpn, world)
    home, db, unlocked = jpn
    service = Releases(database=db, home=home)
    service.receive(outcome.message.to_bytes(), world=world, node=unlocked, sender=kor[2].identity, at=AT)
    replay = tampered(outcome.message, ["message_id"], "another-id")
    with pytest.raises(IntegrityError):
        service.receive(replay, world=world, node=unlocked, sender=kor[2].identity, at=AT)
    assert len(stored_releases(db)) == 1
    assert entries(db)[-1].meta["reason"].startswith("release")


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"", "not JSON"),
        (b'{"format": "accord.release-message/1", "message_id"', "truncated"),
        (b'{"format": "something-else"}', "format must be"),
        (b'{"format": "accord.release-message/1"}', "missing"),
    ],
    ids=["empty", "truncated", "other-format", "no-header"],
)
def test_not_a_release_message(jpn, kor, world, data, match):
    home, db, unlocked = jpn
    with pytest.raises(ValidationError, match=match):
        Releases(database=db, home=home).receive(data, world=world, node=unlocked, sender=kor[2].identity, at=AT)
    assert entries(db) == []


def test_receiver_refuses_what_its_own_agreements_do_not_allow(kor, jpn, world):
    # The receiver re-runs the decision with its own world: one where the KOR-JPN
    # GSOMIA is unknown refuses what the sender's world allowed.
    _, outcome = release_direct(kor, jpn, world)
    home, db, unlocked = jpn
    narrower = dataclasses.replace(world, agreements=tuple(a for a in world.agreements if a.id != "KOR-JPN-GSOMIA"))
    with pytest.raises(IntegrityError):
        Releases(database=db, home=home).receive(
            outcome.message.to_bytes(), world=narrower, node=unlocked, sender=kor[2].identity, at=AT
        )
    assert "unknown to this node" in entries(db)[-1].meta["reason"]


def test_both_audit_logs_verify_after_a_release(kor, jpn, world):
    _, outcome = release_direct(kor, jpn, world)
    home, db, unlocked = jpn
    service = Releases(database=db, home=home)
    received = service.receive(outcome.message.to_bytes(), world=world, node=unlocked, sender=kor[2].identity, at=AT)
    service.read(received.release.id, person=person(), world=world, node=unlocked, at=AT)
    for home_, db_, _ in (kor, jpn):
        assert AuditLog(database=db_, home=home_).verify().entries == len(entries(db_))


def test_a_release_sealed_before_the_recipient_rotated_its_keys_still_opens(kor, jpn, world):
    _, outcome = release_direct(kor, jpn, world)  # sealed to JPN's first KEM key
    home, db, _ = jpn
    node.rotate_keys(home, PASSPHRASE, at=AT + dt.timedelta(days=1), unsafe_fast_kdf=True)
    rotated = node.unlock(home, PASSPHRASE, unsafe_fast_kdf=True)
    assert rotated.identity.public != jpn[2].identity.public
    service = Releases(database=db, home=home)
    received = service.receive(outcome.message.to_bytes(), world=world, node=rotated, sender=kor[2].identity, at=AT)
    opened = service.read(received.release.id, person=person(), world=world, node=rotated, at=AT)
    assert opened.texts == {"1": "launch at 05:10 from Sohae"}


def test_a_reclassification_re_marks_the_held_copy(kor, jpn, world, tmp_path):
    record, outcome = release_direct(kor, jpn, world)
    home, db, unlocked = jpn
    service = Releases(database=db, home=home)
    received = service.receive(outcome.message.to_bytes(), world=world, node=unlocked, sender=kor[2].identity, at=AT)
    lower = person(clearance="JPN/HI")
    assert not service.read(received.release.id, person=lower, world=world, node=unlocked, at=AT).access
    # KOR downgrades portion 1 from MIL-II to MIL-III; JPN imports the signed notice.
    kor_home, kor_db, kor_node = kor
    notice_file = tmp_path / "notice.json"
    sender = Obligations(database=kor_db, home=kor_home)
    notice = sender.issue_reclassification(record.id, {"1": "KOR/MIL-III"}, world=world, keys=kor_node, at=AT)
    sender.export("reclassification", notice.id, out=notice_file, record_id=record.id)
    Obligations(database=db, home=home).import_file(notice_file, signer=kor_home / "node.json", world=world, at=AT)
    opened = service.read(received.release.id, person=lower, world=world, node=unlocked, at=AT)
    assert opened.access.allowed
    assert opened.to_dict()["label"]["recipient_level"] == "JPN/HI"
    assert opened.to_dict()["portions"][0]["level"] == "KOR/MIL-III"


def release_with_file(kor, jpn, world, tmp_path, payload):
    source = tmp_path / "imagery.bin"
    source.write_bytes(payload)
    internal = tmp_path / "internal.bin"
    internal.write_bytes(b"our own source notes")
    home, db, unlocked = kor
    draft = records.RecordDraft(
        title="Launch site imagery",
        topics=("dprk-missile",),
        portions=(
            records.PortionDraft(level="KOR/MIL-II", rel_to=("JPN",), text="see the attached imagery"),
            records.PortionDraft(level="KOR/MIL-II", rel_to=("JPN",), path=source),
            records.PortionDraft(level="KOR/MIL-II", rel_to=(), path=internal),  # withheld
        ),
    )
    record = records.Records(database=db, home=home).create(draft, world=world, passphrase=None, node=unlocked, at=AT)
    outcome = Releases(database=db, home=home).release(
        record.id, "JPN", world=world, node=unlocked, next_hop=jpn[2].identity, on=DIRECT, at=AT
    )
    message_file = tmp_path / "out" / "message.json"
    message_file.parent.mkdir()
    write_message_file(message_file, outcome.message, outcome.attachments)
    return record, outcome, message_file


def test_file_portions_travel_beside_the_message_and_open_for_a_cleared_person(kor, jpn, world, tmp_path):
    payload = bytes(range(256)) * 4096 + b"tail"  # 1 MiB and a bit, not text
    _, outcome, message_file = release_with_file(kor, jpn, world, tmp_path, payload)
    assert outcome.message.attachments == ("2",)  # the withheld file does not travel
    parts = parts_directory(message_file)
    assert sorted(p.name for p in parts.iterdir()) == ["2.enc"]
    assert payload[:4096] not in (parts / "2.enc").read_bytes()  # encrypted in transit
    home, db, unlocked = jpn
    service = Releases(database=db, home=home)
    received = service.receive(
        message_file.read_bytes(), world=world, node=unlocked, sender=kor[2].identity, attachments=parts, at=AT
    )
    saved = tmp_path / "saved"
    saved.mkdir()
    opened = service.read(received.release.id, person=person(), world=world, node=unlocked, out=saved, at=AT)
    assert opened.access.allowed
    assert opened.texts == {"1": "see the attached imagery"}
    assert (saved / "imagery.bin").read_bytes() == payload
    file = opened.to_dict()["portions"][1]["file"]
    assert (file["name"], file["size"]) == ("imagery.bin", len(payload))
    refused = service.read(received.release.id, person=person(clearance="JPN/HI"), world=world, node=unlocked, at=AT)
    assert not refused.access
    assert refused.files is None


@pytest.mark.parametrize("damage", ["missing", "truncated", "flipped"])
def test_a_missing_or_changed_attachment_is_refused(kor, jpn, world, tmp_path, damage):
    _, _, message_file = release_with_file(kor, jpn, world, tmp_path, b"imagery " * 10_000)
    part = parts_directory(message_file) / "2.enc"
    data = part.read_bytes()
    if damage == "missing":
        part.unlink()
    elif damage == "truncated":
        part.write_bytes(data[:-100])
    else:
        part.write_bytes(data[:500] + bytes([data[500] ^ 1]) + data[501:])
    home, db, unlocked = jpn
    with pytest.raises(IntegrityError):
        Releases(database=db, home=home).receive(
            message_file.read_bytes(),
            world=world,
            node=unlocked,
            sender=kor[2].identity,
            attachments=parts_directory(message_file),
            at=AT,
        )
    assert stored_releases(db) == []
    assert not (home / "received").exists()  # no file kept without its release
    assert "attachment" in entries(db)[-1].meta["reason"]


def test_a_release_signed_before_the_sender_rotated_its_keys_is_still_accepted(kor, jpn, world):
    _, outcome = release_direct(kor, jpn, world)  # signed with KOR's first keys
    kor_home = kor[0]
    node.rotate_keys(kor_home, PASSPHRASE, at=AT + dt.timedelta(days=1), unsafe_fast_kdf=True)
    rotated = node.read_identity(kor_home)  # node.json lists the retired keys
    assert rotated.public != kor[2].identity.public
    home, db, unlocked = jpn
    received = Releases(database=db, home=home).receive(
        outcome.message.to_bytes(), world=world, node=unlocked, sender=rotated, at=AT
    )
    assert received.new


def test_an_acknowledged_recall_closes_the_held_copy_and_removes_its_files(kor, jpn, world, tmp_path):
    record, _, message_file = release_with_file(kor, jpn, world, tmp_path, b"imagery " * 1000)
    home, db, unlocked = jpn
    service = Releases(database=db, home=home)
    received = service.receive(
        message_file.read_bytes(),
        world=world,
        node=unlocked,
        sender=kor[2].identity,
        attachments=parts_directory(message_file),
        at=AT,
    )
    kept = home / "received" / received.release.id
    assert any(kept.iterdir())
    kor_home, kor_db, kor_node = kor
    recall_file = tmp_path / "recall.json"
    originator = Obligations(database=kor_db, home=kor_home)
    recall = originator.issue_recall(record.id, disposition="destroy", keys=kor_node, at=AT)
    originator.export("recall", recall.id, out=recall_file)
    holder = Obligations(database=db, home=home)
    holder.import_file(recall_file, signer=kor_home / "node.json", world=world, at=AT)
    assert service.read(received.release.id, person=person(), world=world, node=unlocked, at=AT).access  # not yet
    holder.acknowledge_recall(recall.id, keys=unlocked, at=AT)
    with pytest.raises(ValidationError, match="recalled by the originator; destroy acknowledged"):
        service.read(received.release.id, person=person(), world=world, node=unlocked, at=AT)
    assert not kept.exists()
    last = entries(db)[-1]
    assert (last.kind, last.meta["outcome"]) == (EntryKind.ACCESS, "refused")
