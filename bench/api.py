"""HTTP API benchmark: decisions and the inbox under ``wrk`` with 4 connections, against a bare app.

Run: ``.venv/bin/python bench/api.py [--database-url URL] [--seconds S] [--inbox N]``.

It sets up a KOR node in a temporary home (SQLite unless ``--database-url`` names a
PostgreSQL database to use, whose tables it creates), loads the shipped world into the
registry, adds an analyst with an API token, and has a JPN node release ``--inbox``
records to KOR, which receives them (so ``GET /inbox`` has a few hundred releases to
filter and page). It then serves, one after the other with the same uvicorn settings as
``accord serve`` (one worker, loopback), (a) a bare FastAPI app whose one route returns
a constant and (b) the real node (``accord serve``), and drives each with ``wrk -t4 -c4
--latency`` (a native load generator: a Python client saturates first): the bare route,
``POST /api/v1/decisions`` and ``GET /api/v1/inbox``. Every figure comes from this run;
it prints the load average before and after and ends with ``RESULT decide_rps=...
inbox_rps=... ratio_vs_bare=... p99_ms=...`` (p99 of the decision endpoint).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from accord.crypto.passwords import UNSAFE_FAST_PASSWORDS
from accord.services import node as nodes
from accord.services._database import Database
from accord.services.people import LoginPolicy, People, PersonDraft
from accord.services.records import RecordDraft, Records, parse_portion
from accord.services.registry import Registry
from accord.services.releases import ReleaseRequest, Releases
from accord.services.world import init_node, read_world

PASSPHRASE = "bench passphrase"  # noqa: S105 - a throwaway node
PASSWORD = "bench password long enough"  # noqa: S105
QUESTION = {"sender": "KOR", "recipient": "JPN", "level": "KOR/MIL-II", "topics": ["dprk-missile"], "on": "2017-01-01"}
CONNECTIONS = 4
THREADS = 4


@dataclass(frozen=True)
class Run:
    """What ``wrk`` measured on one endpoint."""

    rps: float
    p99_ms: float


def setup(home: Path, url: str) -> str:
    """A node with the shipped world in its registry and an analyst; the analyst's token."""
    init_node(home=home, database_url=url)
    nodes.create_identity(home=home, party="KOR", passphrase=PASSPHRASE, at=nodes.utc_now(), unsafe_fast_kdf=True)
    world = read_world()
    with Registry(database_url=url) as registry:
        registry.load_world(world)
    policy = LoginPolicy(passwords=UNSAFE_FAST_PASSWORDS)
    with People(database=Database(database_url=url), home=home, policy=policy) as people:
        people.bootstrap(PersonDraft(id="admin"), password=PASSWORD, world=world)
        admin = people.authenticate_password("admin", PASSWORD)
        draft = PersonDraft(id="analyst", clearance="KOR/MIL-II", need_to_know=("dprk-missile",), roles=("analyst",))
        people.add(admin, draft, world=world, password=PASSWORD)
        return people.issue_token(people.authenticate_password("analyst", PASSWORD), name="bench").token


def fill_inbox(root: Path, home: Path, url: str, count: int) -> None:
    """A JPN node releases ``count`` records to KOR; KOR receives every one."""
    world = read_world()
    jpn_home, jpn_url = root / "jpn", f"sqlite:///{root / 'jpn.db'}"
    init_node(home=jpn_home, database_url=jpn_url)
    nodes.create_identity(home=jpn_home, party="JPN", passphrase=PASSPHRASE, at=nodes.utc_now(), unsafe_fast_kdf=True)
    jpn = nodes.unlock(jpn_home, PASSPHRASE, unsafe_fast_kdf=True)
    kor = nodes.unlock(home, PASSPHRASE, unsafe_fast_kdf=True)
    with Records(database=Database(database_url=jpn_url), home=jpn_home) as records:
        ids = [
            records.create(
                RecordDraft(
                    title=f"JPN track {i}",
                    topics=("dprk-missile",),
                    portions=(parse_portion(f"JPN/HI:KOR:radar track {i}"),),
                ),
                world=world,
                passphrase=None,
                node=jpn,
            ).id
            for i in range(count)
        ]
    wanted = [ReleaseRequest(record_id=i, recipient="KOR", on=dt.date(2024, 1, 1)) for i in ids]
    with Releases(database=Database(database_url=jpn_url), home=jpn_home) as releases:
        outcomes = releases.release_many(wanted, world=world, node=jpn, next_hops={"KOR": kor.identity.public})
    with Releases(database=Database(database_url=url), home=home) as releases:
        for outcome in outcomes:
            if outcome.message is None:
                sys.exit(f"JPN could not release to KOR: {outcome.decision.reasons}")
            releases.receive(outcome.message.to_bytes(), world=world, node=kor, sender=jpn.identity)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wrk(url: str, seconds: int, *, token: str | None = None, body: dict[str, object] | None = None) -> Run:
    """Requests per second and p99 latency ``wrk`` measures (4 threads, 4 connections); non-2xx fails the run."""
    lines = []
    if token:
        lines.append(f'wrk.headers["Authorization"] = "Bearer {token}"')
    if body is not None:
        lines += ['wrk.method = "POST"', 'wrk.headers["Content-Type"] = "application/json"']
        lines.append(f"wrk.body = {json.dumps(json.dumps(body))}")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write("\n".join(lines) + "\n")
    command = [shutil.which("wrk") or "wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency"]
    done = subprocess.run(  # noqa: S603 - wrk with fixed arguments
        [*command, "-s", script.name, url], capture_output=True, text=True, check=True
    )
    Path(script.name).unlink()
    if "Non-2xx" in done.stdout:
        sys.exit(f"wrk saw errors on {url}:\n{done.stdout}")
    rate = re.search(r"Requests/sec:\s+([\d.]+)", done.stdout)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\b", done.stdout, re.MULTILINE)
    if rate is None or p99 is None:
        sys.exit(f"no rate or p99 in wrk's output:\n{done.stdout}")
    scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}[p99.group(2)]
    return Run(rps=float(rate.group(1)), p99_ms=float(p99.group(1)) * scale)


