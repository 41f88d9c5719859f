"""A FLASH sealed while a ROUTINE batch is at the peer goes at once, beside that batch.

The same two real node homes as ``test_federation`` (KOR on SQLite and PostgreSQL, JPN
on SQLite). KOR's real ``DeliveryLoop`` (the loop thread and the FLASH lane) posts
through ``HttpTransport`` over an ``httpx.MockTransport`` whose handler is JPN's own
``Exchange.receive``, as the route calls it. The receiver holds the first ROUTINE batch
until the FLASH released meanwhile has arrived (or a generous timeout passes): the lane
must send the FLASH while the batch waits, not after it is answered. Exactly-once and
every receipt still hold.
"""

# ruff: noqa: F811 - the fixtures imported from test_federation are parameters here

from __future__ import annotations

import datetime as dt
import threading
import time

import httpx

from accord.federation.delivery import InProcessTransport
from accord.federation.peer_client import HttpTransport
from accord.services._flash_watch import FLASH_RANKS, OTHER_RANKS, FlashWatch
from accord.services.exchange import DeliveryLoop, DeliveryOptions, Exchange
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

    def handler(request: httpx.Request) -> httpx.Response:
        body = request.content
        if any(f.id.encode() in body for f in flashes):
            arrived.set()
        elif backlog[0].id.encode() in body:
            flashes.append(release(kor, jpn, world, precedence="FLASH"))
            held.append(arrived.wait(_PATIENCE))  # the first batch is answered only once the FLASH is in
        answer = jpn.service(Exchange).receive(body, world=world, node=jpn.unlocked)
        return httpx.Response(200, content=answer)

    loop = DeliveryLoop(
        kor.service(Exchange),
        node=kor.unlocked,
        interval=0.05,
        options=DeliveryOptions(batch_size=2),
        transport=lambda: HttpTransport({}, transport=httpx.MockTransport(handler)),
    )
    loop.start()
    try:
        deadline = time.monotonic() + _PATIENCE
        while time.monotonic() < deadline and not (
            flashes and all(state_of(kor, r.id) is ReleaseState.DELIVERED for r in [*backlog, *flashes])
        ):
            time.sleep(0.02)
    finally:
        loop.stop()
    assert held == [True]  # the FLASH arrived while the first ROUTINE batch was still at JPN
    for r in [*backlog, *flashes]:
        assert state_of(kor, r.id) is ReleaseState.DELIVERED
    assert counts(jpn)["releases"] == 5  # each stored once at JPN
    with kor.db.transaction("read") as session:
        assert list(SqlFederationStore(session).pending("JPN")) == []


def test_each_lane_sends_only_its_precedences(pinned, world):
    kor, jpn = pinned
    routine, flash = release(kor, jpn, world), release(kor, jpn, world, precedence="FLASH")
    transport = InProcessTransport({}, batch_receivers={"JPN": batch_receiver(jpn, world)})
    outbox = kor.service(Outbox)
    result = outbox.deliver("JPN", transport, node=kor.unlocked, at=LATER, ranks=OTHER_RANKS)
    assert (result.sent, result.delivered) == (1, 1)
    assert (state_of(kor, routine.id), state_of(kor, flash.id)) == (ReleaseState.DELIVERED, ReleaseState.QUEUED)
    result = outbox.deliver("JPN", transport, node=kor.unlocked, at=LATER, ranks=FLASH_RANKS)
    assert (result.sent, result.delivered) == (1, 1)
    assert state_of(kor, flash.id) is ReleaseState.DELIVERED
    assert counts(jpn)["releases"] == 2


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


def test_the_watch_sees_each_newly_sealed_flash_once_and_each_due_flash_item(pinned, world):
    kor, jpn = pinned
    release(kor, jpn, world)
    watch = FlashWatch(kor.db, sender="KOR")
    assert not watch.due(at=LATER)  # nothing added since it started
    release(kor, jpn, world)
    assert not watch.due(at=LATER)  # a ROUTINE release is not its business
    release(kor, jpn, world, precedence="FLASH")
    assert watch.due(at=LATER)
    assert not watch.due(at=LATER)  # seen once: the lane's run sweeps it
    assert kor.service(Outbox).sweep(kor.unlocked, at=LATER, limit=1) == 1  # the FLASH queued, due
    assert watch.due(at=LATER)  # a FLASH item is due in the outbox
    assert not watch.due(at=LATER - dt.timedelta(hours=1))  # not yet due then


def test_a_run_sends_only_the_lanes_whose_lease_it_holds(pinned, world):
    kor, jpn = pinned
    routine, flash = release(kor, jpn, world), release(kor, jpn, world, precedence="FLASH")

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, content=jpn.service(Exchange).receive(request.content, world=world, node=jpn.unlocked)
        )

    transport = HttpTransport({}, transport=httpx.MockTransport(handler))
    exchange = kor.service(Exchange)
    with kor.db.lease("accord.outbox.JPN.flash") as held:  # as another process's FLASH lane would
        assert held
        (run,) = exchange.deliver(node=kor.unlocked, transport=transport)
        assert (run.sent, run.delivered) == (1, 1)
        assert (state_of(kor, routine.id), state_of(kor, flash.id)) == (ReleaseState.DELIVERED, ReleaseState.QUEUED)
        assert exchange.deliver(node=kor.unlocked, transport=transport, lane="flash") == []  # its lease is taken
    (run,) = exchange.deliver(node=kor.unlocked, transport=transport, lane="flash")
    assert (run.sent, run.delivered) == (1, 1)
    assert state_of(kor, flash.id) is ReleaseState.DELIVERED
    transport.close()
