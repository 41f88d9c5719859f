"""The hub's own decision refuses a release outside its arrangement's scope (issue 5, item 4).

KOR's own pipeline denies a ``maritime-security`` record to JPN on a date when only
TISA links them (TISA covers the North Korean nuclear and missile threats only), so the
hub's check is never reached that way. Here KOR skips its own decision: it signs and
seals the record with the decision made for the same record on ``dprk-missile``
(KOR > USA > JPN, TISA's real fingerprint inside) and queues it to USA. USA re-decides
with its own world and refuses: a signed receipt that says only "refused", the reason in
USA's audit log alone, nothing queued onward, nothing of the release kept. KOR, applying
that receipt, marks its release REFUSED. The same forgery of a ``dprk-missile`` record
is relayed, so the refusal is the topic's, not the forgery's. USA runs on SQLite and
PostgreSQL; KOR and JPN on SQLite.
"""

from __future__ import annotations

import dataclasses
import hashlib

import pytest
from sqlalchemy import func, select

from accord.audit.entry import AuditEntry, EntryKind
from accord.canonical import canonical_bytes
from accord.crypto import Ed25519Signer, NodePublicKeys
from accord.domain.record import Record
from accord.federation.delivery import InProcessTransport
from accord.federation.messages import Envelope, MessageType
from accord.policy.engine import decide
from accord.services import audit, node, records
from accord.services._database import Database
from accord.services._release_message import ReleaseMessage, text_body
from accord.services._release_steps import seal_one
from accord.services.audit import AuditLog
from accord.services.inbound import Inbound
from accord.services.outbox import Outbox, read_receipt
from accord.services.peers import Peers, export_descriptor
from accord.services.releases import ReleaseRequest, Releases
from accord.services.world import read_world
from accord.storage.federation import ReceiptOutcome, stamp
from accord.storage.sql import SqlAuditStore, SqlFederationStore, SqlReleaseStore
from accord.storage.sql.node_tables import NODE_TABLES
from accord.storage.values import ReleaseState
from tests.unit.services.conftest import PASSPHRASE
from tests.unit.services.test_federation import AT, LATER, VIA_HUB, Node, make, state_of

OTHER_TOPIC = "maritime-security"  # a topic of the demo world, outside TISA's scope
TEXT = "two patrol boats crossed the line at 05:10"
OUTSIDE_TISA = f"topic {OTHER_TOPIC} is outside TISA"


def draft(topic: str) -> records.RecordDraft:
    return records.RecordDraft(
        title="Coastal movement",
        topics=(topic,),
        portions=(records.parse_portion(f"KOR/MIL-II:JPN,USA:{TEXT}"),),
        purpose="warning",
    )


def forge(kor: Node, record: Record, *, world, hub: NodePublicKeys, at) -> str:
    """Seal ``record`` to JPN through USA as if KOR's own decision had permitted it; queue it; the release id.

    The decision sealed is the one for the same record on ``dprk-missile``: permitted,
    KOR > USA > JPN under TISA. Everything after it is the honest pipeline's own
    recipe (``seal_one``: content, originator signature, HPKE seal for the hub, the
    release and its audit entry) and the outbox's sweep.
    """
    twin = dataclasses.replace(record, topics=frozenset({"dprk-missile"}))
    decision = decide(twin, "JPN", on=VIA_HUB, world=world)
    assert decision.route == ("KOR", "USA", "JPN")
    assert decision.via == ("TISA", world.agreement("TISA").fingerprint)  # TISA's real fingerprint
    bodies = {p.id: text_body(TEXT) for p in record.portions}
    release, _, entry = seal_one(
        record,
        decision,
        bodies,
        attachments=(),
        signer=Ed25519Signer(kor.unlocked.keys),
        next_hops={"USA": hub},
        party="KOR",
        at=at,
    )
    with kor.db.transaction("store the forged release") as session:
        SqlReleaseStore(session).add_many([release])
        audit.append_many(session, [entry])
    assert kor.service(Outbox).sweep(kor.unlocked, at=at) == 1
    return release.id


def row_counts(n: Node) -> dict[str, int]:
    with n.db.transaction("count") as session:
        return {t.name: session.execute(select(func.count()).select_from(t)).scalar_one() for t in NODE_TABLES}


def audit_entries(n: Node) -> list[AuditEntry]:
    with n.db.transaction("read") as session:
        return [AuditEntry.from_bytes(e) for e in SqlAuditStore(session).entries()]


@pytest.fixture
def usa(tmp_path, database_url):
    home = tmp_path / "home"
    node.create_identity(home=home, party="USA", passphrase=PASSPHRASE, at=AT, unsafe_fast_kdf=True)
    n = Node(home, Database(database_url=database_url), node.unlock(home, PASSPHRASE, unsafe_fast_kdf=True))
    yield n
    n.db.close()


@pytest.fixture
def trio(tmp_path, usa):
    kor, jpn = make(tmp_path, "KOR"), make(tmp_path, "JPN")
    for a, b in ((kor, usa), (usa, kor), (usa, jpn), (jpn, usa), (jpn, kor)):
        a.service(Peers).add(export_descriptor(b.unlocked), at=AT)
    yield kor, usa, jpn
    for n in (kor, jpn):
        n.db.close()


@pytest.fixture(scope="module")
def world():
    return read_world()


