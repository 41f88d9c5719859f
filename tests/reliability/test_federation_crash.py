"""Crash safety of federation delivery: SIGKILL the sender or the receiver at random, many times.

KOR seals ``RECORDS`` releases to JPN; then two real processes (``federation_worker.py``)
move them: the sender's ``Outbox.deliver`` writes batches into a spool directory, the
receiver's ``Inbound.accept_many`` answers each with receipts (the real-process stand-in
for HTTP, which comes with the HTTP transport). The test SIGKILLs one side or the other
after a random delay and starts it again, ``KILLS`` times, then lets delivery finish.
From the stores alone: every release delivered exactly once (one received release per
sent one, no duplicates), every receipt kept at KOR answers a sent message with its
digest, and both audit logs verify.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from accord.federation.messages import Envelope
from accord.services import node
from accord.services._database import Database
from accord.services.audit import AuditLog
from accord.services.peers import Peers, export_descriptor
from accord.services.records import PortionDraft, RecordDraft, Records
from accord.services.releases import ReleaseRequest, Releases
from accord.services.world import init_node, read_world
from accord.storage.federation import ReceiptOutcome
from accord.storage.sql import SqlFederationStore, SqlReleaseStore
from accord.storage.values import MAX_PAGE, ReleaseState

WORKER = Path(__file__).with_name("federation_worker.py")
PASSPHRASE = "crash test passphrase"  # noqa: S105 - a test passphrase
AT = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
ON = dt.date(2017, 1, 1)  # the KOR-JPN GSOMIA is in force
RECORDS, DISTINCT, KILLS = 2000, 20, 30

pytestmark = pytest.mark.slow


def make_node(root: Path, party: str) -> tuple[Path, Database, node.UnlockedNode]:
    home, url = root / party.lower(), f"sqlite:///{root / (party.lower() + '.db')}"
    init_node(home=home, database_url=url)
    node.create_identity(home=home, party=party, passphrase=PASSPHRASE, at=AT, unsafe_fast_kdf=True)
    return home, Database(database_url=url), node.unlock(home, PASSPHRASE, unsafe_fast_kdf=True)


def prepare(root: Path) -> list[str]:
    """Both nodes pinned to each other, and KOR's sealed releases to JPN; their ids."""
    world = read_world()
    (kor_home, kor_db, kor), (jpn_home, jpn_db, jpn) = make_node(root, "KOR"), make_node(root, "JPN")
    try:
        Peers(database=kor_db, home=kor_home).add(export_descriptor(jpn), at=AT)
        Peers(database=jpn_db, home=jpn_home).add(export_descriptor(kor), at=AT)
        draft = RecordDraft(
            title="DPRK launch",
            topics=("dprk-missile",),
            portions=(PortionDraft(level="KOR/MIL-II", rel_to=("JPN",), text="launch at 05:10 from Sohae"),),
            purpose="warning",
        )
        service = Records(database=kor_db, home=kor_home)
        ids = [service.create(draft, world=world, passphrase=None, node=kor, at=AT).id for _ in range(DISTINCT)]
        requests = [ReleaseRequest(record_id=ids[i % DISTINCT], recipient="JPN", on=ON) for i in range(RECORDS)]
        outcomes = Releases(database=kor_db, home=kor_home).release_many(
            requests, world=world, node=kor, next_hops={"JPN": jpn.identity.public}
        )
    finally:
        kor_db.close()
        jpn_db.close()
    for folder in ("out", "back"):
        (root / "spool" / folder).mkdir(parents=True)
    return [o.release.id for o in outcomes if o.release is not None]


class Worker:
    """One side's process, started again after each kill."""

    def __init__(self, role: str, root: Path) -> None:
        self.role, self.root = role, root
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("ACCORD_")}
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - our own worker script
            [sys.executable, str(WORKER), self.role, str(self.root)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self.env,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line.strip() == "ready", self.process.stderr.read() if self.process.stderr else line

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self.close()

    def finish(self, timeout: float) -> str:
        assert self.process is not None
        out, err = self.process.communicate(timeout=timeout)
        assert self.process.returncode == 0, err
        return out

    def close(self) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            for stream in (self.process.stdout, self.process.stderr):
                if stream is not None:
                    stream.close()


def test_sigkill_sender_or_receiver_while_records_flow(tmp_path):
    sent = prepare(tmp_path)
    assert len(sent) == RECORDS
    rng = random.Random(20261123)  # noqa: S311 - test timing, not secrets
    sender, receiver = Worker("sender", tmp_path), Worker("receiver", tmp_path)
    killed = {"sender": 0, "receiver": 0}
    try:
        sender.start()
        receiver.start()
        for _ in range(KILLS):
            time.sleep(rng.uniform(0.1, 1.5))
            victim = rng.choice((sender, receiver))
            if not victim.running():  # the sender may have finished: start it again
                victim.close()
                victim.start()
                continue
            victim.kill()
            killed[victim.role] += 1
            victim.start()
        out = sender.finish(timeout=600)
        assert out.strip().startswith("done"), out
    finally:
        sender.close()
        receiver.close()
    assert min(killed.values()) > 0
    assert sum(killed.values()) >= KILLS * 2 // 3, killed  # most kills hit a running side
    check_delivered_exactly_once(tmp_path, sent)


def check_delivered_exactly_once(root: Path, sent: list[str]) -> None:
    kor = Database(database_url=f"sqlite:///{root / 'kor.db'}")
    jpn = Database(database_url=f"sqlite:///{root / 'jpn.db'}")
    try:
        with kor.transaction("inspect") as session:
            releases = _all_releases(SqlReleaseStore(session))
            items = session.execute(text("SELECT id, envelope, release_id FROM outbox WHERE peer = 'JPN'")).all()
            store = SqlFederationStore(session)
            receipts = {item_id: store.receipt_for(item_id) for item_id, _, _ in items}
        assert {r.id for r in releases} == set(sent)
        assert {r.state for r in releases} == {ReleaseState.DELIVERED}
        assert sorted(release_id for _, _, release_id in items) == sorted(sent)  # each release queued once
        for item_id, envelope, _ in items:
            receipt = receipts[item_id]
            assert receipt is not None, f"no receipt for {item_id}"
            assert receipt.outcome is ReceiptOutcome.ACCEPTED
            body = Envelope.from_bytes(receipt.envelope).body
            assert (body["of"], body["digest"]) == (item_id, hashlib.sha256(envelope).hexdigest())
        with jpn.transaction("inspect") as session:
            received = _all_releases(SqlReleaseStore(session))
        assert len(received) == len(sent)  # no duplicates
        assert {r.id for r in received} == set(sent)
        assert len({r.message_id for r in received}) == len(sent)
        assert AuditLog(database=kor, home=root / "kor").verify().entries > len(sent)
        assert AuditLog(database=jpn, home=root / "jpn").verify().entries >= len(sent)
    finally:
        kor.close()
        jpn.close()


def _all_releases(store: SqlReleaseStore) -> list:
    out, after = [], None
    while page := store.list(after=after, limit=MAX_PAGE):
        out.extend(page)
        after = page[-1].id
    return out
