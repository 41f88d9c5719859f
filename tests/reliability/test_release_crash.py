"""Crash safety of the release pipeline: SIGKILL a releasing node at random moments, many times.

A worker process (``release_worker.py``) creates and releases records in a loop, on
SQLite and on PostgreSQL. The test kills it with SIGKILL after a random delay, then
checks, from the stores alone, that the audit log verifies (entries, leaf hashes,
signed checkpoints) and that every committed record and release has its audit entry
and every entry its record or release: no change without its entry, no entry without
its change. The worker then starts again on the same node, and the next round runs.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from accord.audit.entry import AuditEntry, EntryKind
from accord.crypto.keystore import ScryptParams
from accord.services import node
from accord.services._database import Database
from accord.services.audit import AuditLog
from accord.services.world import init_node
from accord.storage.sql import SqlAuditStore, SqlRecordStore, SqlReleaseStore
from accord.storage.values import MAX_PAGE

WORKER = Path(__file__).with_name("release_worker.py")
PASSPHRASE = "crash test passphrase"  # noqa: S105 - a test passphrase
AT = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)

pytestmark = pytest.mark.slow


def check_stores(db: Database, home: Path) -> tuple[int, int]:
    report = AuditLog(database=db, home=home).verify()  # raises on any bad entry or checkpoint
    with db.transaction("inspect") as session:
        entries = [AuditEntry.from_bytes(b) for b in SqlAuditStore(session).entries()]
        record_ids = {s.record.id for s in _all_records(SqlRecordStore(session))}
        release_ids = {r.id for r in _all_releases(SqlReleaseStore(session))}
    assert report.entries == len(entries)
    created = {e.subjects[0] for e in entries if e.kind is EntryKind.RECORD}
    sealed = {e.subjects[1] for e in entries if e.kind is EntryKind.RELEASE and e.meta.get("outcome") == "allowed"}
    assert created == record_ids, "a record without its entry, or an entry without its record"
    assert sealed == release_ids, "a release without its entry, or an entry without its release"
    return len(record_ids), len(release_ids)


def _all_records(store):
    out, after = [], None
    while page := store.list(after=after, limit=MAX_PAGE):
        out.extend(page)
        after = page[-1].record.id
    return out


def _all_releases(store):
    out, after = [], None
    while page := store.list(after=after, limit=MAX_PAGE):
        out.extend(page)
        after = page[-1].id
    return out


def run_rounds(tmp_path: Path, url: str, rounds: int) -> None:
    home = tmp_path / "kor"
    init_node(home=home, database_url=url)
    node.create_identity(home=home, party="KOR", passphrase=PASSPHRASE, at=AT, scrypt=ScryptParams(n=2**14))
    node.create_identity(home=tmp_path / "jpn", party="JPN", passphrase=PASSPHRASE, at=AT, scrypt=ScryptParams(n=2**14))
    rng = random.Random(20261122)  # noqa: S311 - test timing, not secrets
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCORD_")}
    released = 0
    for round_ in range(rounds):
        worker = subprocess.Popen(  # noqa: S603 - our own worker script
            [sys.executable, str(WORKER), str(home), url, str(tmp_path / "jpn" / "node.json"), str(round_)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        try:
            assert worker.stdout is not None
            line = worker.stdout.readline()
            assert line.strip() == "ready", worker.stderr.read() if worker.stderr else line
            if round_ % 2:
                # Every other round waits for a first batch to commit, so that real work
                # happens between kills however slow the machine is; the others may kill
                # before anything commits.
                progress = worker.stdout.readline()
                assert progress.strip().isdigit(), worker.stderr.read() if worker.stderr else progress
            time.sleep(rng.uniform(0.0, 0.4))  # kill somewhere in the middle of the work
            assert worker.poll() is None, f"the worker stopped by itself: {worker.stderr.read()}"
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=30)
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
            for stream in (worker.stdout, worker.stderr):
                if stream is not None:
                    stream.close()
        assert worker.returncode == -signal.SIGKILL
        db = Database(database_url=url)
        try:
            _, released = check_stores(db, home)
        finally:
            db.close()
    assert released > 0  # the worker did real work between kills (and every other round waited for it)


def test_sigkill_while_releasing_on_sqlite(tmp_path):
    run_rounds(tmp_path, f"sqlite:///{tmp_path / 'kor.db'}", rounds=50)


@pytest.mark.postgres
def test_sigkill_while_releasing_on_postgres(tmp_path, postgres_url):
    run_rounds(tmp_path, postgres_url, rounds=20)
