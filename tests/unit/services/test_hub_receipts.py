"""Each leg of a hub route is settled by its own next hop's receipt, and only by it.

KOR > USA > JPN under TISA: KOR's item (and its release) is settled by USA's signed
receipt; USA's onward item stays pending while JPN is down or its answer is lost (the
hub crashed before keeping it), and is settled only by JPN's receipt for that onward
message. A resend after a lost answer is a duplicate at JPN: stored once, answered
with the first receipt.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from sqlalchemy import text

from accord.federation.delivery import Backoff, InProcessTransport
from accord.federation.messages import Envelope
from accord.services import records
from accord.services.inbound import Inbound
from accord.services.outbox import Outbox
from accord.services.peers import Peers, export_descriptor
from accord.services.releases import ReleaseRequest, Releases
from accord.services.world import read_world
from accord.storage.federation import ReceiptOutcome
from accord.storage.sql import SqlFederationStore
from accord.storage.values import ReleaseState
from tests.unit.services.test_federation import AT, LATER, make, state_of
from tests.unit.services.test_federation_races import VIA_HUB

SCHEDULE = Backoff()  # the default retry schedule, at most an hour
HOUR = dt.timedelta(hours=1)  # each run below is past the retry wait (at most an hour) of the one before


@pytest.fixture(scope="module")
def world():
    return read_world()


def outbox(n, peer):
    with n.db.transaction("read") as session:
        rows = session.execute(text("SELECT id, state, attempts, envelope FROM outbox WHERE peer = :p"), {"p": peer})
        items = [tuple(r) for r in rows]
        receipts = {i: SqlFederationStore(session).receipt_for(i) for i, *_ in items}
    return items, receipts


def test_each_leg_is_settled_by_its_next_hops_receipt(tmp_path, world):
    kor, usa, jpn = make(tmp_path, "KOR"), make(tmp_path, "USA"), make(tmp_path, "JPN")
    for a, b in ((kor, usa), (usa, kor), (usa, jpn), (jpn, usa), (jpn, kor)):
        a.service(Peers).add(export_descriptor(b.unlocked), at=AT)
    draft = records.RecordDraft(
        title="DPRK launch",
        topics=("dprk-missile",),
        portions=(records.parse_portion("KOR/MIL-II:JPN,USA:launch at 05:10 from Sohae"),),
        purpose="warning",
    )
    record = kor.service(records.Records).create(draft, world=world, passphrase=None, node=kor.unlocked, at=AT)
    (outcome,) = kor.service(Releases).release_many(
        [ReleaseRequest(record_id=record.id, recipient="JPN", on=VIA_HUB)],
        world=world,
        node=kor.unlocked,
        next_hops=kor.service(Peers).next_hops(),
        at=AT,
    )
    release_id = outcome.release.id

    def accept(n):
        return lambda data: n.service(Inbound).accept(data, world=world, node=n.unlocked, at=LATER).receipt

    # Leg 1: the hub's receipt settles KOR's item and its release.
    assert kor.service(Outbox).deliver("USA", InProcessTransport({"USA": accept(usa)}), node=kor.unlocked, at=LATER)
    assert state_of(kor, release_id) is ReleaseState.DELIVERED
    (kor_item,), receipts = outbox(kor, "USA")
    signed = Envelope.from_bytes(receipts[kor_item[0]].envelope)
    assert (signed.sender, signed.body["of"]) == ("USA", kor_item[0])

    # Leg 2: pending while JPN is down, and while JPN's answer is lost.
    hub = usa.service(Outbox)
    down = InProcessTransport({})
    assert hub.deliver("JPN", down, node=usa.unlocked, at=LATER, backoff=SCHEDULE).failed == 1

    def answer_lost(data):
        accept(jpn)(data)  # JPN stores it and answers; the answer never reaches the hub

    lost = InProcessTransport({"JPN": answer_lost})
    assert hub.deliver("JPN", lost, node=usa.unlocked, at=LATER + HOUR, backoff=SCHEDULE).failed == 1
    ((item_id, state, attempts, envelope),), receipts = outbox(usa, "JPN")
    assert (state, attempts, receipts[item_id]) == ("pending", 2, None)

    # JPN's receipt (for the copy it already holds) settles it; JPN holds the release once.
    again = InProcessTransport({"JPN": accept(jpn)})
    assert hub.deliver("JPN", again, node=usa.unlocked, at=LATER + 2 * HOUR, backoff=SCHEDULE).delivered == 1
    ((item_id, state, _, envelope),), receipts = outbox(usa, "JPN")
    signed = Envelope.from_bytes(receipts[item_id].envelope)
    assert state == "delivered"
    assert receipts[item_id].outcome is ReceiptOutcome.ACCEPTED
    assert (signed.sender, signed.body["of"], signed.body["digest"]) == (
        "JPN",
        item_id,
        hashlib.sha256(bytes(envelope)).hexdigest(),
    )
    with jpn.db.transaction("read") as session:
        held = session.execute(text("SELECT id, sender FROM releases")).all()
    assert [tuple(r) for r in held] == [(release_id, "KOR")]
    for n in (kor, usa, jpn):
        n.db.close()
