"""Batch delivery: ``Inbound.accept_many`` behind ``InProcessTransport`` batch receivers.

The same two real node homes as ``test_federation`` (KOR on SQLite and PostgreSQL, JPN
on SQLite). A batch stores its accepted releases together, yet each message keeps its
own checks: a refused one stores nothing but its audit entry, a repeat changes nothing.
"""

# ruff: noqa: F811 - the fixtures imported from test_federation are parameters here

from __future__ import annotations

from accord.audit.entry import AuditEntry, EntryKind
from accord.federation.delivery import InProcessTransport
from accord.services.audit import AuditLog
from accord.services.inbound import Inbound
from accord.services.outbox import Outbox, read_receipt
from accord.storage.federation import ReceiptOutcome
from accord.storage.sql import SqlFederationStore
from accord.storage.values import ReleaseState
from tests.unit.services.test_federation import (  # noqa: F401 - the fixtures come with their module
    LATER,
    REFUSALS,
    _entries,
    counts,
    jpn,
    kor,
    make,
    pinned,
    release,
    state_of,
    world,
)


def batch_receiver(jpn, world):
    def accept_many(datas):
        results = jpn.service(Inbound).accept_many(datas, world=world, node=jpn.unlocked, at=LATER)
        return [a.receipt if a is not None else None for a in results]

    return accept_many


def queued(kor):
    kor.service(Outbox).sweep(kor.unlocked, at=LATER)
    with kor.db.transaction("read") as session:
        return [item.envelope for item in SqlFederationStore(session).pending("JPN")]


def test_a_batch_is_stored_together_and_each_refusal_stores_only_its_entry(pinned, world):
    kor, jpn = pinned
    sent = [release(kor, jpn, world) for _ in range(3)]
    one, two, three = queued(kor)
    before = counts(jpn)
    batch = [one, REFUSALS["forged-signature"](kor), two, one, three, REFUSALS["for-another-node"](kor)]
    results = jpn.service(Inbound).accept_many(batch, world=world, node=jpn.unlocked, at=LATER)
    assert [r is not None for r in results] == [True, False, True, True, True, False]
    assert [r.new for r in results if r is not None] == [True, True, False, True]
    assert results[0].receipt == results[3].receipt  # the repeat gets the same receipt
    assert {r.release_id for r in results if r is not None and r.new} == {s.id for s in sent}
    after = counts(jpn)
    assert (after["releases"], after["seen_messages"]) == (before["releases"] + 3, before["seen_messages"] + 3)
    assert (after["outbox"], after["receipts"]) == (before["outbox"], before["receipts"])
    assert after["audit"] == before["audit"] + 3 + 2  # three received, two refused
    entries = [AuditEntry.from_bytes(e) for e in _entries(jpn)[before["audit"] :]]
    refused = [e for e in entries if e.meta.get("outcome") == "refused"]
    assert [e.kind for e in refused] == [EntryKind.MESSAGE, EntryKind.MESSAGE]
    assert all(e.meta["reason"] for e in refused)
    for result in results:
        if result is not None:
            with kor.db.transaction("read") as session:
                receipt = read_receipt(session, result.receipt, me="KOR", at=LATER)
            assert receipt.body["outcome"] == ReceiptOutcome.ACCEPTED.value
    # The same batch again changes nothing but the two refusals' entries.
    again = jpn.service(Inbound).accept_many(batch, world=world, node=jpn.unlocked, at=LATER)
    assert [a.receipt if a else None for a in again] == [r.receipt if r else None for r in results]
    assert counts(jpn) == after | {"audit": after["audit"] + 2}
    for s in sent:
        assert state_of(jpn, s.id) is ReleaseState.RECEIVED


