"""Federation benchmark: two real ``accord serve`` processes, releases over loopback HTTP, receipts back.

Run: ``.venv/bin/python bench/federation.py`` (a few minutes on SQLite).
``--memory-records 85000`` makes 100,000 records flow in all (the memory figure).

1. Two nodes (KOR sends, JPN receives), made with the services in a temporary
   directory: real keys (the fast key-file KDF of the tests), each its own SQLite home,
   each pinning the other (KOR pins JPN's descriptor with JPN's loopback URL).
   ``--distinct`` KOR records (one 2 KB text portion at KOR/MIL-II, REL TO JPN) and
   one FLASH record are made.
2. Baseline, in this process before the servers start: the bare crypto one release
   needs end to end (sign the content, seal it with HPKE and the hop signature, open
   it and verify both signatures, sign and verify an envelope, sign and verify a
   receipt) on the same 2 KB content, with no decision, no storage, no HTTP.
3. JPN is started (``accord serve --no-deliver`` on a free port), then a backlog of
   ``--backlog`` ROUTINE releases is made at KOR by this process through
   ``Releases.release_many`` (the loader: decision, seal, audit, stored SEALED; not
   timed). Then KOR is started (``accord serve``, its delivery loop on): it sweeps the
   backlog into its outbox and POSTs it to JPN in batches; JPN checks, re-decides,
   stores and answers each with a signed receipt, which KOR keeps (release DELIVERED).
   While it drains, the loader releases the FLASH record every ``--flash-every`` ms;
   each FLASH's latency runs from the start of its release call at KOR until the
   release is stored at JPN (this process polls JPN's database every 2 ms); it is
   printed from the release's commit at KOR too.
4. Sustained rate: the loader releases ``--records`` ROUTINE releases in transactions
   of ``--chunk`` as fast as it can while KOR delivers; records/s = records / (first
   release started -> last receipt stored at KOR). The two nodes and the loader share
   the machine's cores: the CPU time each spent per record is printed.
5. Memory: ``--memory-records`` more flow the same way; then each node's peak
   resident set (``VmHWM`` from ``/proc``) over the whole run.

It ends with ``RESULT records_per_s=<rate> flash_p50_ms=<ms> flash_p99_ms=<ms>
peak_rss_mb=<largest node>``. The load average is printed at the start and the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from accord.crypto import Ed25519Signer, PinnedKeyVerifier, open_release, seal_release, sign_content
from accord.domain.world import World
from accord.services import node
from accord.services._database import Database
from accord.services.peers import Peers, export_descriptor
from accord.services.records import PortionDraft, RecordDraft, Records
from accord.services.releases import ReleaseRequest, Releases
from accord.services.world import init_node, read_world

ON = dt.date(2017, 1, 1)
PASSPHRASE = "benchmark passphrase"  # noqa: S105 - a throwaway benchmark node
BODY = ("Launch detected at 05:10 from Sohae; trajectory east-north-east. " * 40)[:2048]
STARTUP_S = 180.0  # a node unlocks its keys and imports the app first; slow on a busy machine
DRAIN_TIMEOUT_S = 3600.0


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def load() -> str:
    return ", ".join(f"{v:.1f}" for v in os.getloadavg())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


class Node:
    """A node made with the services: home, SQLite database, unlocked keys."""

    def __init__(self, root: Path, party: str) -> None:
        self.party = party
        self.home = root / party.lower()
        self.db_path = root / f"{party.lower()}.db"
        self.url = f"sqlite:///{self.db_path}"
        init_node(home=self.home, database_url=self.url)
        node.create_identity(home=self.home, party=party, passphrase=PASSPHRASE, at=now(), unsafe_fast_kdf=True)
        self.db = Database(database_url=self.url)
        self.keys = node.unlock(self.home, PASSPHRASE, unsafe_fast_kdf=True)
        self.port = free_port()

    def env(self, interval: float) -> dict[str, str]:
        return {
            **os.environ,
            "ACCORD_HOME": str(self.home),
            "ACCORD_DATABASE_URL": self.url,
            "ACCORD_KEY_PASSPHRASE": PASSPHRASE,
            "ACCORD_UNSAFE_FAST_KDF": "1",
            "ACCORD_DELIVERY_INTERVAL": str(interval),
        }


class Server:
    """One ``accord serve`` process; its /proc figures."""

    def __init__(self, nd: Node, root: Path, *, deliver: bool, interval: float) -> None:
        self.node = nd
        self.log: IO[bytes] = (root / f"{nd.party.lower()}-serve.log").open("wb")
        command = [sys.executable, "-m", "accord", "serve", "--port", str(nd.port)]
        self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            [*command, *([] if deliver else ["--no-deliver"])],
            env=nd.env(interval),
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + STARTUP_S
        while True:
            if self.proc.poll() is not None:
                msg = f"{nd.party} exited ({self.proc.returncode}); see {self.log.name}"
                raise SystemExit(msg)
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{nd.port}/api/v1/health", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                msg = f"{nd.party} did not answer within {STARTUP_S:.0f} s; see {self.log.name}"
                raise SystemExit(msg)
            time.sleep(0.2)

    def _status(self, key: str) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
        return 0.0

    def peak_rss_mb(self) -> float:
        return self._status("VmHWM")

    def cpu_s(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class Bench:
    """The two nodes, the loader (this process) and the figures."""

    def __init__(self, root: Path, args: argparse.Namespace) -> None:
        self.root, self.args = root, args
        self.world: World = read_world()
        self.kor, self.jpn = Node(root, "KOR"), Node(root, "JPN")
        jpn_url = f"http://127.0.0.1:{self.jpn.port}"
        Peers(database=self.kor.db, home=self.kor.home).add(export_descriptor(self.jpn.keys, url=jpn_url), at=now())
        Peers(database=self.jpn.db, home=self.jpn.home).add(export_descriptor(self.kor.keys), at=now())
        self.releases = Releases(database=self.kor.db, home=self.kor.home)
        self.routine = self.make_records(args.distinct, "ROUTINE")
        self.flash_record = self.make_records(1, "FLASH")
        self.servers: list[Server] = []
        # Read-only views of the two databases (WAL: readers do not block the writers).
        self.kor_read = sqlite3.connect(f"file:{self.kor.db_path}?mode=ro", uri=True, check_same_thread=False)
        self.jpn_read = sqlite3.connect(f"file:{self.jpn.db_path}?mode=ro", uri=True, check_same_thread=False)

    def make_records(self, count: int, precedence: str) -> list[str]:
        draft = RecordDraft(
            title="DPRK launch",
            topics=("dprk-missile",),
            portions=(PortionDraft(level="KOR/MIL-II", rel_to=("JPN",), text=BODY),),
            purpose="warning",
            precedence=precedence,
        )
        service = Records(database=self.kor.db, home=self.kor.home)
        return [
            service.create(draft, world=self.world, passphrase=None, node=self.kor.keys, at=now()).id
            for _ in range(count)
        ]

    def release(self, record_ids: Sequence[str], count: int) -> None:
        """``count`` releases to JPN in transactions of ``--chunk``, cycling through ``record_ids``."""
        for start in range(0, count, self.args.chunk):
            requests = [
                ReleaseRequest(record_id=record_ids[i % len(record_ids)], recipient="JPN", on=ON)
                for i in range(start, min(start + self.args.chunk, count))
            ]
            outcomes = self.releases.release_many(
                requests, world=self.world, node=self.kor.keys, next_hops={"JPN": self.jpn.keys.identity.public}
            )
            if any(o.release is None for o in outcomes):
                msg = "a release was denied"
                raise SystemExit(msg)

    def delivered(self) -> int:
        (count,) = self.kor_read.execute("SELECT count(*) FROM releases WHERE state = 'delivered'").fetchone()
        return int(count)

    def wait_delivered(self, target: int) -> float:
        """Poll KOR until ``target`` releases are delivered; the time it happened."""
        deadline = time.monotonic() + DRAIN_TIMEOUT_S
        while self.delivered() < target:
            refused = self.kor_read.execute("SELECT count(*) FROM releases WHERE state = 'refused'").fetchone()[0]
            if refused or time.monotonic() > deadline:
                msg = f"delivery stalled: {self.delivered()} of {target} delivered, {refused} refused"
                raise SystemExit(msg)
            time.sleep(0.02)
        return time.perf_counter()

    def baseline(self, count: int) -> float:
        """Bare crypto of one release end to end, per second (this process, wall clock)."""
        kor, jpn = self.kor.keys, self.jpn.keys
        kor_sign, jpn_sign = Ed25519Signer(kor.keys), Ed25519Signer(jpn.keys)
        kor_keys = PinnedKeyVerifier([kor.identity.public.signing])
        jpn_keys = PinnedKeyVerifier([jpn.identity.public.signing])
        fingerprint = self.world.agreements[0].fingerprint
        bodies = {"1": {"salt": "AAAAAAAAAAAAAAAAAAAAAA==", "text": BODY}}
        start = time.perf_counter()
        for i in range(count):
            content = {
                "format": "accord.release-content/1",
                "release_id": str(uuid.uuid4()),
                "record": {"id": f"KOR-{i}", "originator": "KOR", "title": "DPRK launch", "topics": ["dprk-missile"]},
                "portions": [{"id": "1", "level": "KOR/MIL-II", "rel_to": ["JPN"], "digest": "d" * 64}],
                "recipient": "JPN",
                "on": ON.isoformat(),
                "decision": "c" * 64,
            }
            signed = sign_content(content, kor_sign, bodies=bodies)
            sealed = seal_release(
                signed, jpn.identity.public, agreement_fingerprint=fingerprint, decision_id="c" * 64, sender=kor_sign
            )
            open_release(
                sealed, jpn.kem_private_keys(), agreement_fingerprint=fingerprint, peers=kor_keys, originator=kor_keys
            )
            data = sealed.to_bytes() + b"x" * 512  # about an envelope's size
            kor_keys.verify(kor_sign.sign(data), data)  # the envelope
            receipt = data[:400]
            jpn_keys.verify(jpn_sign.sign(receipt), receipt)  # the receipt
        return count / (time.perf_counter() - start)

    def start(self, nd: Node, *, deliver: bool) -> Server:
        server = Server(nd, self.root, deliver=deliver, interval=self.args.interval)
        self.servers.append(server)
        return server

    def flash(self) -> tuple[list[float], list[float], float]:
        """FLASH latencies (ms) while KOR drains the backlog: from the release call, from its commit; the drain rate."""
        base = self.delivered()
        self.start(self.kor, deliver=True)
        begun = time.perf_counter()
        released: dict[str, float] = {}
        committed: dict[str, float] = {}  # the release stored SEALED at KOR (decided and sealed)
        stored: dict[str, float] = {}
        lock, done = threading.Lock(), threading.Event()

        def releaser() -> None:
            flasher = Releases(database=self.kor.db, home=self.kor.home)
            while not done.wait(self.args.flash_every / 1000):
                started = time.perf_counter()
                (outcome,) = flasher.release_many(
                    [ReleaseRequest(record_id=self.flash_record[0], recipient="JPN", on=ON)],
                    world=self.world,
                    node=self.kor.keys,
                    next_hops={"JPN": self.jpn.keys.identity.public},
                )
                assert outcome.release is not None  # noqa: S101 - a benchmark's own check
                with lock:
                    released[outcome.release.id] = started
                    committed[outcome.release.id] = time.perf_counter()

        def poller() -> None:
            while not done.is_set() or len(stored) < len(released):
                with lock:
                    waiting = list(released.keys() - stored.keys())
                if waiting:
                    marks = ",".join("?" * len(waiting))
                    query = f"SELECT id FROM releases WHERE id IN ({marks})"  # noqa: S608 - placeholders only
                    seen = time.perf_counter()
                    for (release_id,) in self.jpn_read.execute(query, waiting).fetchall():
                        stored[release_id] = seen
                time.sleep(0.002)

        threads = [threading.Thread(target=releaser, daemon=True), threading.Thread(target=poller, daemon=True)]
        for thread in threads:
            thread.start()
        try:
            drained = self.wait_delivered(base + self.args.backlog)
        finally:
            done.set()
            threads[0].join()
        threads[1].join(DRAIN_TIMEOUT_S)
        rate = self.args.backlog / (drained - begun)
        return (
            [(stored[r] - released[r]) * 1000 for r in stored],
            [(stored[r] - committed[r]) * 1000 for r in stored],
            rate,
        )

    def stream(self, count: int) -> tuple[float, float, dict[str, float]]:
        """Release ``count`` while KOR delivers: records/s end to end, the loader's own rate, CPU ms per record."""
        base = self.delivered()
        cpu = {s.node.party: s.cpu_s() for s in self.servers}
        loader_cpu = time.process_time()
        start = time.perf_counter()
        self.release(self.routine, count)
        loaded = time.perf_counter()
        per_record = {"loader": (time.process_time() - loader_cpu) * 1000 / count}
        end = self.wait_delivered(base + count)
        for s in self.servers:
            per_record[s.node.party] = (s.cpu_s() - cpu[s.node.party]) * 1000 / count
        return count / (end - start), count / (loaded - start), per_record

    def close(self) -> None:
        for server in self.servers:
            server.stop()
        self.kor_read.close()
        self.jpn_read.close()
        self.kor.db.close()
        self.jpn.db.close()