def hub_answers(usa: Node, world, answered: list):
    def accept(data: bytes) -> bytes | None:
        accepted = usa.service(Inbound).accept(data, world=world, node=usa.unlocked, at=LATER)
        answered.append((data, accepted))
        return accepted.receipt

    return InProcessTransport({"USA": accept})


def test_the_forgery_itself_is_relayed_on_a_topic_tisa_covers(trio, world):
    kor, usa, _ = trio
    record = kor.service(records.Records).create(
        draft("dprk-missile"), world=world, passphrase=None, node=kor.unlocked, at=AT
    )
    release_id = forge(kor, record, world=world, hub=usa.unlocked.identity.public, at=AT)
    answered: list = []
    delivery = kor.service(Outbox).deliver("USA", hub_answers(usa, world, answered), node=kor.unlocked, at=LATER)
    assert (delivery.delivered, delivery.refused) == (1, 0)
    assert state_of(kor, release_id) is ReleaseState.DELIVERED
    with usa.db.transaction("read") as session:
        (onward,) = SqlFederationStore(session).pending("JPN")
    message = ReleaseMessage.from_bytes(canonical_bytes(Envelope.from_bytes(onward.envelope).body["message"]))
    assert (message.release_id, message.sender, message.recipient) == (release_id, "USA", "JPN")


def test_a_release_outside_tisa_is_refused_at_the_hub(trio, world):
    kor, usa, jpn = trio
    record = kor.service(records.Records).create(
        draft(OTHER_TOPIC), world=world, passphrase=None, node=kor.unlocked, at=AT
    )

    # The honest sender refuses first: the hub's own check is never reached that way.
    (honest,) = kor.service(Releases).release_many(
        [ReleaseRequest(record_id=record.id, recipient="JPN", on=VIA_HUB)],
        world=world,
        node=kor.unlocked,
        next_hops=kor.service(Peers).next_hops(),
        at=AT,
    )
    assert honest.release is None
    assert any(OUTSIDE_TISA in r for r in honest.decision.reasons)

    release_id = forge(kor, record, world=world, hub=usa.unlocked.identity.public, at=AT)
    before = row_counts(usa)
    answered: list = []
    delivery = kor.service(Outbox).deliver("USA", hub_answers(usa, world, answered), node=kor.unlocked, at=LATER)
    assert (delivery.sent, delivery.delivered, delivery.refused, delivery.failed) == (1, 0, 1, 0)

    # At the hub: a signed receipt that says "refused" and nothing more.
    ((sent, accepted),) = answered
    assert (accepted.outcome, accepted.new) == (ReceiptOutcome.REFUSED, True)
    with kor.db.transaction("read") as session:
        receipt = read_receipt(session, accepted.receipt, me="KOR", at=LATER)  # USA's pinned keys verify it
    assert (receipt.type, receipt.sender, receipt.recipient) == (MessageType.RECEIPT, "USA", "KOR")
    assert receipt.body == {
        "of": Envelope.from_bytes(sent).id,
        "digest": hashlib.sha256(sent).hexdigest(),
        "outcome": "refused",
    }
    for word in (OTHER_TOPIC, "TISA", "scope", TEXT):
        assert word.encode() not in accepted.receipt  # opaque: the reason stays at the hub

    # The reason is in the hub's audit log, which still verifies.
    refusal = audit_entries(usa)[-1]
    assert (refusal.kind, refusal.meta["action"], refusal.meta["outcome"]) == (
        EntryKind.RELEASE,
        "release.relay",
        "refused",
    )
    assert OUTSIDE_TISA in str(refusal.meta["reason"])
    assert "KOR-JPN-GSOMIA" not in str(refusal.meta["reason"])  # the direct route is not why a hub refuses
    assert (record.id, release_id) == tuple(refusal.subjects)
    assert TEXT.encode() not in refusal.to_bytes()
    assert AuditLog(database=usa.db, home=usa.home).verify().entries == len(audit_entries(usa))

    # Nothing queued onward, nothing of the release kept: the audit entry, and the
    # message id with its answer (so that a resend gets the same receipt).
    after = row_counts(usa)
    assert after == before | {
        "audit_entries": before["audit_entries"] + 1,
        "seen_messages": before["seen_messages"] + 1,
    }
    assert after["outbox"] == after["releases"] == after["records"] == 0
    with usa.db.transaction("read") as session:
        seen = SqlFederationStore(session).seen(Envelope.from_bytes(sent).id)
    assert seen is not None
    assert (seen.outcome, seen.receipt) == (ReceiptOutcome.REFUSED, accepted.receipt)
    again = usa.service(Inbound).accept(sent, world=world, node=usa.unlocked, at=LATER)
    assert (again.new, again.receipt) == (False, accepted.receipt)
    assert row_counts(usa) == after

    # At the sender: the receipt applied, the release REFUSED; JPN never heard of it.
    assert state_of(kor, release_id) is ReleaseState.REFUSED
    with kor.db.transaction("read") as session:
        (item,) = SqlFederationStore(session).created_since("USA", stamp(AT))
        kept = SqlFederationStore(session).receipt_for(item.id)
    assert kept is not None
    assert (kept.outcome, kept.envelope) == (ReceiptOutcome.REFUSED, accepted.receipt)
    assert (audit_entries(kor)[-1].meta["action"], audit_entries(kor)[-1].meta["outcome"]) == (
        "delivery.receipt",
        "refused",
    )
    assert row_counts(jpn)["releases"] == row_counts(jpn)["seen_messages"] == 0
