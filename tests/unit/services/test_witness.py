"""Checkpoint witnessing between two real node homes, in process: co-signed heads, a forked log's alarm.

KOR's database runs on SQLite and PostgreSQL, JPN's on SQLite. The fork is a second
database under KOR's own identity (the same keys), whose log shares nothing or only
a prefix with the one JPN saw: exactly what a node rewriting its history would send.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest

from accord.audit.checkpoint import Checkpoint
from accord.audit.entry import AuditEntry, EntryKind
from accord.audit.merkle import MerkleTree
from accord.canonical import canonical_bytes
from accord.crypto import CompositeSigner
from accord.errors import UnknownReferenceError, ValidationError
from accord.federation.delivery import InProcessTransport
from accord.federation.messages import Envelope, MessageType, new_envelope
from accord.federation.witness import AlarmKind, Cosignature, cosign
from accord.services import audit, node
from accord.services._database import Database
from accord.services.audit import AuditLog
from accord.services.inbound import Inbound
from accord.services.outbox import Outbox
from accord.services.peers import Peers, export_descriptor
from accord.services.witness import Witness
from accord.services.world import init_node, read_world
from accord.storage.federation import OutboxState
from accord.storage.sql import SqlAuditStore, SqlFederationStore, SqlWitnessStore
from tests.unit.services.conftest import PASSPHRASE

AT = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def t(minutes):
    return AT + dt.timedelta(minutes=minutes)


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


@pytest.fixture
def kor(tmp_path, database_url):
    home = tmp_path / "home"
    node.create_identity(home=home, party="KOR", passphrase=PASSPHRASE, at=AT, unsafe_fast_kdf=True)
    n = Node(home, Database(database_url=database_url), node.unlock(home, PASSPHRASE, unsafe_fast_kdf=True))
    yield n
    n.db.close()


@pytest.fixture
def jpn(tmp_path):
    home, url = tmp_path / "jpn", f"sqlite:///{tmp_path / 'jpn.db'}"
    init_node(home=home, database_url=url)
    node.create_identity(home=home, party="JPN", passphrase=PASSPHRASE, at=AT, unsafe_fast_kdf=True)
    n = Node(home, Database(database_url=url), node.unlock(home, PASSPHRASE, unsafe_fast_kdf=True))
    yield n
    n.db.close()


@pytest.fixture
def pinned(kor, jpn):
    kor.service(Peers).add(export_descriptor(jpn.unlocked), at=AT)
    jpn.service(Peers).add(export_descriptor(kor.unlocked), at=AT)
    return kor, jpn


def deliver(sender, receiver, world, at):
    """Deliver everything ``sender`` has queued for ``receiver``, as the in-process transport does."""

    def accept(data):
        return receiver.service(Inbound).accept(data, world=world, node=receiver.unlocked, at=at).receipt

    party = receiver.unlocked.identity.party
    return sender.service(Outbox).deliver(party, InProcessTransport({party: accept}), node=sender.unlocked, at=at)


def round_trip(kor, jpn, world, at):
    """KOR sends a checkpoint to JPN, JPN's cosignature comes back; the checkpoint sent."""
    sent = kor.service(Witness).send(kor.unlocked, at=at)
    there = deliver(kor, jpn, world, at)
    assert (there.delivered, there.refused) == (1, 0)
    back = deliver(jpn, kor, world, at)
    assert (back.delivered, back.refused) == (1, 0)
    return sent.checkpoint


def peer_status(n, party):
    (found,) = [p for p in n.service(Witness).status().peers if p.peer == party]
    return found


def entries(n):
    with n.db.transaction("read") as session:
        return [AuditEntry.from_bytes(e) for e in SqlAuditStore(session).entries()]


def grow(n, count, at, word="filler"):
    with n.db.transaction("grow the log") as session:
        for i in range(count):
            audit.append(session, kind=EntryKind.MESSAGE, actor="KOR", at=at, meta={"action": f"{word}.{i}"})


def test_checkpoints_are_cosigned_and_each_new_one_proven_an_extension(pinned, world):
    kor, jpn = pinned
    first = round_trip(kor, jpn, world, t(1))
    seen = peer_status(jpn, "KOR").seen
    assert (seen.size, seen.root) == (first.size, first.root)
    cosigned = peer_status(kor, "JPN").cosigned
    assert (cosigned.size, cosigned.root) == (first.size, first.root)
    kept = Cosignature.from_dict(json.loads(cosigned.cosignature))
    assert (kept.witness, kept.checkpoint) == ("JPN", first)

    grow(kor, 5, t(2))
    second = round_trip(kor, jpn, world, t(3))
    assert second.size > first.size
    assert peer_status(jpn, "KOR").seen.size == second.size
    assert peer_status(kor, "JPN").cosigned.size == second.size
    assert kor.service(Witness).status().open_alarms == ()
    assert jpn.service(Witness).status().open_alarms == ()
    assert [e.meta["action"] for e in entries(jpn) if e.kind is EntryKind.WITNESS] == ["checkpoint.cosign"] * 2
    kept_here = [e.meta["action"] for e in entries(kor) if e.kind is EntryKind.WITNESS]
    assert kept_here == ["checkpoint.send", "cosignature.keep"] * 2
    # Both logs, checkpoints included, still verify.
    assert AuditLog(database=kor.db, home=kor.home).verify().checkpoints == (first.size, second.size)
    assert AuditLog(database=jpn.db, home=jpn.home).verify().entries == len(entries(jpn))


