"""Federation benchmark: batch delivery node to node in process, FLASH latency under a backlog, memory.

Run: ``.venv/bin/python bench/federation.py`` (a few minutes on SQLite; ``--backlog``
and ``--records`` make it shorter). The transport is in process: the figures hold
everything a node does (decision, seal, sign, audit on both sides, receipts) but no
HTTP; the HTTP transport adds its own cost when it comes.

1. Two node identities (KOR, JPN) with real keys and their own SQLite databases in a
   temporary directory, each pinning the other. ``--distinct`` KOR records (one 2 KB
   text portion at KOR/MIL-II releasable to JPN) are created, and each release
   request picks one of them (sealing the release is not timed).
2. Sustained rate: ``--records`` ROUTINE releases delivered by ``Outbox.deliver``
   (envelopes signed, queued, sent in batches of ``--batch-size`` to JPN's
   ``Inbound.accept_many``, which checks each, re-decides, stores and answers in one
   transaction per batch; KOR keeps the receipts). Records per second node to node.
3. FLASH under a backlog: ``--backlog`` ROUTINE releases are sealed; while delivery
   drains them one batch per ``deliver`` run, a second thread releases a FLASH
   record every ``--flash-every`` ms. Latency: from the FLASH release sealed to its
   receipt kept at KOR (p50, p99 over every FLASH).
4. Memory: the peak resident set (``ru_maxrss``) of this one process, which holds
   both nodes (in process), after ``--memory-records`` more ROUTINE releases flow.

It ends with ``RESULT records_per_s=<rate> flash_p50_ms=<ms> flash_p99_ms=<ms>
peak_rss_mb=<MB>``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from accord.domain.world import World
from accord.federation.delivery import InProcessTransport
from accord.services import node
from accord.services._database import Database
from accord.services.inbound import Inbound
from accord.services.outbox import Outbox
from accord.services.peers import Peers, export_descriptor
from accord.services.records import PortionDraft, RecordDraft, Records
from accord.services.releases import ReleaseRequest, Releases
from accord.services.world import init_node, read_world

AT = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
ON = dt.date(2017, 1, 1)
PASSPHRASE = "benchmark passphrase"  # noqa: S105 - a throwaway benchmark node
BODY = ("Launch detected at 05:10 from Sohae; trajectory east-north-east. " * 40)[:2048]
CHUNK = 500  # releases sealed per transaction while preparing


class Node:
    """A node home, its database and its unlocked keys."""

    def __init__(self, root: Path, party: str) -> None:
        self.home = root / party.lower()
        url = f"sqlite:///{root / (party.lower() + '.db')}"
        init_node(home=self.home, database_url=url)
        node.create_identity(home=self.home, party=party, passphrase=PASSPHRASE, at=AT, unsafe_fast_kdf=True)
        self.db = Database(database_url=url)
        self.keys = node.unlock(self.home, PASSPHRASE, unsafe_fast_kdf=True)


def records(kor: Node, world: World, count: int, precedence: str) -> list[str]:
    draft = RecordDraft(
        title="DPRK launch",
        topics=("dprk-missile",),
        portions=(PortionDraft(level="KOR/MIL-II", rel_to=("JPN",), text=BODY),),
        purpose="warning",
        precedence=precedence,
    )
    service = Records(database=kor.db, home=kor.home)
    return [service.create(draft, world=world, passphrase=None, node=kor.keys, at=AT).id for _ in range(count)]


def release(kor: Node, jpn: Node, world: World, record_ids: Sequence[str], count: int) -> list[str]:
    """``count`` releases to JPN, cycling through ``record_ids``; their ids."""
    service = Releases(database=kor.db, home=kor.home)
    done: list[str] = []
    for start in range(0, count, CHUNK):
        requests = [
            ReleaseRequest(record_id=record_ids[i % len(record_ids)], recipient="JPN", on=ON)
            for i in range(start, min(start + CHUNK, count))
        ]
        outcomes = service.release_many(
            requests, world=world, node=kor.keys, next_hops={"JPN": jpn.keys.identity.public}, at=AT
        )
        done.extend(o.release.id for o in outcomes if o.release is not None)
    return done


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


class Bench:
    """Two nodes, the transport between them, and the delivery loop."""

    def __init__(self, root: Path, args: argparse.Namespace) -> None:
        self.args = args
        self.world = read_world()
        self.kor, self.jpn = Node(root, "KOR"), Node(root, "JPN")
        Peers(database=self.kor.db, home=self.kor.home).add(export_descriptor(self.jpn.keys), at=AT)
        Peers(database=self.jpn.db, home=self.jpn.home).add(export_descriptor(self.kor.keys), at=AT)
        self.at = AT + dt.timedelta(minutes=1)
        self.inbound = Inbound(database=self.jpn.db, home=self.jpn.home)
        self.outbox = Outbox(database=self.kor.db, home=self.kor.home)
        self.transport = InProcessTransport({}, batch_receivers={"JPN": self.accept_many})
        self.routine = records(self.kor, self.world, args.distinct, "ROUTINE")

    def accept_many(self, datas: Sequence[bytes]) -> list[bytes | None]:
        accepted = self.inbound.accept_many(datas, world=self.world, node=self.jpn.keys, at=self.at)
        return [a.receipt if a is not None else None for a in accepted]

    def drain(self, *, limit: int, on_run: threading.Event | None = None) -> int:
        """Deliver until nothing is due; how many were delivered."""
        total = 0
        while True:
            result = self.outbox.deliver(
                "JPN", self.transport, node=self.kor.keys, at=self.at, batch_size=self.args.batch_size, limit=limit
            )
            if result.failed or result.refused:
                msg = f"delivery failed: {result}"
                raise SystemExit(msg)
            total += result.delivered
            if on_run is not None:
                on_run.set()
            if result.sent == 0:
                return total

    def sustained(self) -> float:
        count = self.args.records
        release(self.kor, self.jpn, self.world, self.routine, count)
        start = time.perf_counter()
        delivered = self.drain(limit=1000)
        rate = delivered / (time.perf_counter() - start)
        assert delivered == count, delivered  # noqa: S101 - a benchmark's own check
        return rate

    def flash(self) -> list[float]:
        """FLASH latencies (ms) while the backlog drains."""
        flash_record = records(self.kor, self.world, 1, "FLASH")
        release(self.kor, self.jpn, self.world, self.routine, self.args.backlog)
        self.outbox.sweep(self.kor.keys, at=self.at)
        sealed: dict[str, float] = {}
        delivered: dict[str, float] = {}
        done = threading.Event()

        def releaser() -> None:
            while not done.wait(self.args.flash_every / 1000):
                (release_id,) = release(self.kor, self.jpn, self.world, flash_record, 1)
                sealed[release_id] = time.perf_counter()

        thread = threading.Thread(target=releaser, daemon=True)
        thread.start()
        self.transport.sent.clear()
        try:
            while True:
                result = self.outbox.deliver(
                    "JPN",
                    self.transport,
                    node=self.kor.keys,
                    at=self.at,
                    batch_size=self.args.batch_size,
                    limit=self.args.batch_size,
                )
                now = time.perf_counter()
                for _, data in self.transport.sent:
                    for release_id in sealed.keys() - delivered.keys():
                        if release_id.encode() in data:
                            delivered[release_id] = now
                self.transport.sent.clear()
                if result.sent == 0:
                    break
        finally:
            done.set()
            thread.join()
        self.drain(limit=1000)  # a FLASH released after the last run: not counted
        return [(delivered[r] - sealed[r]) * 1000 for r in delivered if r in sealed]

    def memory(self) -> float:
        remaining = self.args.memory_records
        while remaining > 0:
            step = min(remaining, 5000)
            release(self.kor, self.jpn, self.world, self.routine, step)
            self.drain(limit=1000)
            remaining -= step
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux

    def close(self) -> None:
        self.kor.db.close()
        self.jpn.db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=5000, help="releases timed for the sustained rate")
    parser.add_argument("--backlog", type=int, default=10000, help="ROUTINE releases queued ahead of the FLASH ones")
    parser.add_argument("--flash-every", type=float, default=200, help="ms between FLASH releases while draining")
    parser.add_argument("--memory-records", type=int, default=0, help="more releases before reading peak memory")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--distinct", type=int, default=200, help="distinct records the releases cycle through")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench = Bench(Path(tmp), args)
        try:
            rate = bench.sustained()
            print(f"sustained: {args.records} releases, {rate:.0f}/s node to node (in process; HTTP not included)")
            latencies = bench.flash()
            p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
            print(
                f"FLASH under a {args.backlog}-release ROUTINE backlog: {len(latencies)} FLASH releases, "
                f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {max(latencies):.1f} ms"
            )
            rss = bench.memory()
            flowed = args.records + args.backlog + len(latencies) + args.memory_records
            print(f"peak RSS {rss:.0f} MB after {flowed} releases: one process holding both nodes (in process)")
        finally:
            bench.close()
    print(f"RESULT records_per_s={rate:.0f} flash_p50_ms={p50:.1f} flash_p99_ms={p99:.1f} peak_rss_mb={rss:.0f}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
