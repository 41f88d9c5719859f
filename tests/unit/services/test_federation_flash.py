"""A FLASH sealed while a ROUTINE batch is at the peer goes at once, beside that batch.

The same two real node homes as ``test_federation`` (KOR on SQLite and PostgreSQL, JPN
on SQLite), ``Inbound.accept_many`` behind ``InProcessTransport`` batch receivers. The
receiver holds the first ROUTINE batch until the FLASH released meanwhile has arrived
(or a generous timeout passes): the run must notice the FLASH while it waits, not after
the batch is answered. Exactly-once and every receipt still hold.
"""

# ruff: noqa: F811 - the fixtures imported from test_federation are parameters here

from __future__ import annotations

import threading

from accord.federation.delivery import InProcessTransport
from accord.services._flash_watch import FlashWatch
from accord.services.outbox import Outbox
from accord.storage.sql import SqlFederationStore
from accord.storage.values import ReleaseState
from tests.unit.services.test_federation import (  # noqa: F401 - the fixtures come with their module
    LATER,
    counts,
    jpn,
    kor,
    make,
    pinned,
    release,
    state_of,
    world,
)
from tests.unit.services.test_federation_batch import batch_receiver

_PATIENCE = 60.0  # seconds: far above what the FLASH needs even on a loaded machine


def test_a_flash_sealed_while_a_batch_is_at_the_peer_goes_beside_it(pinned, world):
    kor, jpn = pinned
    backlog = [release(kor, jpn, world) for _ in range(4)]
    flashes = []
    arrived = threading.Event()
    held: list[bool] = []
    accept_many = batch_receiver(jpn, world)

    def receive(datas):
        if any(f.id.encode() in d for f in flashes for d in datas):
            arrived.set()
        elif backlog[0].id.encode() in datas[0]:
            flashes.append(release(kor, jpn, world, precedence="FLASH"))
            held.append(arrived.wait(_PATIENCE))  # the first batch is answered only once the FLASH is in
        return accept_many(datas)

    transport = InProcessTransport({}, batch_receivers={"JPN": receive})
    result = kor.service(Outbox).deliver("JPN", transport, node=kor.unlocked, at=LATER, batch_size=2)
    assert held == [True]  # the FLASH arrived while the first ROUTINE batch was still at JPN
    assert (result.sent, result.delivered, result.refused, result.failed) == (5, 5, 0, 0)
    for r in [*backlog, *flashes]:
        assert state_of(kor, r.id) is ReleaseState.DELIVERED
    assert counts(jpn)["releases"] == 5  # each stored once at JPN
    with kor.db.transaction("read") as session:
        assert list(SqlFederationStore(session).pending("JPN")) == []


def test_without_a_flash_a_run_sends_its_batches_in_order(pinned, world):
    kor, jpn = pinned
    backlog = [release(kor, jpn, world) for _ in range(5)]
    transport = InProcessTransport({}, batch_receivers={"JPN": batch_receiver(jpn, world)})
    result = kor.service(Outbox).deliver("JPN", transport, node=kor.unlocked, at=LATER, batch_size=2)
    assert (result.sent, result.delivered) == (5, 5)
    ids = [next(r.id for r in backlog if r.id.encode() in data) for _, data in transport.sent]
    assert ids == [r.id for r in backlog]


def test_two_sweeps_at_once_queue_each_sealed_release_once(pinned, world):
    kor, jpn = pinned
    sealed = [release(kor, jpn, world) for _ in range(6)]
    counted: list[int] = []
    start = threading.Barrier(2)

    def sweep():
        start.wait(_PATIENCE)
        counted.append(kor.service(Outbox).sweep(kor.unlocked, at=LATER))

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(_PATIENCE)
    assert sum(counted) == 6  # envelopes are signed outside the transaction, queued once each
    with kor.db.transaction("read") as session:
        assert len(SqlFederationStore(session).pending("JPN")) == 6
    assert [state_of(kor, r.id) for r in sealed] == [ReleaseState.QUEUED] * 6


def test_the_watch_counts_each_newly_sealed_flash_once(pinned, world):
    kor, jpn = pinned
    release(kor, jpn, world)
    watch = FlashWatch(kor.db, peer="JPN", sender="KOR", at=LATER)
    assert watch.due() is None  # nothing added since it started
    release(kor, jpn, world)
    assert watch.due() is None  # a ROUTINE release is not its business
    release(kor, jpn, world, precedence="FLASH")
    release(kor, jpn, world, precedence="FLASH")
    assert watch.due() == 2
    assert watch.due() is None  # counted once
    assert kor.service(Outbox).sweep(kor.unlocked, at=LATER, limit=1) == 1  # one FLASH queued, due
    assert watch.due() == 0  # a FLASH item is due in the outbox: send, nothing to sweep