def test_a_head_seen_before_its_cosignature_came_back_is_still_proven(pinned, world):
    kor, jpn = pinned
    first = kor.service(Witness).send(kor.unlocked, at=t(1)).checkpoint
    assert deliver(kor, jpn, world, t(1)).delivered == 1  # JPN saw it; its cosignature waits in JPN's outbox
    second = kor.service(Witness).send(kor.unlocked, at=t(2)).checkpoint
    envelope = _last_checkpoint_message(kor)
    assert first.size in {p["from_size"] for p in envelope.body["proofs"]}
    assert deliver(kor, jpn, world, t(2)).delivered == 1
    assert peer_status(jpn, "KOR").seen.size == second.size
    assert deliver(jpn, kor, world, t(3)).delivered == 2
    with kor.db.transaction("read") as session:
        assert [c.size for c in SqlWitnessStore(session).cosignatures(witness="JPN")] == [first.size, second.size]


def _last_checkpoint_message(n):
    with n.db.transaction("read") as session:
        items = SqlFederationStore(session).created_since("JPN", "2000-01-01T00:00:00.000000Z")
    return Envelope.from_bytes([i for i in items if i.type == "checkpoint"][-1].envelope)


@pytest.fixture
def forged_kor(tmp_path, kor):
    """KOR's identity over another database: a rewritten log signed with KOR's real keys."""
    url = f"sqlite:///{tmp_path / 'fork.db'}"
    init_node(home=tmp_path / "unused", database_url=url)
    n = Node(kor.home, Database(database_url=url), kor.unlocked)
    yield n
    n.db.close()


def sign_checkpoint_at_size(n, size, at):
    """A checkpoint of the first ``size`` entries of ``n``'s log, signed with its keys (as `audit checkpoint`)."""
    with n.db.transaction("checkpoint") as session:
        store = SqlAuditStore(session)
        tree = MerkleTree()
        tree.extend_packed(store.leaf_hashes_packed())
        made = Checkpoint(origin="KOR", size=size, root=tree.root(size).hex(), at=audit.iso(at))
        signature = CompositeSigner(n.unlocked.keys).sign(made.signed_bytes())
        store.add_checkpoint(made, canonical_bytes(signature.to_dict()))


@pytest.mark.parametrize(
    ("extra", "own_proof", "kind"),
    [(40, True, AlarmKind.INCONSISTENT), (40, False, AlarmKind.UNPROVEN), (0, False, AlarmKind.SHRANK)],
    ids=["rewritten-with-its-own-proof", "rewritten-without-proof", "truncated"],
)
def test_a_forked_log_raises_an_alarm_and_the_head_stays(pinned, forged_kor, world, jpn, extra, own_proof, kind):
    kor, _ = pinned
    grow(kor, 10, t(1))
    honest = round_trip(kor, jpn, world, t(2))
    forged_kor.service(Peers).add(export_descriptor(jpn.unlocked), at=t(3))
    grow(forged_kor, extra, t(3), word="rewritten")
    if own_proof:  # the fork signed a head of the size JPN saw: its proof from there is valid for the fork only
        sign_checkpoint_at_size(forged_kor, honest.size, t(3))
    claimed = forged_kor.service(Witness).send(forged_kor.unlocked, at=t(4)).checkpoint
    sent = _last_checkpoint_message(forged_kor)
    assert (honest.size in {p["from_size"] for p in sent.body["proofs"]}) is own_proof
    result = deliver(forged_kor, jpn, world, t(4))
    assert (result.delivered, result.refused) == (0, 1)  # refused, reported back

    status = peer_status(jpn, "KOR")
    assert (status.seen.size, status.seen.root) == (honest.size, honest.root)  # not advanced
    (alarm,) = jpn.service(Witness).status().open_alarms
    assert (alarm.peer, alarm.kind, alarm.seen_size, alarm.claimed_size) == ("KOR", kind, honest.size, claimed.size)
    with jpn.db.transaction("read") as session:
        stored = SqlWitnessStore(session).alarms()[0]
        assert SqlFederationStore(session).pending("KOR") == []  # no cosignature queued
    evidence = json.loads(stored.evidence)
    assert evidence["seen"]["checkpoint"]["root"] == honest.root
    assert evidence["claimed"]["checkpoint"]["root"] == claimed.root
    last = entries(jpn)[-1]
    assert (last.kind, last.meta["action"], last.meta["kind"]) == (EntryKind.WITNESS, "witness.alarm", kind.value)

    # The honest log goes on being co-signed; the alarm stays open until resolved.
    grow(kor, 2, t(5))
    assert round_trip(kor, jpn, world, t(6)).size > honest.size
    assert len(jpn.service(Witness).status().open_alarms) == 1
    resolved = jpn.service(Witness).resolve(alarm.id, note="KOR restored from backup; checked by phone", at=t(7))
    assert not resolved.open
    assert jpn.service(Witness).status().open_alarms == ()
    assert entries(jpn)[-1].meta["action"] == "witness.resolve"


