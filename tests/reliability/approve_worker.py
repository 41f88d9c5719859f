"""A disclosure officer's process approving requests the moment a start file appears (for the race test).

Usage: ``python approve_worker.py HOME DATABASE_URL JPN_NODE_JSON DIR OFFICER ROUNDS``.
For each round N it prints ``ready N``, waits for ``DIR/go-N`` (the test creates it
once both workers are ready), approves the request named in ``DIR/request-N`` and
prints ``N approved RELEASE_ID`` or ``N conflict MESSAGE``, each with the time it saw
the start file (nanoseconds, the system's monotonic clock, shared by processes).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from accord.domain.person import Person, Role
from accord.errors import ConflictError
from accord.services import node
from accord.services._database import Database
from accord.services.disclosures import Disclosures
from accord.services.people import Credential, Principal
from accord.services.world import read_world

PASSPHRASE = "race test passphrase"  # noqa: S105 - a test passphrase


def main() -> None:
    home, url, jpn_file, folder = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4])
    officer, rounds = sys.argv[5], int(sys.argv[6])
    world = read_world()
    kor = node.unlock(home, PASSPHRASE, unsafe_fast_kdf=True)
    hops = {"JPN": node.read_identity_file(jpn_file).public}
    person = Person(id=officer, party="KOR", clearance="KOR/MIL-II", roles=frozenset({Role.DISCLOSURE_OFFICER}))
    principal = Principal(person=person, via=Credential.TOKEN)
    with Database(database_url=url) as db:
        service = Disclosures(database=db, home=home)
        with db.transaction("warm up"):  # connect before the race, not during it
            pass
        for n in range(rounds):
            print(f"ready {n}", flush=True)  # noqa: T201 - the test reads it
            go = folder / f"go-{n}"
            while not go.exists():
                time.sleep(0.0002)
            started = time.monotonic_ns()
            request_id = (folder / f"request-{n}").read_text(encoding="utf-8").strip()
            try:
                approval = service.approve(principal, request_id, world=world, node=kor, next_hops=hops)
            except ConflictError as e:
                print(f"{n} {started} conflict {e.message}", flush=True)  # noqa: T201
            else:
                made = approval.release.release.id if approval.release and approval.release.release else "-"
                print(f"{n} {started} approved {made}", flush=True)  # noqa: T201


if __name__ == "__main__":
    main()
