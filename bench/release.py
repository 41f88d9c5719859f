"""Release pipeline benchmark: decide, tear line, sign, seal, audit and persist, against bare crypto.

Run: ``.venv/bin/python bench/release.py`` (about a minute; needs PostgreSQL on
127.0.0.1:5432 for the second figure, or ``--postgres-url``).

1. Two node identities (KOR sends, JPN receives) with real keys, in a temporary
   directory. ``--records`` (2,000) KOR records are created through the records
   service on each database (SQLite file, then a fresh PostgreSQL schema): one 2 KB
   text portion at KOR/MIL-II releasable to JPN, topic ``dprk-missile``.
2. Pipeline: ``Releases.release_many`` releases every record to JPN as of 2017-01-01
   in transactions of ``--batch`` (100) records: the engine decides, the released
   body is decrypted, the content is signed (Ed25519) and sealed (HPKE,
   ML-KEM-768 + X25519) for JPN, and the release and its audit entry are stored and
   committed. Timed end to end, commits included.
3. Bare crypto, in the same run: signing and sealing the same contents (2 KB body,
   same header) with no decision, no storage and no audit.

It ends with ``RESULT release_per_s_sqlite=<rate> release_per_s_postgres=<rate>
crypto_share=<SQLite pipeline rate / bare crypto rate>``. Targets: at least 2,000
records/s on SQLite, and a crypto share of at least 0.40. The machine may be shared:
the load average is printed before and after, and each pass's process CPU time per
release beside its wall-clock rate (CPU time counts this process only, PostgreSQL's
server work is not in it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import make_url, text

from accord.crypto import Ed25519Signer, seal_release, sign_content
from accord.crypto.keystore import ScryptParams
from accord.domain.world import World
from accord.services import node
from accord.services._database import Database
from accord.services.records import PortionDraft, RecordDraft, Records
from accord.services.releases import ReleaseRequest, Releases
from accord.services.world import init_node, read_world
from accord.storage.sql import make_engine

AT = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
ON = dt.date(2017, 1, 1)
PASSPHRASE = "benchmark passphrase"  # noqa: S105 - a throwaway benchmark node
BODY = ("Launch detected at 05:10 from Sohae; trajectory east-north-east. " * 40)[:2048]


def make_records(db: Database, home: Path, world: World, unlocked: node.UnlockedNode, count: int) -> list[str]:
    service = Records(database=db, home=home)
    draft = RecordDraft(
        title="DPRK launch",
        topics=("dprk-missile",),
        portions=(PortionDraft(level="KOR/MIL-II", rel_to=("JPN",), text=BODY),),
        purpose="warning",
        precedence="PRIORITY",
    )
    return [service.create(draft, world=world, passphrase=None, node=unlocked, at=AT).id for _ in range(count)]


def pipeline_rate(  # noqa: PLR0913 - the benchmark's inputs
    db: Database,
    home: Path,
    world: World,
    kor: node.UnlockedNode,
    jpn: node.NodeIdentity,
    ids: list[str],
    batch: int,
) -> tuple[float, float]:
    """Releases per second (wall clock) and process CPU microseconds per release."""
    service = Releases(database=db, home=home)
    requests = [ReleaseRequest(record_id=i, recipient="JPN", on=ON) for i in ids]
    cpu = time.process_time()
    start = time.perf_counter()
    released = 0
    for offset in range(0, len(requests), batch):
        outcomes = service.release_many(
            requests[offset : offset + batch], world=world, node=kor, next_hops={"JPN": jpn.public}, at=AT
        )
        released += sum(1 for o in outcomes if o.release is not None)
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu
    if released != len(ids):
        sys.exit(f"only {released} of {len(ids)} records were released")
    return len(ids) / elapsed, cpu / len(ids) * 1e6


def bare_crypto_rate(kor: node.UnlockedNode, jpn: node.NodeIdentity, count: int) -> tuple[float, float]:
    """Sign+seal per second (wall clock) and process CPU microseconds per sign+seal."""
    signer = Ed25519Signer(kor.keys)
    fingerprint = "e" * 64
    contents = [
        {
            "format": "accord.release-content/1",
            "release_id": str(uuid.uuid4()),
            "record": {"id": f"KOR-{i}", "originator": "KOR", "title": "DPRK launch", "topics": ["dprk-missile"]},
            "portions": [{"id": "1", "level": "KOR/MIL-II", "rel_to": ["JPN"], "digest": "d" * 64}],
            "recipient": "JPN",
            "on": ON.isoformat(),
            "decision": "c" * 64,
        }
        for i in range(count)
    ]
    bodies = {"1": {"salt": "AAAAAAAAAAAAAAAAAAAAAA==", "text": BODY}}
    cpu = time.process_time()
    start = time.perf_counter()
    for content in contents:
        signed = sign_content(content, signer, bodies=bodies)
        seal_release(signed, jpn.public, agreement_fingerprint=fingerprint, decision_id="c" * 64, sender=signer)
    elapsed = time.perf_counter() - start
    return count / elapsed, (time.process_time() - cpu) / count * 1e6


def fresh_postgres_schema(url: str) -> tuple[str, str]:
    schema = f"accord_bench_{uuid.uuid4().hex[:12]}"
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    scoped = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    return scoped.render_as_string(hide_password=False), schema


def drop_postgres_schema(url: str, schema: str) -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


def run_backend(  # noqa: PLR0913 - the benchmark's inputs
    name: str, url: str, root: Path, world: World, jpn: node.NodeIdentity, args: argparse.Namespace
) -> float:
    home = root / f"kor-{name}"
    init_node(home=home, database_url=url)
    node.create_identity(home=home, party="KOR", passphrase=PASSPHRASE, at=AT, scrypt=ScryptParams(n=2**14))
    kor = node.unlock(home, PASSPHRASE)
    db = Database(database_url=url)
    try:
        passes = []
        for _ in range(args.passes):
            ids = make_records(db, home, world, kor, args.records)
            passes.append(pipeline_rate(db, home, world, kor, jpn, ids, args.batch))
    finally:
        db.close()
    rate = statistics.median(r for r, _ in passes)
    shown = ", ".join(f"{r:.0f}/s {c:.0f} us" for r, c in passes)
    print(f"{name:>10}: {rate:8.0f} releases/s  (passes, rate and CPU per release: {shown})")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description="Accord's release pipeline against the bare crypto it runs.")
    parser.add_argument("--records", type=int, default=2000, help="records released per pass")
    parser.add_argument("--batch", type=int, default=100, help="releases per transaction")
    parser.add_argument("--passes", type=int, default=3, help="timed passes per backend (median reported)")
    parser.add_argument("--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    print("load average before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    world = read_world()
    with tempfile.TemporaryDirectory(prefix="accord-bench-") as tmp:
        root = Path(tmp)
        jpn_home = root / "jpn"
        jpn = node.create_identity(
            home=jpn_home, party="JPN", passphrase=PASSPHRASE, at=AT, scrypt=ScryptParams(n=2**14)
        )
        kor_keys = root / "kor-keys"
        node.create_identity(home=kor_keys, party="KOR", passphrase=PASSPHRASE, at=AT, scrypt=ScryptParams(n=2**14))
        unlocked = node.unlock(kor_keys, PASSPHRASE)
        bare_passes = [bare_crypto_rate(unlocked, jpn, args.records) for _ in range(args.passes)]
        bare = statistics.median(r for r, _ in bare_passes)
        print(f"{len(BODY)}-byte records, {args.records} per pass, {args.batch} per transaction")
        shown = ", ".join(f"{r:.0f}/s {c:.0f} us" for r, c in bare_passes)
        print(f"{'bare':>10}: {bare:8.0f} sign+seal/s  (passes, rate and CPU per sign+seal: {shown})")
        sqlite = run_backend("sqlite", f"sqlite:///{root / 'kor.db'}", root, world, jpn, args)
        scoped, schema = fresh_postgres_schema(args.postgres_url)
        try:
            postgres = run_backend("postgres", scoped, root, world, jpn, args)
        finally:
            drop_postgres_schema(args.postgres_url, schema)
    share = sqlite / bare
    print(f"crypto share (SQLite pipeline / bare crypto): {share:.2f}")
    print("load average after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    print(f"\nRESULT release_per_s_sqlite={sqlite:.0f} release_per_s_postgres={postgres:.0f} crypto_share={share:.2f}")


if __name__ == "__main__":
    main()