def run(bench: Bench, args: argparse.Namespace) -> str:
    crypto = bench.baseline(args.baseline)
    print(f"baseline: bare crypto of one release end to end, {crypto:.0f}/s in one process (sign, seal, open,")
    print("  verify originator and hop, sign+verify envelope, sign+verify receipt; no decision, storage or HTTP)")
    bench.start(bench.jpn, deliver=False)
    t = time.perf_counter()
    bench.release(bench.routine, args.backlog)
    print(f"backlog: {args.backlog} ROUTINE releases made at KOR ({args.backlog / (time.perf_counter() - t):.0f}/s)")
    latencies, after_commit, drain = bench.flash()
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    print(f"drain: the backlog delivered over HTTP with receipts at {drain:.0f} records/s (load {load()})")
    print(
        f"FLASH while it drained: {len(latencies)} releases, released at KOR -> stored at JPN: "
        f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {max(latencies):.1f} ms"
    )
    print(
        f"  from its commit at KOR (decided and sealed) -> stored at JPN: p50 {percentile(after_commit, 0.5):.1f} ms, "
        f"p99 {percentile(after_commit, 0.99):.1f} ms"
    )
    rate, loader, cpu = bench.stream(args.records)
    ratio = rate / crypto
    print(
        f"sustained: {args.records} ROUTINE releases, {rate:.0f} records/s released -> receipt kept "
        f"(loader alone {loader:.0f}/s; load {load()})"
    )
    print("  CPU ms per record: " + ", ".join(f"{k} {v:.2f}" for k, v in cpu.items()))
    print(f"  ratio to the bare crypto baseline: {ratio:.3f}")
    if args.memory_records:
        more, _, _ = bench.stream(args.memory_records)
        print(f"memory run: {args.memory_records} more at {more:.0f} records/s (load {load()})")
    flowed = args.backlog + len(latencies) + args.records + args.memory_records
    rss = {s.node.party: s.peak_rss_mb() for s in bench.servers}
    print(f"peak RSS after {flowed} records flowed: " + ", ".join(f"{k} {v:.0f} MB" for k, v in rss.items()))
    return (
        f"RESULT records_per_s={rate:.0f} flash_p50_ms={p50:.1f} flash_p99_ms={p99:.1f} "
        f"peak_rss_mb={max(rss.values()):.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=5000, help="ROUTINE releases timed for the sustained rate")
    parser.add_argument("--backlog", type=int, default=10000, help="ROUTINE backlog drained while FLASH is timed")
    parser.add_argument("--flash-every", type=float, default=250, help="ms between FLASH releases while draining")
    parser.add_argument("--memory-records", type=int, default=0, help="more records flowed before reading memory")
    parser.add_argument("--chunk", type=int, default=200, help="releases per loader transaction")
    parser.add_argument("--distinct", type=int, default=200, help="distinct records the releases cycle through")
    parser.add_argument("--baseline", type=int, default=500, help="records in the bare crypto baseline")
    parser.add_argument("--interval", type=float, default=0.05, help="KOR's delivery loop interval when idle (s)")
    args = parser.parse_args()
    print(f"federation benchmark: Python {sys.version.split()[0]}, {os.cpu_count()} cores, load average {load()}")
    with tempfile.TemporaryDirectory() as tmp:
        bench = Bench(Path(tmp), args)
        try:
            result = run(bench, args)
        finally:
            bench.close()
    print(f"(load average {load()} at the end)")
    print(result)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
