"""The same message accepted twice at once (two workers, or a sender that retried while the first try ran).

A sender killed while its request is in flight retries on restart while the receiver is
still handling the first copy; two API workers may then accept one message id at the
same moment. Both must be answered as if one came after the other: the message stored
once, both answers accepted receipts (never a storage error, never a refusal of a
message that was stored), and at a hub one onward message only. The receiver's
database runs on SQLite and PostgreSQL; each thread has its own connection pool, as
two worker processes would.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable

import pytest
from sqlalchemy import text

from accord.federation.messages import Envelope
from accord.services import records
from accord.services._database import Database
from accord.services.inbound import Accepted, Inbound
from accord.services.outbox import Outbox
from accord.services.peers import Peers, export_descriptor
from accord.services.releases import ReleaseRequest, Releases
from accord.services.world import read_world
from accord.storage.federation import ReceiptOutcome
from tests.unit.services.test_federation import AT, LATER, ON, Node, make

ROUNDS = 6
VIA_HUB = dt.date(2015, 6, 1)  # only TISA: KOR > USA > JPN


@pytest.fixture(scope="module")
def world():
    return read_world()


@pytest.fixture
def receiver_url(database_url):
    return database_url


def sealed_envelopes(kor: Node, world, *, to: str, on: dt.date, count: int) -> list[bytes]:
    draft = records.RecordDraft(
        title="DPRK launch",
        topics=("dprk-missile",),
        portions=(records.parse_portion("KOR/MIL-II:JPN,USA:launch at 05:10 from Sohae"),),
        purpose="warning",
    )
    record = kor.service(records.Records).create(draft, world=world, passphrase=None, node=kor.unlocked, at=AT)
    requests = [ReleaseRequest(record_id=record.id, recipient=to, on=on) for _ in range(count)]
    kor.service(Releases).release_many(
        requests, world=world, node=kor.unlocked, next_hops=kor.service(Peers).next_hops(), at=AT
    )
    kor.service(Outbox).sweep(kor.unlocked, at=AT)
    with kor.db.transaction("read") as session:
        return [bytes(e) for (e,) in session.execute(text("SELECT envelope FROM outbox ORDER BY created_at"))]


def twice_at_once(url: str, receive: Callable[[Inbound, bytes], Accepted | None], data: bytes, n: Node) -> list:
    """``receive`` the same bytes from two threads released together; each one's answer or exception."""
    barrier = threading.Barrier(2)
    answers: list = [None, None]

    def worker(i: int) -> None:
        with Database(database_url=url) as db:
            inbound = Inbound(database=db, home=n.home)
            barrier.wait()
            try:
                answers[i] = receive(inbound, data)
            except Exception as e:  # noqa: BLE001 - the test reports whatever escaped
                answers[i] = e

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return answers


def single(world, n: Node) -> Callable[[Inbound, bytes], Accepted | None]:
    return lambda inbound, data: inbound.accept(data, world=world, node=n.unlocked, at=LATER)


def batched(world, n: Node) -> Callable[[Inbound, bytes], Accepted | None]:
    return lambda inbound, data: inbound.accept_many([data], world=world, node=n.unlocked, at=LATER)[0]


def check_answers(answers: list, data: bytes) -> None:
    message_id = Envelope.from_bytes(data).id
    for answer in answers:
        assert isinstance(answer, Accepted), f"{type(answer).__name__}: {answer}"
        assert answer.outcome is ReceiptOutcome.ACCEPTED
        assert answer.id == message_id
        receipt = Envelope.from_bytes(answer.receipt)
        assert (receipt.body["of"], receipt.body["outcome"]) == (message_id, "accepted")
    assert sorted(a.new for a in answers) in ([False, True], [True, True])


@pytest.mark.parametrize("way", ["single", "batch"])
def test_two_accepts_of_one_release_at_once_store_it_once(tmp_path, world, receiver_url, way):
    kor = make(tmp_path, "KOR")
    jpn = make(tmp_path, "JPN", receiver_url)
    kor.service(Peers).add(export_descriptor(jpn.unlocked), at=AT)
    jpn.service(Peers).add(export_descriptor(kor.unlocked), at=AT)
    datas = sealed_envelopes(kor, world, to="JPN", on=ON, count=ROUNDS)
    receive = (single if way == "single" else batched)(world, jpn)
    for data in datas:
        check_answers(twice_at_once(receiver_url, receive, data, jpn), data)
    with jpn.db.transaction("count") as session:
        stored = session.execute(text("SELECT count(*), count(DISTINCT message_id) FROM releases")).one()
        seen = session.execute(text("SELECT count(*) FROM seen_messages")).scalar_one()
        refused = session.execute(text("SELECT count(*) FROM seen_messages WHERE outcome != 'accepted'")).scalar_one()
    assert tuple(stored) == (ROUNDS, ROUNDS)
    assert (seen, refused) == (ROUNDS, 0)
    for n in (kor, jpn):
        n.db.close()


def test_two_accepts_of_one_release_at_a_hub_relay_it_once(tmp_path, world, receiver_url):
    kor, jpn = make(tmp_path, "KOR"), make(tmp_path, "JPN")
    usa = make(tmp_path, "USA", receiver_url)
    for a, b in ((kor, usa), (usa, kor), (usa, jpn), (jpn, usa)):
        a.service(Peers).add(export_descriptor(b.unlocked), at=AT)
    datas = sealed_envelopes(kor, world, to="JPN", on=VIA_HUB, count=ROUNDS)
    assert {Envelope.from_bytes(d).recipient for d in datas} == {"USA"}
    for data in datas:
        check_answers(twice_at_once(receiver_url, single(world, usa), data, usa), data)
    with usa.db.transaction("count") as session:
        onward = session.execute(text("SELECT count(*) FROM outbox WHERE peer = 'JPN'")).scalar_one()
        seen = session.execute(text("SELECT count(*) FROM seen_messages")).scalar_one()
    assert (onward, seen) == (ROUNDS, ROUNDS)  # one onward message per release
    for n in (kor, jpn, usa):
        n.db.close()
