"""Federation benchmark: releases node to node in process, FLASH under a ROUTINE backlog, bundles.

Run: ``.venv/bin/python bench/federation.py`` (about a minute on SQLite).

1. Two node identities (KOR, JPN) with real keys and their own SQLite databases in a
   temporary directory, each pinning the other. ``--records`` (300) KOR records are
   created (one 2 KB text portion at KOR/MIL-II releasable to JPN, ``dprk-missile``)
   and released to JPN as of 2017-01-01 (sealed: not timed).
2. In-process delivery: ``Outbox.deliver`` wraps each sealed release in a signed
   envelope, queues it and hands it through ``InProcessTransport`` to JPN's
   ``Inbound.accept`` (every check, the release re-decided and stored, a signed
   receipt back), then keeps the receipt and marks the release DELIVERED. Timed end
   to end: records per second node to node.
3. FLASH latency: ``--records`` ROUTINE releases are queued, then one FLASH; the time
   from the start of delivery until the FLASH release is DELIVERED, and how many
   messages went before it.
4. Bundles: the same number of releases exported to one bundle file and imported at
   JPN (receipts queued), then the receipt bundle exported and imported at KOR.

It ends with ``RESULT deliver_per_s=<rate> flash_latency_ms=<ms> flash_position=<n>
bundle_per_s=<rate>``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
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
from accord.storage.values import ReleaseState

AT = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
ON = dt.date(2017, 1, 1)
PASSPHRASE = "benchmark passphrase"  # noqa: S105 - a throwaway benchmark node
BODY = ("Launch detected at 05:10 from Sohae; trajectory east-north-east. " * 40)[:2048]


class Node:
    """A node home, its database and its unlocked keys."""

    def __init__(self, root: Path, party: str) -> None:
        self.home = root / party.lower()
        url = f"sqlite:///{root / (party.lower() + '.db')}"
        init_node(home=self.home, database_url=url)
        node.create_identity(home=self.home, party=party, passphrase=PASSPHRASE, at=AT, unsafe_fast_kdf=True)
        self.db = Database(database_url=url)
        self.keys = node.unlock(self.home, PASSPHRASE, unsafe_fast_kdf=True)


def release(kor: Node, jpn: Node, world: World, count: int, precedence: str) -> list[str]:
    draft = RecordDraft(
        title="DPRK launch",
        topics=("dprk-missile",),
        portions=(PortionDraft(level="KOR/MIL-II", rel_to=("JPN",), text=BODY),),
        purpose="warning",
        precedence=precedence,
    )
    records = Records(database=kor.db, home=kor.home)
    ids = [records.create(draft, world=world, passphrase=None, node=kor.keys, at=AT).id for _ in range(count)]
    requests = [ReleaseRequest(record_id=i, recipient="JPN", on=ON) for i in ids]
    outcomes = Releases(database=kor.db, home=kor.home).release_many(
        requests, world=world, node=kor.keys, next_hops={"JPN": jpn.keys.identity.public}, at=AT
    )
    return [o.release.id for o in outcomes if o.release is not None]


def delivered(kor: Node) -> int:
    service, count, after = Releases(database=kor.db, home=kor.home), 0, None
    while page := service.list(received=False, after=after, limit=1000):
        count += sum(r.state is ReleaseState.DELIVERED for r in page)
        after = page[-1].id
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=300)
    args = parser.parse_args()
    world = read_world()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        kor, jpn = Node(root, "KOR"), Node(root, "JPN")
        Peers(database=kor.db, home=kor.home).add(export_descriptor(jpn.keys), at=AT)
        Peers(database=jpn.db, home=jpn.home).add(export_descriptor(kor.keys), at=AT)
        at = AT + dt.timedelta(minutes=1)
        inbound = Inbound(database=jpn.db, home=jpn.home)

        def accept(data: bytes) -> bytes | None:
            return inbound.accept(data, world=world, node=jpn.keys, at=at).receipt

        transport = InProcessTransport({"JPN": accept})
        outbox = Outbox(database=kor.db, home=kor.home)

        release(kor, jpn, world, args.records, "ROUTINE")
        start = time.perf_counter()
        result = outbox.deliver("JPN", transport, node=kor.keys, at=at, batch_size=50)
        deliver_rate = result.delivered / (time.perf_counter() - start)
        assert result.delivered == args.records, result  # noqa: S101 - a benchmark's own check

        release(kor, jpn, world, args.records, "ROUTINE")
        (flash,) = release(kor, jpn, world, 1, "FLASH")
        transport.sent.clear()
        outbox.sweep(kor.keys, at=at)
        order: list[float] = []

        def timed(data: bytes) -> bytes | None:
            receipt = accept(data)
            order.append(time.perf_counter())
            return receipt

        transport.receivers["JPN"] = timed
        start = time.perf_counter()
        outbox.deliver("JPN", transport, node=kor.keys, at=at, batch_size=50)
        flash_ms = (order[0] - start) * 1000
        position = next(i for i, (_, data) in enumerate(transport.sent) if flash.encode() in data)

        release(kor, jpn, world, args.records, "ROUTINE")
        start = time.perf_counter()
        bundle, count = outbox.export_bundle("JPN", node=kor.keys, at=at)
        inbound.import_bundle(bundle, world=world, node=jpn.keys, at=at)
        back, _ = Outbox(database=jpn.db, home=jpn.home).export_bundle("KOR", node=jpn.keys, at=at)
        Inbound(database=kor.db, home=kor.home).import_bundle(back, world=world, node=kor.keys, at=at)
        bundle_rate = count / (time.perf_counter() - start)
        total = delivered(kor)
        assert total == 3 * args.records + 1, total  # noqa: S101 - a benchmark's own check
        print(
            f"RESULT deliver_per_s={deliver_rate:.0f} flash_latency_ms={flash_ms:.1f} "
            f"flash_position={position} bundle_per_s={bundle_rate:.0f} bundle_bytes={len(bundle)}"
        )
        kor.db.close()
        jpn.db.close()


if __name__ == "__main__":
    main()
