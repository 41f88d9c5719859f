"""A node process that creates and releases records until it is killed (for the crash test).

Usage: ``python release_worker.py HOME DATABASE_URL JPN_NODE_JSON SEED``. It prints one
line per committed step, so the test knows it is running, and sometimes signs a
checkpoint. The test sends SIGKILL at a random moment and checks the stores.
"""

from __future__ import annotations

import datetime as dt
import random
import sys
from pathlib import Path

from accord.services import node
from accord.services._database import Database
from accord.services.audit import AuditLog
from accord.services.records import PortionDraft, RecordDraft, Records
from accord.services.releases import ReleaseRequest, Releases
from accord.services.world import read_world

PASSPHRASE = "crash test passphrase"  # noqa: S105 - a test passphrase
ON = dt.date(2017, 1, 1)


def main() -> None:
    home, url, jpn_file, seed = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])
    rng = random.Random(seed)  # noqa: S311 - test timing, not secrets
    world = read_world()
    kor = node.unlock(home, PASSPHRASE)
    jpn = node.read_identity_file(jpn_file)
    db = Database(database_url=url)
    records = Records(database=db, home=home)
    releases = Releases(database=db, home=home)
    log = AuditLog(database=db, home=home)
    draft = RecordDraft(
        title="DPRK launch",
        topics=("dprk-missile",),
        portions=(
            PortionDraft(level="KOR/MIL-II", rel_to=("JPN",), text="launch at 05:10 " * 64),
            PortionDraft(level="KOR/MIL-III", rel_to=(), text="source"),
        ),
    )
    print("ready", flush=True)  # noqa: T201 - the test reads it
    while True:
        batch = [records.create(draft, world=world, passphrase=None, node=kor).id for _ in range(rng.randint(1, 4))]
        on = ON if rng.random() < 0.8 else dt.date(2013, 1, 1)  # some denials too
        requests = [ReleaseRequest(record_id=r, recipient="JPN", on=on) for r in batch]
        releases.release_many(requests, world=world, node=kor, next_hops={"JPN": jpn.public})
        if rng.random() < 0.1:
            log.checkpoint(passphrase=PASSPHRASE)
        print(len(batch), flush=True)  # noqa: T201 - the test reads it


if __name__ == "__main__":
    main()