def test_the_same_size_with_another_root_is_a_fork(pinned, forged_kor, world, jpn):
    kor, _ = pinned
    honest = round_trip(kor, jpn, world, t(1))
    forged_kor.service(Peers).add(export_descriptor(jpn.unlocked), at=t(2))
    with forged_kor.db.transaction("count") as session:
        have = SqlAuditStore(session).count()
    grow(forged_kor, honest.size - have, t(2), word="other")
    assert forged_kor.service(Witness).send(forged_kor.unlocked, at=t(3)).checkpoint.size == honest.size
    assert deliver(forged_kor, jpn, world, t(3)).refused == 1
    (alarm,) = jpn.service(Witness).status().open_alarms
    assert alarm.kind is AlarmKind.FORKED


def test_a_cosignature_of_a_head_never_signed_here_is_refused(pinned, world):
    kor, jpn = pinned
    honest = round_trip(kor, jpn, world, t(1))
    made_up = dataclasses.replace(honest, root="0" * 64)
    bogus = cosign(made_up, witness="JPN", at=t(2), keys=jpn.unlocked.keys)
    envelope = new_envelope(
        MessageType.COSIGNATURE, {"cosignature": bogus.to_dict()}, sender="JPN", recipient="KOR", at=t(2),
        keys=jpn.unlocked.keys,
    )  # fmt: skip
    accepted = kor.service(Inbound).accept(envelope.to_bytes(), world=world, node=kor.unlocked, at=t(2))
    assert accepted.outcome == "refused"
    assert _cosigned_sizes(kor) == [honest.size]
    assert entries(kor)[-1].meta["reason"].startswith("cosignature of a head")


def _cosigned_sizes(n):
    with n.db.transaction("read") as session:
        return [c.size for c in SqlWitnessStore(session).cosignatures()]


def test_a_checkpoint_again_changes_nothing_and_a_malformed_one_is_refused(pinned, world):
    kor, jpn = pinned
    kor.service(Witness).send(kor.unlocked, at=t(1))
    data = _last_checkpoint_message(kor).to_bytes()
    inbound = jpn.service(Inbound)
    first = inbound.accept(data, world=world, node=jpn.unlocked, at=t(1))
    before = len(entries(jpn))
    again = inbound.accept(data, world=world, node=jpn.unlocked, at=t(2))
    assert (first.outcome, again.new, again.receipt) == ("accepted", False, first.receipt)
    assert len(entries(jpn)) == before
    with jpn.db.transaction("read") as session:
        assert [i.type for i in SqlFederationStore(session).pending("KOR")] == ["cosignature"]

    broken = new_envelope(
        MessageType.CHECKPOINT, {"checkpoint": {}}, sender="KOR", recipient="JPN", at=t(3), keys=kor.unlocked.keys
    )
    refused = inbound.accept(broken.to_bytes(), world=world, node=jpn.unlocked, at=t(3))
    assert refused.outcome == "refused"
    assert entries(jpn)[-1].meta["action"] == "checkpoint.witness"
    with jpn.db.transaction("read") as session:
        assert SqlWitnessStore(session).alarms() == []


def test_sending_needs_a_pinned_peer(kor, jpn):
    with pytest.raises(ValidationError, match="no peer is pinned"):
        kor.service(Witness).send(kor.unlocked, at=t(1))
    kor.service(Peers).add(export_descriptor(jpn.unlocked), at=AT)
    with pytest.raises(UnknownReferenceError, match="USA is not a pinned peer"):
        kor.service(Witness).send(kor.unlocked, to="usa", at=t(1))
    sent = kor.service(Witness).send(kor.unlocked, to="jpn", at=t(1))
    assert sent.peers == ("JPN",)
    assert sent.new
    with kor.db.transaction("read") as session:
        (item,) = [i for i in SqlFederationStore(session).pending("JPN") if i.type == "checkpoint"]
    assert item.state is OutboxState.PENDING
    env = Envelope.from_bytes(item.envelope)
    assert len(env.signatures) == 2  # long-lived: Ed25519 and ML-DSA-65
    assert env.body["proofs"] == []