def serve_bare(port: int) -> None:
    """Serve the bare app: one route returning a constant, with ``accord serve``'s uvicorn settings."""
    import uvicorn  # noqa: PLC0415 - only the bare server process needs it
    from fastapi import FastAPI  # noqa: PLC0415

    app = FastAPI(docs_url=None, redoc_url=None)

    @app.get("/constant")
    def constant() -> dict[str, str]:
        return {"status": "ok"}

    uvicorn.run(app, host="127.0.0.1", port=port, workers=1, log_level="info", server_header=False)


def started(command: list[str], env: dict[str, str], health: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
    for _ in range(600):
        try:
            if httpx.get(health).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.1)
    process.terminate()
    sys.exit(f"{command[0]} did not start")


def stopped(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait(timeout=30)


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", help="a PostgreSQL URL (default: SQLite in the temporary home)")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--inbox", type=int, default=300, help="received releases in the inbox")
    parser.add_argument("--serve-bare", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        serve_bare(args.serve_bare)
        return
    root = Path(tempfile.mkdtemp(prefix="accord-bench-api-"))
    home = root / "home"
    url = args.database_url or f"sqlite:///{root / 'accord.db'}"
    try:
        token = setup(home, url)
        fill_inbox(root, home, url, args.inbox)
        print(f"load average before: {load()}")
        port = free_port()
        bare = started(
            [sys.executable, __file__, "--serve-bare", str(port)], dict(os.environ), f"http://127.0.0.1:{port}/constant"
        )
        try:
            baseline = wrk(f"http://127.0.0.1:{port}/constant", args.seconds)
        finally:
            stopped(bare)
        env = {k: v for k, v in os.environ.items() if not k.startswith("ACCORD_")}
        env |= {
            "ACCORD_HOME": str(home),
            "ACCORD_DATABASE_URL": url,
            "ACCORD_KEY_PASSPHRASE": PASSPHRASE,
            "ACCORD_UNSAFE_FAST_KDF": "1",
        }
        port = free_port()
        base = f"http://127.0.0.1:{port}/api/v1"
        accord = str(Path(sys.executable).with_name("accord"))
        server = started([accord, "serve", "--port", str(port), "--workers", "1"], env, f"{base}/health")
        try:
            listed = httpx.get(f"{base}/inbox?limit=200", headers={"Authorization": f"Bearer {token}"}).json()
            if len(listed["items"]) < min(args.inbox, 50):
                sys.exit(f"the inbox holds {len(listed['items'])} releases the analyst may open, not {args.inbox}")
            decide = wrk(f"{base}/decisions", args.seconds, token=token, body=QUESTION)
            inbox = wrk(f"{base}/inbox", args.seconds, token=token)
        finally:
            stopped(server)
        print(f"load average after: {load()}")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"wrk -t{THREADS} -c{CONNECTIONS} --latency, {args.seconds} s each, one worker, {url.split(':')[0]}")
    print(f"bare FastAPI constant  {baseline.rps:8,.0f} req/s  p99 {baseline.p99_ms:7.2f} ms")
    print(f"POST /decisions        {decide.rps:8,.0f} req/s  p99 {decide.p99_ms:7.2f} ms")
    print(f"GET /inbox ({args.inbox} held) {inbox.rps:8,.0f} req/s  p99 {inbox.p99_ms:7.2f} ms")
    print(
        f"RESULT decide_rps={decide.rps:.0f} inbox_rps={inbox.rps:.0f} "
        f"ratio_vs_bare={decide.rps / baseline.rps:.3f} p99_ms={decide.p99_ms:.2f}"
    )


if __name__ == "__main__":
    main()
