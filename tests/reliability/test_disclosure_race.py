"""Two disclosure officers approving the same request at the same moment release it once.

Two real OS processes (``approve_worker.py``), each a disclosure officer with its own
database connection, wait on a start file and approve the same pending release
request together, round after round, on SQLite and on PostgreSQL. Each round exactly
one approves (and seals one release) and the other is told the request was already
decided; at the end there is one release and one approval entry per request, a
refusal entry per loser, and the audit log verifies.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from accord.audit.entry import AuditEntry, EntryKind
from accord.domain.person import Person, Role
from accord.services import node, records
from accord.services._database import Database
from accord.services.audit import AuditLog
from accord.services.disclosures import Disclosures, DisclosureState
from accord.services.people import Credential, Principal
from accord.services.world import init_node, read_world
from accord.storage.sql import SqlAuditStore, SqlReleaseStore

WORKER = Path(__file__).with_name("approve_worker.py")
PASSPHRASE = "race test passphrase"  # noqa: S105 - a test passphrase
AT = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
ON = dt.date(2017, 1, 1)  # the KOR-JPN GSOMIA is in force
ROUNDS = 10
ANALYST = Principal(
    person=Person(
        id="lee",
        party="KOR",
        clearance="KOR/MIL-II",
        need_to_know=frozenset({"dprk-missile"}),
        roles=frozenset({Role.ANALYST}),
    ),
    via=Credential.TOKEN,
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'kor.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


def _line(worker: subprocess.Popen[str]) -> str:
    assert worker.stdout is not None
    line = worker.stdout.readline()
    assert line, "a worker ended early (its stderr is in the test's tmp_path)"
    return line.strip()


def race(tmp_path: Path, database_url: str, folder: Path) -> list[float]:
    """Run the two officers' processes through every round; the start spread of each round (ms)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCORD_")}
    args = [str(tmp_path / "kor"), database_url, str(tmp_path / "jpn" / "node.json"), str(folder)]
    spreads = []
    with contextlib.ExitStack() as stack:
        workers = []
        for officer in ("kim", "park"):
            errors = stack.enter_context((tmp_path / f"{officer}.err").open("w", encoding="utf-8"))
            worker = subprocess.Popen(  # noqa: S603 - our own worker script
                [sys.executable, str(WORKER), *args, officer, str(ROUNDS)],
                stdout=subprocess.PIPE,
                stderr=errors,
                text=True,
                env=env,
            )
            stack.enter_context(worker)  # waits for it, and closes its pipe, at the end
            stack.callback(lambda w=worker: w.poll() is None and w.kill())  # never left running on a failure
            workers.append(worker)
        for n in range(ROUNDS):
            assert [_line(w) for w in workers] == [f"ready {n}"] * 2
            (folder / f"go-{n}").touch()
            results = [_line(w).split(" ", 3) for w in workers]
            assert all(int(r[0]) == n for r in results)
            spreads.append(abs(int(results[0][1]) - int(results[1][1])) / 1e6)
            assert sorted(r[2] for r in results) == ["approved", "conflict"], results
            loser = next(r for r in results if r[2] == "conflict")
            assert "already decided" in loser[3]
        for worker in workers:
            assert worker.wait(timeout=60) == 0
    return spreads


def test_two_officers_approving_at_once_release_it_once(tmp_path, database_url):
    home = tmp_path / "kor"
    init_node(home=home, database_url=database_url)
    node.create_identity(home=home, party="KOR", passphrase=PASSPHRASE, at=AT, unsafe_fast_kdf=True)
    node.create_identity(home=tmp_path / "jpn", party="JPN", passphrase=PASSPHRASE, at=AT, unsafe_fast_kdf=True)
    world = read_world()
    kor = node.unlock(home, PASSPHRASE, unsafe_fast_kdf=True)
    folder = tmp_path / "race"
    folder.mkdir()
    db = Database(database_url=database_url)
    service = Disclosures(database=db, home=home)
    draft = records.RecordDraft(
        title="DPRK launch", topics=("dprk-missile",), portions=(records.parse_portion("KOR/MIL-II:JPN:launch"),)
    )
    request_ids = []
    for n in range(ROUNDS):
        record = records.Records(database=db, home=home).create(
            draft, world=world, passphrase=None, node=kor, at=AT, author="choi"
        )
        asked = service.request(ANALYST, "release", world=world, record_id=record.id, party="JPN", on=ON, at=AT)
        request_ids.append(asked.request.id)
        (folder / f"request-{n}").write_text(asked.request.id, encoding="utf-8")

    spreads = race(tmp_path, database_url, folder)
    with db.transaction("inspect") as session:
        releases = list(SqlReleaseStore(session).list())
        entries = [AuditEntry.from_bytes(b) for b in SqlAuditStore(session).entries()]
    assert len(releases) == ROUNDS  # one release per request, never two
    assert len({r.record_id for r in releases}) == ROUNDS
    for request_id in request_ids:
        about = [e for e in entries if e.kind is EntryKind.DISCLOSURE and e.subjects[:1] == (request_id,)]
        approvals = [e for e in about if e.meta["action"] == "disclosure.approve" and "made" in e.meta]
        refusals = [e for e in about if e.meta.get("outcome") == "refused"]
        assert len(approvals) == 1
        assert len(refusals) == 1
        assert "already decided" in str(refusals[0].meta["reason"])
        view = service.get(ANALYST, request_id, world=world)
        assert view.request.state is DisclosureState.APPROVED
        assert view.request.outcome in {r.id for r in releases}
    assert len([e for e in entries if e.kind is EntryKind.RELEASE]) == ROUNDS
    assert AuditLog(database=db, home=home).verify().entries == len(entries)
    db.close()
    # Both processes saw the start file within a few milliseconds of each other.
    print(f"start spread per round (ms): {sorted(round(s, 2) for s in spreads)}")  # noqa: T201
    assert sorted(spreads)[ROUNDS // 2] < 50
