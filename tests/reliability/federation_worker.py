"""One side of a federation link for the crash test: ``sender`` or ``receiver`` over a spool directory.

Usage: ``federation_worker.py sender|receiver ROOT``. ROOT holds ``kor/`` and ``jpn/``
(node homes, SQLite databases beside them) and ``spool/``. The sender runs
``Outbox.deliver`` to JPN through :class:`SpoolTransport`: each batch is written as
one file (atomically: written, then renamed) into ``spool/out``, and the receipts are
awaited in ``spool/back``; no answer in time counts as the peer unreachable. The
receiver takes each batch file in turn, runs ``Inbound.accept_many`` and writes the
receipts back the same way, then removes the batch. The sender exits 0 once nothing
is pending; the receiver runs until killed. It is the real-process stand-in for HTTP:
either side may be SIGKILLed at any moment.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from accord.errors import PeerUnreachableError
from accord.federation.delivery import Backoff
from accord.services import node
from accord.services._database import Database
from accord.services.inbound import Inbound
from accord.services.outbox import Outbox
from accord.services.peers import Peers
from accord.services.world import read_world

PASSPHRASE = "crash test passphrase"  # noqa: S105 - a test passphrase
WAIT = 3.0  # seconds the sender waits for receipts before calling the peer unreachable
FAST = Backoff(base=dt.timedelta(milliseconds=50), cap=dt.timedelta(milliseconds=500))


def write_atomically(path: Path, data: bytes) -> None:
    partial = path.with_name(f".{path.name}.partial")
    with partial.open("wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    partial.rename(path)


class SpoolTransport:
    """Batches as files in ``spool/out``, receipts back as files in ``spool/back``."""

    def __init__(self, spool: Path) -> None:
        self.out, self.back = spool / "out", spool / "back"

    def send(self, peer: str, envelopes: Sequence[bytes]) -> Sequence[bytes]:
        name = f"{time.time_ns():020d}-{uuid.uuid4().hex}.json"
        write_atomically(self.out / name, json.dumps([e.decode() for e in envelopes]).encode())
        answer = self.back / name
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            if answer.exists():
                receipts = [r.encode() for r in json.loads(answer.read_bytes())]
                answer.unlink()
                return receipts
            time.sleep(0.01)
        (self.out / name).unlink(missing_ok=True)
        msg = f"peer {peer} did not answer within {WAIT} s"
        raise PeerUnreachableError(msg)


def open_node(root: Path, party: str) -> tuple[Path, Database, node.UnlockedNode]:
    home = root / party.lower()
    db = Database(database_url=f"sqlite:///{root / (party.lower() + '.db')}")
    return home, db, node.unlock(home, PASSPHRASE, unsafe_fast_kdf=True)


def sender(root: Path) -> None:
    home, db, keys = open_node(root, "KOR")
    outbox, peers, transport = (
        Outbox(database=db, home=home),
        Peers(database=db, home=home),
        SpoolTransport(root / "spool"),
    )
    for stale in transport.back.iterdir():  # answers to batches given up before a restart
        stale.unlink(missing_ok=True)
    print("ready", flush=True)  # noqa: T201 - the test reads it
    while True:
        outbox.deliver("JPN", transport, node=keys, batch_size=50, backoff=FAST, limit=200)
        status = {s.peer: s for s in peers.status()}["JPN"]
        if status.pending == 0:
            print(f"done delivered={status.delivered}", flush=True)  # noqa: T201 - the test reads it
            return
        time.sleep(0.02)


def receiver(root: Path) -> None:
    home, db, keys = open_node(root, "JPN")
    world = read_world()
    inbound, spool = Inbound(database=db, home=home), root / "spool"
    print("ready", flush=True)  # noqa: T201 - the test reads it
    while True:
        batches = sorted(p for p in (spool / "out").iterdir() if not p.name.startswith("."))
        for batch in batches:
            try:
                envelopes = [e.encode() for e in json.loads(batch.read_bytes())]
            except FileNotFoundError:
                continue  # the sender gave up on it
            accepted = inbound.accept_many(envelopes, world=world, node=keys)
            receipts = [a.receipt.decode() for a in accepted if a is not None and a.receipt is not None]
            write_atomically(spool / "back" / batch.name, json.dumps(receipts).encode())
            batch.unlink(missing_ok=True)
        if not batches:
            time.sleep(0.01)


if __name__ == "__main__":
    role, where = sys.argv[1], Path(sys.argv[2])
    {"sender": sender, "receiver": receiver}[role](where)
