"""Federation between two real node homes: pin, queue, deliver in-process, bundles, receipts, refusals.

KOR's database runs on SQLite and PostgreSQL, JPN's on SQLite. Every refusal of a
message must store nothing at the receiver but its one audit entry.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest
from sqlalchemy import text

from accord.audit.entry import AuditEntry, EntryKind
from accord.canonical import canonical_bytes
from accord.crypto import NodeKeys
from accord.domain.record import Precedence
from accord.errors import IntegrityError, UnknownReferenceError, ValidationError
from accord.federation.delivery import Backoff, InProcessTransport
from accord.federation.messages import Envelope, MessageType, RejectedError, new_envelope
from accord.federation.trust import Freshness
from accord.services import node, records
from accord.services._database import Database
from accord.services._release_message import ReleaseMessage
from accord.services.audit import AuditLog
from accord.services.inbound import Inbound
from accord.services.obligations import Obligations, ReportRequest
from accord.services.outbox import Outbox, queue
from accord.services.peers import Peers, export_descriptor
from accord.services.releases import ReleaseRequest, Releases
from accord.services.world import init_node, read_world
from accord.storage.sql import SqlAuditStore, SqlFederationStore, SqlReleaseStore
from accord.storage.values import ReleaseState
from tests.unit.services.conftest import PASSPHRASE

AT = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
LATER = AT + dt.timedelta(minutes=5)
ON = dt.date(2017, 1, 1)  # the KOR-JPN GSOMIA is in force
TABLES = ("releases", "seen_messages", "outbox", "receipts", "peers")


@pytest.fixture(scope="module")
def world():
    return read_world()


@dataclasses.dataclass
class Node:
    home: object
    db: Database
    unlocked: node.UnlockedNode

    def service(self, kind):
        return kind(database=self.db, home=self.home)

    @property
    def party(self):
        return self.unlocked.identity.party


def make(tmp_path, party, url=None):
    home = tmp_path / party.lower()
    url = url or f"sqlite:///{tmp_path / (party.lower() + '.db')}"
    init_node(home=home, database_url=url)
    node.create_identity(home=home, party=party, passphrase=PASSPHRASE, at=AT, unsafe_fast_kdf=True)
    return Node(home, Database(database_url=url), node.unlock(home, PASSPHRASE, unsafe_fast_kdf=True))


@pytest.fixture
def kor(tmp_path, database_url):
    home = tmp_path / "home"
    node.create_identity(home=home, party="KOR", passphrase=PASSPHRASE, at=AT, unsafe_fast_kdf=True)
    n = Node(home, Database(database_url=database_url), node.unlock(home, PASSPHRASE, unsafe_fast_kdf=True))
    yield n
    n.db.close()


@pytest.fixture
def jpn(tmp_path):
    n = make(tmp_path, "JPN")
    yield n
    n.db.close()


@pytest.fixture
def pinned(kor, jpn):
    kor.service(Peers).add(export_descriptor(jpn.unlocked, url="https://jpn.example"), at=AT)
    jpn.service(Peers).add(export_descriptor(kor.unlocked), at=AT)
    return kor, jpn


def release(kor, jpn, world, *, precedence="ROUTINE", next_hop=None):
    draft = records.RecordDraft(
        title="DPRK launch",
        topics=("dprk-missile",),
        portions=(records.parse_portion("KOR/MIL-II:JPN:launch at 05:10 from Sohae"),),
        purpose="warning",
        precedence=precedence,
    )
    record = kor.service(records.Records).create(draft, world=world, passphrase=None, node=kor.unlocked, at=AT)
    keys = next_hop or jpn.unlocked.identity.public
    request = ReleaseRequest(record_id=record.id, recipient="JPN", on=ON)
    (outcome,) = kor.service(Releases).release_many(
        [request], world=world, node=kor.unlocked, next_hops={"JPN": keys}, at=AT
    )
    return outcome.release


def receiver(jpn, world, at=LATER):
    def accept(data):
        return jpn.service(Inbound).accept(data, world=world, node=jpn.unlocked, at=at).receipt

    return accept


def state_of(n, release_id):
    with n.db.transaction("read") as session:
        return SqlReleaseStore(session).get(release_id).state


def counts(n):
    with n.db.transaction("count") as session:
        out = {t: session.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}  # noqa: S608
        out["audit"] = len(SqlAuditStore(session).entries())
    return out


def last_entry(n):
    with n.db.transaction("read") as session:
        return AuditEntry.from_bytes(SqlAuditStore(session).entries()[-1])


def test_in_process_delivery_marks_the_release_delivered(pinned, world):
    kor, jpn = pinned
    sent = release(kor, jpn, world)
    transport = InProcessTransport({"JPN": receiver(jpn, world)})
    result = kor.service(Outbox).deliver("JPN", transport, node=kor.unlocked, at=LATER)
    assert (result.sent, result.delivered, result.refused, result.failed) == (1, 1, 0, 0)
    assert state_of(kor, sent.id) is ReleaseState.DELIVERED
    assert state_of(jpn, sent.id) is ReleaseState.RECEIVED
    with kor.db.transaction("read") as session:
        (item,) = SqlFederationStore(session).created_since("JPN", "2000-01-01T00:00:00.000000Z")
        receipt = SqlFederationStore(session).receipt_for(item.id)
    assert receipt is not None
    assert receipt.outcome == "accepted"
    assert Envelope.from_bytes(receipt.envelope).body["of"] == item.id  # the proof of delivery, signed by JPN
    status = {s.peer: s for s in kor.service(Peers).status()}["JPN"]
    assert (status.pending, status.delivered) == (0, 1)
    # Delivering again sends nothing: the outbox is empty.
    assert kor.service(Outbox).deliver("JPN", transport, node=kor.unlocked, at=LATER).sent == 0
    assert AuditLog(database=kor.db, home=kor.home).verify().entries == len(_entries(kor))
    assert AuditLog(database=jpn.db, home=jpn.home).verify().entries == len(_entries(jpn))


def test_a_peer_down_is_retried_with_backoff(pinned, world):
    kor, jpn = pinned
    sent = release(kor, jpn, world)
    transport = InProcessTransport({"JPN": receiver(jpn, world)})
    transport.down.add("JPN")
    schedule = Backoff(base=dt.timedelta(seconds=30), jitter=0)
    result = kor.service(Outbox).deliver("JPN", transport, node=kor.unlocked, at=LATER, backoff=schedule)
    assert (result.sent, result.failed, result.error) == (0, 1, "peer JPN is unreachable")
    assert state_of(kor, sent.id) is ReleaseState.QUEUED
    (status,) = [s for s in kor.service(Peers).status() if s.peer == "JPN"]
    assert status.pending == 1
    assert status.last_error == "peer JPN is unreachable"
    assert status.next_attempt_at == "2026-03-02T09:05:30.000000Z"
    # Not due yet: nothing is tried; a second failure waits twice as long.
    assert kor.service(Outbox).deliver("JPN", transport, node=kor.unlocked, at=LATER).failed == 0
    second = LATER + dt.timedelta(seconds=30)
    kor.service(Outbox).deliver("JPN", transport, node=kor.unlocked, at=second, backoff=schedule)
    (status,) = [s for s in kor.service(Peers).status() if s.peer == "JPN"]
    assert status.next_attempt_at == "2026-03-02T09:06:30.000000Z"  # 60 s after the second failure
    transport.down.clear()
    done = kor.service(Outbox).deliver("JPN", transport, node=kor.unlocked, at=second + dt.timedelta(minutes=2))
    assert done.delivered == 1
    assert state_of(kor, sent.id) is ReleaseState.DELIVERED


def test_flash_goes_first_then_by_precedence_in_queue_order(pinned):
    kor, _ = pinned
    with kor.db.transaction("queue") as session:
        for n, level in enumerate(["ROUTINE", "PRIORITY", "ROUTINE", "FLASH", "IMMEDIATE", "FLASH"]):
            envelope = new_envelope(
                MessageType.CHECKPOINT, {"n": n}, sender="KOR", recipient="JPN", at=AT, keys=kor.unlocked.keys,
                precedence=Precedence(level),
            )  # fmt: skip
            queue(session, envelope, at=AT)
    batches = []

    class Recording:
        def send(self, peer, envelopes):
            assert peer == "JPN"
            batches.append([json.loads(e)["body"]["n"] for e in envelopes])
            return []

    kor.service(Outbox).deliver("JPN", Recording(), node=kor.unlocked, at=LATER, batch_size=10)
    assert batches == [[3], [5], [4], [1], [0, 2]]


def test_a_release_the_receiver_cannot_accept_is_refused_and_reported_back(pinned, world, tmp_path):
    kor, jpn = pinned
    stranger = make(tmp_path, "USA")
    sent = release(kor, jpn, world, next_hop=stranger.unlocked.identity.public)  # sealed to the wrong keys
    stranger.db.close()
    result = kor.service(Outbox).deliver(
        "JPN", InProcessTransport({"JPN": receiver(jpn, world)}), node=kor.unlocked, at=LATER
    )
    assert (result.delivered, result.refused) == (0, 1)
    assert state_of(kor, sent.id) is ReleaseState.REFUSED
    with jpn.db.transaction("read") as session:
        assert list(SqlReleaseStore(session).list()) == []
    assert any(e.meta.get("reason") for e in map(AuditEntry.from_bytes, _entries(jpn)))


def _entries(n):
    with n.db.transaction("read") as session:
        return SqlAuditStore(session).entries()


def envelope_from(kor, **kw):
    fields = {
        "sender": "KOR", "recipient": "JPN", "at": LATER, "keys": kor.unlocked.keys,
        "agreement": ("KOR-JPN-GSOMIA", read_world().agreement("KOR-JPN-GSOMIA").fingerprint),
    } | kw  # fmt: skip
    return new_envelope(MessageType.RELEASE, {"message": {}}, **fields)


def forged(kor):
    envelope = envelope_from(kor)
    return dataclasses.replace(envelope, body={"message": {"changed": True}}).to_bytes()


REFUSALS = {
    "forged-signature": forged,
    "signed-by-unpinned-key": lambda kor: envelope_from(kor, keys=NodeKeys.generate()).to_bytes(),
    "for-another-node": lambda kor: envelope_from(kor, recipient="USA").to_bytes(),
    "unpinned-sender": lambda kor: envelope_from(kor, sender="USA").to_bytes(),
    "truncated": lambda kor: envelope_from(kor).to_bytes()[:-40],
    "oversized": lambda kor: envelope_from(kor, agreement=None).to_bytes() + b" " * 70_000,
    "wrong-fingerprint": lambda kor: envelope_from(kor, agreement=("KOR-JPN-GSOMIA", "0" * 64)).to_bytes(),
    "from-the-future": lambda kor: envelope_from(kor, at=LATER + dt.timedelta(hours=1)).to_bytes(),
    "not-a-message": lambda _: canonical_bytes({"format": "accord.envelope/1"}),
}


@pytest.mark.parametrize("make_bytes", REFUSALS.values(), ids=REFUSALS.keys())
def test_every_refusal_stores_nothing_but_its_audit_entry(pinned, world, make_bytes):
    kor, jpn = pinned
    before = counts(jpn)
    with pytest.raises(RejectedError) as caught:
        jpn.service(Inbound).accept(make_bytes(kor), world=world, node=jpn.unlocked, at=LATER, max_bytes=64_000)
    assert caught.value.message == "federation message refused"  # opaque to the sender
    assert counts(jpn) == before | {"audit": before["audit"] + 1}
    entry = last_entry(jpn)
    assert (entry.kind, entry.meta["outcome"]) == (EntryKind.MESSAGE, "refused")
    assert entry.meta["reason"]


def test_a_replay_under_the_same_id_with_other_content_is_refused(pinned, world):
    kor, jpn = pinned
    sent = release(kor, jpn, world)
    transport = InProcessTransport({"JPN": receiver(jpn, world)})
    kor.service(Outbox).deliver("JPN", transport, node=kor.unlocked, at=LATER)
    (original,) = [data for _, data in transport.sent]
    # The very same message again: the same receipt, nothing changes.
    before = counts(jpn)
    again = jpn.service(Inbound).accept(original, world=world, node=jpn.unlocked, at=LATER)
    assert again.new is False
    assert counts(jpn) == before
    # Its id reused with other (validly signed) content: refused as a replay.
    doc = Envelope.from_bytes(original)
    replay = dataclasses.replace(doc, body={"message": {}}).signed_by(kor.unlocked.keys).to_bytes()
    with pytest.raises(RejectedError):
        jpn.service(Inbound).accept(replay, world=world, node=jpn.unlocked, at=LATER)
    assert counts(jpn) == before | {"audit": before["audit"] + 1}
    assert "replay" in last_entry(jpn).meta["reason"]
    assert state_of(jpn, sent.id) is ReleaseState.RECEIVED


def test_bundle_round_trip_and_importing_twice_changes_nothing(pinned, world):
    kor, jpn = pinned
    sent = release(kor, jpn, world)
    bundle, count = kor.service(Outbox).export_bundle("JPN", node=kor.unlocked, at=AT)
    assert count == 1
    assert state_of(kor, sent.id) is ReleaseState.QUEUED
    imported = jpn.service(Inbound).import_bundle(bundle, world=world, node=jpn.unlocked, at=LATER)
    assert [(a.new, a.outcome) for a in imported.accepted] == [(True, "accepted")]
    before = counts(jpn)
    twice = jpn.service(Inbound).import_bundle(bundle, world=world, node=jpn.unlocked, at=LATER)
    assert [a.new for a in twice.accepted] == [False]
    assert counts(jpn) == before
    back, receipts = jpn.service(Outbox).export_bundle("KOR", node=jpn.unlocked, at=LATER)
    assert receipts == 1
    kor.service(Inbound).import_bundle(back, world=world, node=kor.unlocked, at=LATER)
    assert state_of(kor, sent.id) is ReleaseState.DELIVERED
    before = counts(kor)
    kor.service(Inbound).import_bundle(back, world=world, node=kor.unlocked, at=LATER)
    assert counts(kor) == before
    # Nothing left to send either way.
    assert kor.service(Outbox).export_bundle("JPN", node=kor.unlocked, at=LATER)[1] == 0
    assert jpn.service(Outbox).export_bundle("KOR", node=jpn.unlocked, at=LATER)[1] == 0


def test_a_tampered_bundle_is_refused_whole(pinned, world):
    kor, jpn = pinned
    release(kor, jpn, world)
    bundle, _ = kor.service(Outbox).export_bundle("JPN", node=kor.unlocked, at=AT)
    doc = json.loads(bundle)
    doc["created_at"] = "2026-03-02T09:00:01Z"
    before = counts(jpn)
    with pytest.raises(RejectedError):
        jpn.service(Inbound).import_bundle(canonical_bytes(doc), world=world, node=jpn.unlocked, at=LATER)
    assert counts(jpn) == before | {"audit": before["audit"] + 1}


def test_key_rotation_is_announced_with_the_old_key_and_re_pins_the_peer(pinned, world):
    kor, jpn = pinned
    rotated_at = AT + dt.timedelta(minutes=1)
    rotation, peers = kor.service(Peers).rotate_and_announce(PASSPHRASE, at=rotated_at, unsafe_fast_kdf=True)
    assert peers == 1
    transport = InProcessTransport({"JPN": receiver(jpn, world)})
    result = kor.service(Outbox).deliver("JPN", transport, node=kor.unlocked, at=LATER)
    assert result.delivered == 1
    assert jpn.service(Peers).show("KOR").pinned.fingerprint == rotation.identity.public.fingerprint
    # Messages signed with the new keys are now accepted; the old keys no longer sign new ones.
    new_node = node.unlock(kor.home, PASSPHRASE, unsafe_fast_kdf=True)
    fresh = Node(kor.home, kor.db, new_node)
    sent = release(fresh, jpn, world)
    fresh.service(Outbox).deliver("JPN", transport, node=new_node, at=LATER)
    assert state_of(kor, sent.id) is ReleaseState.DELIVERED
    with pytest.raises(RejectedError):
        jpn.service(Inbound).accept(envelope_from(kor).to_bytes(), world=world, node=jpn.unlocked, at=LATER)


def test_pinning_refusals(pinned):
    kor, jpn = pinned
    peers = kor.service(Peers)
    with pytest.raises(ValidationError, match="already stored"):
        peers.add(export_descriptor(jpn.unlocked), at=AT)
    with pytest.raises(ValidationError, match="own"):
        peers.add(export_descriptor(kor.unlocked), at=AT)
    with pytest.raises(ValidationError, match="fingerprint"):
        peers.add(export_descriptor(jpn.unlocked), expect_fingerprint="0" * 64, at=AT)
    doc = json.loads(export_descriptor(jpn.unlocked))
    doc["descriptor"]["url"] = "https://elsewhere.example"
    with pytest.raises(IntegrityError):
        peers.add(canonical_bytes(doc), at=AT)
    with pytest.raises(ValidationError, match="http"):
        export_descriptor(jpn.unlocked, url="ftp://x")
    peers.remove("JPN", at=AT)
    with pytest.raises(UnknownReferenceError):
        peers.remove("JPN", at=AT)
    with pytest.raises(UnknownReferenceError):
        peers.show("JPN")


def test_freshness_is_configurable(pinned, world):
    kor, jpn = pinned
    old = envelope_from(kor, at=LATER).to_bytes()
    later = LATER + dt.timedelta(hours=2)
    before = counts(jpn)
    with pytest.raises(RejectedError):
        jpn.service(Inbound).accept(
            old, world=world, node=jpn.unlocked, at=later, freshness=Freshness(max_age=dt.timedelta(hours=1))
        )
    assert "stale" in last_entry(jpn).meta["reason"]
    assert counts(jpn) == before | {"audit": before["audit"] + 1}


def test_a_peer_that_refuses_gets_the_message_again_later(pinned, world):
    kor, jpn = pinned
    sent = release(kor, jpn, world)
    jpn.service(Peers).remove("KOR", at=AT)  # JPN no longer trusts KOR: it refuses, with no receipt
    transport = InProcessTransport({"JPN": receiver(jpn, world)})
    result = kor.service(Outbox).deliver("JPN", transport, node=kor.unlocked, at=LATER)
    assert (result.sent, result.delivered, result.failed) == (1, 0, 1)
    assert state_of(kor, sent.id) is ReleaseState.QUEUED
    (status,) = [s for s in kor.service(Peers).status() if s.peer == "JPN"]
    assert (status.pending, status.last_error) == (1, "no receipt returned")
    jpn.service(Peers).add(export_descriptor(kor.unlocked), at=AT)  # the operators fix the pin
    later = LATER + dt.timedelta(hours=2)
    assert kor.service(Outbox).deliver("JPN", transport, node=kor.unlocked, at=later).delivered == 1
    assert state_of(kor, sent.id) is ReleaseState.DELIVERED


def test_obligations_travel_in_envelopes_and_a_misaddressed_one_is_refused_back(pinned, world):
    kor, jpn = pinned
    jpn_obligations = jpn.service(Obligations)
    report = jpn_obligations.report_compromise(
        ReportRequest(record_id="KOR-r1", kind="compromise", details="seen on a screen", originator="KOR"),
        world=world, keys=jpn.unlocked, at=AT,
    )  # fmt: skip
    wrong = jpn_obligations.report_compromise(
        ReportRequest(record_id="USA-r1", kind="loss", details="left on a train", originator="USA"),
        world=world, keys=jpn.unlocked, at=AT,
    )  # fmt: skip
    outbox = jpn.service(Outbox)
    sent = outbox.queue_obligation("compromise-report", report.id, to="KOR", node=jpn.unlocked, at=AT)
    assert sent.precedence is Precedence.FLASH  # reported at once
    outbox.queue_obligation("compromise-report", wrong.id, to="KOR", node=jpn.unlocked, at=AT)
    with pytest.raises(UnknownReferenceError):
        outbox.queue_obligation("compromise-report", report.id, to="USA", node=jpn.unlocked, at=AT)
    kor_inbound = InProcessTransport(
        {"KOR": lambda data: kor.service(Inbound).accept(data, world=world, node=kor.unlocked, at=LATER).receipt}
    )
    result = outbox.deliver("KOR", kor_inbound, node=jpn.unlocked, at=LATER)
    assert (result.delivered, result.refused) == (1, 1)
    held = kor.service(Obligations).reports()
    assert [r.report.value.id for r in held] == [report.id]
    refusals = [e for e in map(AuditEntry.from_bytes, _entries(kor)) if e.meta.get("outcome") == "refused"]
    assert [e.meta["action"] for e in refusals] == ["compromise-report.import"]
    assert "is for USA" in str(refusals[0].meta["reason"])


VIA_HUB = dt.date(2015, 6, 1)  # only TISA: KOR > USA > JPN


def test_a_hub_relays_a_release_onward_keeping_the_originators_signature(pinned, world, tmp_path):
    kor, jpn = pinned
    usa = make(tmp_path, "USA")
    for a, b in ((kor, usa), (usa, kor), (usa, jpn), (jpn, usa)):
        a.service(Peers).add(export_descriptor(b.unlocked), at=AT)
    draft = records.RecordDraft(
        title="DPRK launch",
        topics=("dprk-missile",),
        portions=(records.parse_portion("KOR/MIL-II:JPN,USA:launch at 05:10 from Sohae"),),
        purpose="warning",
        precedence="IMMEDIATE",
    )
    record = kor.service(records.Records).create(draft, world=world, passphrase=None, node=kor.unlocked, at=AT)
    request = ReleaseRequest(record_id=record.id, recipient="JPN", on=VIA_HUB)
    (outcome,) = kor.service(Releases).release_many(
        [request], world=world, node=kor.unlocked, next_hops=kor.service(Peers).next_hops(), at=AT
    )
    assert outcome.decision.route == ("KOR", "USA", "JPN")
    hub = InProcessTransport(
        {"USA": lambda d: usa.service(Inbound).accept(d, world=world, node=usa.unlocked, at=LATER).receipt}
    )
    assert kor.service(Outbox).deliver("USA", hub, node=kor.unlocked, at=LATER).delivered == 1
    with usa.db.transaction("read") as session:
        assert list(SqlReleaseStore(session).list()) == []  # the hub keeps no copy
    onward = InProcessTransport({"JPN": receiver(jpn, world)})
    assert usa.service(Outbox).deliver("JPN", onward, node=usa.unlocked, at=LATER).delivered == 1
    assert state_of(jpn, outcome.release.id) is ReleaseState.RECEIVED
    with jpn.db.transaction("read") as session:
        held = SqlReleaseStore(session).get(outcome.release.id)
    assert (held.sender, held.route) == ("KOR", ("KOR", "USA", "JPN"))
    usa.db.close()


def test_a_hub_refuses_to_relay_what_it_cannot_open(pinned, world, tmp_path):
    kor, jpn = pinned
    usa = make(tmp_path, "USA")
    for a, b in ((kor, usa), (usa, kor), (usa, jpn)):
        a.service(Peers).add(export_descriptor(b.unlocked), at=AT)
    sent = release(kor, jpn, world)  # direct KOR > JPN, sealed for JPN
    with kor.db.transaction("read") as session:
        message = SqlReleaseStore(session).get(sent.id).envelope
    # A direct release sealed for JPN, readdressed to USA as if USA were its hub.
    original = ReleaseMessage.from_bytes(message)
    assert original.recipient == "JPN"
    envelope = new_envelope(
        MessageType.RELEASE,
        {"message": dataclasses.replace(original, recipient="USA").to_dict(), "originator": "KOR", "recipient": "JPN"},
        sender="KOR", recipient="USA", at=LATER, keys=kor.unlocked.keys, agreement=original.agreement,
    )  # fmt: skip
    accepted = usa.service(Inbound).accept(envelope.to_bytes(), world=world, node=usa.unlocked, at=LATER)
    assert accepted.outcome == "refused"
    refusal = last_entry(usa)
    assert (refusal.meta["action"], refusal.meta["outcome"]) == ("release.relay", "refused")
    assert "does not open" in refusal.meta["reason"]
    with usa.db.transaction("read") as session:
        assert SqlFederationStore(session).pending("JPN") == []
    usa.db.close()
