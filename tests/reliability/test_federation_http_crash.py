"""Crash safety over real HTTP through a hub: SIGKILL the sender, the hub or the receiver, many times.

Three ``accord serve`` processes on loopback ports, each with its own home and database:
KOR (the originator), USA (the TISA hub) and JPN (the final recipient). Records on
``dprk-missile`` released at KOR to JPN on a date when only TISA links them travel
KOR > USA > JPN; a few released to USA go direct. The test releases them in waves from
its own process while the nodes' delivery loops run, and between waves SIGKILLs one of
the three (in turn: sender, hub, receiver) after a random delay and starts it again on
the same port and home. When everything has settled it stops the nodes and checks,
from their databases alone: every release delivered exactly once (JPN holds each hub
release once, USA each direct one once), the hub relayed each release exactly once,
every outbox item at KOR and USA has an accepted receipt signed by the next hop that
answers its message's digest, and ``accord audit verify`` passes on all three logs.

The SQLite run is the long one (``slow``); the PostgreSQL run puts the hub and the
receiver on PostgreSQL (a schema each) with fewer records and rounds.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, text

from accord.errors import StorageError
from accord.federation.messages import Envelope
from accord.services import node as nodes
from accord.services._database import Database
from accord.services.peers import Peers, export_descriptor
from accord.services.records import PortionDraft, RecordDraft, Records
from accord.services.releases import ReleaseRequest, Releases
from accord.services.world import init_node, read_world
from accord.storage.federation import ReceiptOutcome
from accord.storage.sql import SqlFederationStore, SqlReleaseStore
from accord.storage.values import MAX_PAGE, ReleaseState
from tests.api.test_serve import free_port
from tests.conftest import _fresh_schema

SCRIPT = Path(sys.executable).with_name("accord")
PASSPHRASE = "http crash test passphrase"  # noqa: S105 - a test passphrase
AT = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
VIA_HUB = dt.date(2015, 6, 1)  # only TISA links KOR and JPN: KOR > USA > JPN
SETTLE_TIMEOUT = 600.0  # seconds for everything to drain after the last kill (a loaded machine)


@dataclass(frozen=True, slots=True)
class Plan:
    """How much flows and how often a node dies."""

    hub_records: int
    direct_records: int
    kills: int
    seed: int


class Serve:
    """``accord serve`` for one node on a fixed loopback port: started, SIGKILLed, started again."""

    def __init__(self, root: Path, party: str, url: str) -> None:
        self.party, self.url = party, url
        self.home = root / party.lower()
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = root / f"serve-{party.lower()}.log"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("ACCORD_")}
        self.env.update(
            ACCORD_HOME=str(self.home),
            ACCORD_DATABASE_URL=url,
            ACCORD_KEY_PASSPHRASE=PASSPHRASE,
            ACCORD_UNSAFE_FAST_KDF="1",
            ACCORD_DELIVERY_INTERVAL="0.2",
            ACCORD_RETRY_BASE_SECONDS="0.2",
            ACCORD_FEDERATION_TIMEOUT="20",
            PYTHONIOENCODING="utf-8",
        )
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(  # noqa: S603 - our own entry point
                [str(SCRIPT), "serve", "--port", str(self.port)], env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        self.starts += 1
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{self.base}/api/v1/health", timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"accord serve for {self.party} did not start:\n{self.log.read_text()[-4000:]}")
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs, a request or a delivery run may be half done."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def accord(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - our own entry point
            [str(SCRIPT), *args], env=self.env, capture_output=True, text=True, timeout=300, check=False
        )


class Federation:
    """KOR, USA and JPN set up through the services, pinned to each other with their URLs."""

    def __init__(self, root: Path, urls: dict[str, str]) -> None:
        self.world = read_world()
        self.nodes = {party: Serve(root, party, url) for party, url in urls.items()}
        unlocked = {}
        for party, serve in self.nodes.items():
            init_node(home=serve.home, database_url=serve.url)
            nodes.create_identity(home=serve.home, party=party, passphrase=PASSPHRASE, at=AT, unsafe_fast_kdf=True)
            unlocked[party] = nodes.unlock(serve.home, PASSPHRASE, unsafe_fast_kdf=True)
        self.kor = unlocked["KOR"]
        for party, peers in {"KOR": ("USA",), "USA": ("KOR", "JPN"), "JPN": ("KOR", "USA")}.items():
            serve = self.nodes[party]
            with Peers.open(database_url=serve.url, home=serve.home) as service:
                for peer in peers:
                    service.add(export_descriptor(unlocked[peer], url=self.nodes[peer].base), at=AT)
        self.hub_sent: list[str] = []
        self.direct_sent: list[str] = []

    def release(self, count: int, *, to: str, on: dt.date) -> list[str]:
        """``count`` releases of fresh KOR records to ``to`` (sealed; the delivery loop queues them)."""
        kor = self.nodes["KOR"]
        draft = RecordDraft(
            title="DPRK launch",
            topics=("dprk-missile",),
            portions=(PortionDraft(level="KOR/MIL-II", rel_to=("JPN", "USA"), text="launch at 05:10 from Sohae"),),
            purpose="warning",
        )
        deadline = time.monotonic() + 120
        while True:  # the node's own process writes too: a busy database is retried, never half written
            try:
                with Database(database_url=kor.url) as db:
                    records = Records(database=db, home=kor.home)
                    ids = [records.create(draft, world=self.world, passphrase=None, node=self.kor).id for _ in range(5)]
                    requests = [ReleaseRequest(record_id=ids[i % 5], recipient=to, on=on) for i in range(count)]
                    next_hops = Peers(database=db, home=kor.home).next_hops()
                    outcomes = Releases(database=db, home=kor.home).release_many(
                        requests, world=self.world, node=self.kor, next_hops=next_hops
                    )
                break
            except StorageError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        released = [o.release.id for o in outcomes if o.release is not None]
        assert len(released) == count, [o.decision.reasons for o in outcomes if o.release is None][:1]
        return released

    def start(self) -> None:
        for serve in self.nodes.values():
            serve.start()

    def stop(self) -> None:
        for serve in self.nodes.values():
            serve.stop()


def run(federation: Federation, plan: Plan) -> dict[str, int]:
    """Release in waves and kill a node after each; wait until everything settled; kills per party."""
    rng = random.Random(plan.seed)  # noqa: S311 - test timing, not secrets
    victims = ("KOR", "USA", "JPN")  # sender, hub, receiver in turn
    kills = dict.fromkeys(victims, 0)
    waves = plan.kills
    for wave in range(waves):
        share = plan.hub_records * (wave + 1) // waves - plan.hub_records * wave // waves
        federation.hub_sent += federation.release(share, to="JPN", on=VIA_HUB)
        direct = plan.direct_records * (wave + 1) // waves - plan.direct_records * wave // waves
        if direct:
            federation.direct_sent += federation.release(direct, to="USA", on=VIA_HUB)
        time.sleep(rng.uniform(0.2, 2.5))
        victim = federation.nodes[victims[wave % len(victims)]]
        victim.kill()
        kills[victim.party] += 1
        if rng.random() < 0.3:  # sometimes stay down a while: the others back off, then drain
            time.sleep(rng.uniform(1.0, 3.0))
        victim.start()
    wait_until("every release delivered and every leg settled", lambda: settled(federation), SETTLE_TIMEOUT)
    return kills


def wait_until(what: str, check: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(1.0)


def settled(federation: Federation) -> bool:
    kor, usa = federation.nodes["KOR"], federation.nodes["USA"]
    with Database(database_url=kor.url) as db, db.transaction("inspect") as session:
        pending = session.execute(text("SELECT count(*) FROM releases WHERE state != 'delivered'")).scalar_one()
        kor_outbox = session.execute(text("SELECT count(*) FROM outbox WHERE state = 'pending'")).scalar_one()
    if pending or kor_outbox:
        return False
    with Database(database_url=usa.url) as db, db.transaction("inspect") as session:
        onward = session.execute(text("SELECT count(*) FROM outbox WHERE peer = 'JPN'")).scalar_one()
        usa_outbox = session.execute(text("SELECT count(*) FROM outbox WHERE state = 'pending'")).scalar_one()
    return onward >= len(federation.hub_sent) and usa_outbox == 0


def check_exactly_once(federation: Federation) -> None:
    kor, usa, jpn = (federation.nodes[p] for p in ("KOR", "USA", "JPN"))
    hub, direct = set(federation.hub_sent), set(federation.direct_sent)
    assert len(hub) == len(federation.hub_sent)
    assert len(direct) == len(federation.direct_sent)

    # KOR: every release delivered; each queued once; each item answered by USA's accepted receipt.
    with Database(database_url=kor.url) as db, db.transaction("inspect") as session:
        releases = all_releases(SqlReleaseStore(session))
        items = session.execute(text("SELECT id, peer, envelope, release_id FROM outbox")).all()
        receipts = {item_id: SqlFederationStore(session).receipt_for(item_id) for item_id, *_ in items}
    assert {r.id for r in releases} == hub | direct
    assert {r.state for r in releases} == {ReleaseState.DELIVERED}
    assert sorted(r for *_, r in items) == sorted(hub | direct)  # each release queued exactly once
    assert {peer for _, peer, _, _ in items} == {"USA"}  # the hub is the first hop of both kinds
    check_receipts(items, receipts, answered_by="USA")

    # USA: each direct release received once; each hub release relayed exactly once, and answered by JPN.
    with Database(database_url=usa.url) as db, db.transaction("inspect") as session:
        received = all_releases(SqlReleaseStore(session))
        onward = session.execute(text("SELECT id, peer, envelope, release_id FROM outbox")).all()
        receipts = {item_id: SqlFederationStore(session).receipt_for(item_id) for item_id, *_ in onward}
    assert sorted(r.id for r in received) == sorted(direct)  # no duplicates; the hub keeps no copy of the others
    assert {r.state for r in received} == {ReleaseState.RECEIVED}
    relayed = [Envelope.from_bytes(bytes(envelope)).body["message"]["release_id"] for _, _, envelope, _ in onward]
    assert sorted(relayed) == sorted(hub)  # each relayed exactly once
    assert {peer for _, peer, _, _ in onward} == {"JPN"}
    check_receipts(onward, receipts, answered_by="JPN")

    # JPN: each hub release once, over the hub.
    with Database(database_url=jpn.url) as db, db.transaction("inspect") as session:
        held = all_releases(SqlReleaseStore(session))
    assert sorted(r.id for r in held) == sorted(hub)
    assert len({r.message_id for r in held}) == len(hub)
    assert {(r.sender, r.route, r.state) for r in held} == {("KOR", ("KOR", "USA", "JPN"), ReleaseState.RECEIVED)}

    for serve in (kor, usa, jpn):
        verified = serve.accord("audit", "verify", "--json")
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert json.loads(verified.stdout)["entries"] > 0


def check_receipts(items: list, receipts: dict, *, answered_by: str) -> None:
    for item_id, _, envelope, _ in items:
        receipt = receipts[item_id]
        assert receipt is not None, f"no receipt for {item_id}"
        assert receipt.outcome is ReceiptOutcome.ACCEPTED, item_id
        signed = Envelope.from_bytes(receipt.envelope)
        assert signed.sender == answered_by
        assert (signed.body["of"], signed.body["digest"]) == (item_id, hashlib.sha256(bytes(envelope)).hexdigest())


def all_releases(store: SqlReleaseStore) -> list:
    out, after = [], None
    while page := store.list(after=after, limit=MAX_PAGE):
        out.extend(page)
        after = page[-1].id
    return out


def crash_run(root: Path, urls: dict[str, str], plan: Plan) -> tuple[dict[str, int], float]:
    federation = Federation(root, urls)
    started = time.monotonic()
    try:
        federation.start()
        kills = run(federation, plan)
    finally:
        federation.stop()
    elapsed = time.monotonic() - started
    check_exactly_once(federation)
    assert len(federation.hub_sent) == plan.hub_records
    assert len(federation.direct_sent) == plan.direct_records
    print(f"RESULT http-crash kills={kills} seconds={elapsed:.0f} load={os.getloadavg()[0]:.2f}")  # noqa: T201
    return kills, elapsed


@pytest.mark.slow
def test_sigkill_sender_hub_or_receiver_over_http_sqlite(tmp_path):
    urls = {p: f"sqlite:///{tmp_path / (p.lower() + '.db')}" for p in ("KOR", "USA", "JPN")}
    kills, _ = crash_run(tmp_path, urls, Plan(hub_records=2000, direct_records=200, kills=30, seed=20261123))
    assert sum(kills.values()) == 30
    assert min(kills.values()) == 10


@contextmanager
def _schemas(admin: Engine, count: int) -> Iterator[list[str]]:
    with _fresh_schema(admin) as first:
        if count == 1:
            yield [first]
        else:
            with _schemas(admin, count - 1) as rest:
                yield [first, *rest]


@pytest.mark.slow
@pytest.mark.postgres
def test_sigkill_sender_hub_or_receiver_over_http_postgres(tmp_path, request):
    with _schemas(request.getfixturevalue("_postgres_admin"), 2) as (usa, jpn):
        urls = {"KOR": f"sqlite:///{tmp_path / 'kor.db'}", "USA": usa, "JPN": jpn}
        kills, _ = crash_run(tmp_path, urls, Plan(hub_records=300, direct_records=30, kills=9, seed=20261124))
    assert kills == {"KOR": 3, "USA": 3, "JPN": 3}