def test_batch_delivery_settles_every_release_and_both_logs_verify(pinned, world, tmp_path):
    kor, jpn = pinned
    stranger = make(tmp_path, "USA")
    good = [release(kor, jpn, world) for _ in range(4)]
    bad = release(kor, jpn, world, next_hop=stranger.unlocked.identity.public)  # sealed to the wrong keys
    flash = release(kor, jpn, world, precedence="FLASH")
    stranger.db.close()
    transport = InProcessTransport({}, batch_receivers={"JPN": batch_receiver(jpn, world)})
    result = kor.service(Outbox).deliver("JPN", transport, node=kor.unlocked, at=LATER, batch_size=3)
    assert (result.sent, result.delivered, result.refused, result.failed) == (6, 5, 1, 0)
    assert flash.id.encode() in transport.sent[0][1]  # FLASH first, alone
    for s in [*good, flash]:
        assert state_of(kor, s.id) is ReleaseState.DELIVERED
        assert state_of(jpn, s.id) is ReleaseState.RECEIVED
    assert state_of(kor, bad.id) is ReleaseState.REFUSED
    assert counts(jpn)["releases"] == 5
    reasons = [AuditEntry.from_bytes(e).meta.get("reason", "") for e in _entries(jpn)]
    assert any("did not verify" in r for r in reasons)
    assert kor.service(Outbox).deliver("JPN", transport, node=kor.unlocked, at=LATER).sent == 0
    assert AuditLog(database=kor.db, home=kor.home).verify().entries == len(_entries(kor))
    assert AuditLog(database=jpn.db, home=jpn.home).verify().entries == len(_entries(jpn))


def test_a_sweep_queues_a_flash_sealed_behind_a_routine_backlog_first(pinned, world):
    kor, jpn = pinned
    backlog = [release(kor, jpn, world) for _ in range(3)]
    flash = release(kor, jpn, world, precedence="FLASH")
    assert kor.service(Outbox).sweep(kor.unlocked, at=LATER, limit=1) == 1
    assert state_of(kor, flash.id) is ReleaseState.QUEUED
    assert [state_of(kor, r.id) for r in backlog] == [ReleaseState.SEALED] * 3
    assert kor.service(Outbox).sweep(kor.unlocked, at=LATER, limit=2) == 2
    assert [state_of(kor, r.id) for r in backlog] == [ReleaseState.QUEUED] * 2 + [ReleaseState.SEALED]


def test_a_flash_released_during_a_run_goes_before_the_rest_of_the_run(pinned, world):
    kor, jpn = pinned
    backlog = [release(kor, jpn, world) for _ in range(6)]
    flashes = []
    accept_many = batch_receiver(jpn, world)

    def receive_and_release_a_flash(datas):
        if backlog[0].id.encode() in datas[0]:  # while the first batch is at JPN, a FLASH is released at KOR
            flashes.append(release(kor, jpn, world, precedence="FLASH"))
        return accept_many(datas)

    transport = InProcessTransport({}, batch_receivers={"JPN": receive_and_release_a_flash})
    result = kor.service(Outbox).deliver("JPN", transport, node=kor.unlocked, at=LATER, batch_size=2)
    assert (result.sent, result.delivered, result.refused, result.failed) == (7, 7, 0, 0)
    ids = [next(r.id for r in [*backlog, *flashes] if r.id.encode() in data) for _, data in transport.sent]
    # The second batch was already chosen; the FLASH goes as soon as the first comes back,
    # before the rest of the backlog.
    assert set(ids[:2]) == {r.id for r in backlog[:2]}
    assert ids.index(flashes[0].id) < min(ids.index(backlog[4].id), ids.index(backlog[5].id))
    for r in [*backlog, *flashes]:
        assert state_of(kor, r.id) is ReleaseState.DELIVERED


def test_a_run_stops_at_its_limit_and_the_next_run_takes_the_rest(pinned, world):
    kor, jpn = pinned
    sent = [release(kor, jpn, world) for _ in range(5)]
    transport = InProcessTransport({}, batch_receivers={"JPN": batch_receiver(jpn, world)})
    outbox = kor.service(Outbox)
    first = outbox.deliver("JPN", transport, node=kor.unlocked, at=LATER, batch_size=2, limit=3)
    assert (first.sent, first.delivered) == (3, 3)
    second = outbox.deliver("JPN", transport, node=kor.unlocked, at=LATER, batch_size=2, limit=3)
    assert (second.sent, second.delivered) == (2, 2)
    assert [state_of(kor, r.id) for r in sent] == [ReleaseState.DELIVERED] * 5
