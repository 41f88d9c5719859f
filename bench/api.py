"""HTTP API benchmark: ``accord serve`` under ``wrk``, and what the world cache saves per request.

Run: ``.venv/bin/python bench/api.py [--database-url URL] [--workers N] [--seconds S]``.

It sets up a KOR node in a temporary home (SQLite unless ``--database-url`` names a
PostgreSQL database to use, whose tables it creates), loads the shipped world into the
registry, adds an analyst with an API token, starts the real ``accord serve`` and
drives it with ``wrk`` (a native load generator: a Python client saturates first) on
three endpoints: ``GET /health`` (no auth, no database), ``GET /world/agreements``
(token check + world cache) and ``POST /decisions`` (token check + world cache + the
engine). In-process, it also times reading the world per request from the registry
against the cache's one fingerprint query. Every figure comes from the run that prints
it; the last line is ``RESULT ...``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from accord.crypto.passwords import UNSAFE_FAST_PASSWORDS
from accord.services import node as nodes
from accord.services._database import Database
from accord.services.people import LoginPolicy, People, PersonDraft
from accord.services.registry import Registry, WorldCache
from accord.services.world import init_node, read_world

PASSPHRASE = "bench passphrase"  # noqa: S105 - a throwaway node
PASSWORD = "bench password long enough"  # noqa: S105
QUESTION = {"sender": "KOR", "recipient": "JPN", "level": "KOR/MIL-II", "topics": ["dprk-missile"], "on": "2017-01-01"}


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


def world_read_cost(url: str, rounds: int) -> tuple[float, float]:
    """Microseconds per request: reading the world from the registry, and asking the cache."""
    with Registry(database_url=url) as registry:
        start = time.perf_counter()
        for _ in range(rounds):
            registry.world()
        uncached = (time.perf_counter() - start) / rounds * 1e6
        cache = WorldCache(registry=registry)
        cache.current()
        start = time.perf_counter()
        for _ in range(rounds * 10):
            cache.current()
        cached = (time.perf_counter() - start) / (rounds * 10) * 1e6
    return uncached, cached


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wrk(url: str, seconds: int, *, token: str | None = None, body: dict[str, object] | None = None) -> float:
    """Requests per second ``wrk`` measures (2 threads, 16 connections); non-2xx fails the run."""
    lines = []
    if token:
        lines.append(f'wrk.headers["Authorization"] = "Bearer {token}"')
    if body is not None:
        lines += ['wrk.method = "POST"', 'wrk.headers["Content-Type"] = "application/json"']
        lines.append(f"wrk.body = {json.dumps(json.dumps(body))}")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write("\n".join(lines) + "\n")
    done = subprocess.run(  # noqa: S603 - wrk with fixed arguments
        [shutil.which("wrk") or "wrk", "-t2", "-c16", f"-d{seconds}s", "-s", script.name, url],
        capture_output=True,
        text=True,
        check=True,
    )
    Path(script.name).unlink()
    if "Non-2xx" in done.stdout:
        sys.exit(f"wrk saw errors on {url}:\n{done.stdout}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", done.stdout)
    if match is None:
        sys.exit(f"no rate in wrk's output:\n{done.stdout}")
    return float(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", help="a PostgreSQL URL (default: SQLite in the temporary home)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seconds", type=int, default=5)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="accord-bench-api-"))
    home = root / "home"
    url = args.database_url or f"sqlite:///{root / 'accord.db'}"
    token = setup(home, url)
    uncached, cached = world_read_cost(url, 20)
    speedup = uncached / cached
    print(f"world per request: registry read {uncached:,.0f} us, cache check {cached:,.0f} us ({speedup:,.0f}x)")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCORD_")}
    env |= {
        "ACCORD_HOME": str(home),
        "ACCORD_DATABASE_URL": url,
        "ACCORD_KEY_PASSPHRASE": PASSPHRASE,
        "ACCORD_UNSAFE_FAST_KDF": "1",
    }
    command = [
        str(Path(sys.executable).with_name("accord")),
        "serve",
        "--port",
        str(port),
        "--workers",
        str(args.workers),
    ]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{base}/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        health = wrk(f"{base}/health", args.seconds)
        agreements = wrk(f"{base}/world/agreements?on=2017-01-01", args.seconds, token=token)
        decisions = wrk(f"{base}/decisions", args.seconds, token=token, body=QUESTION)
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(root, ignore_errors=True)
    print(f"GET /health            {health:8,.0f} req/s")
    print(f"GET /world/agreements  {agreements:8,.0f} req/s")
    print(f"POST /decisions        {decisions:8,.0f} req/s ({decisions / health:.2f} of /health)")
    print(
        f"RESULT health_rps={health:.0f} agreements_rps={agreements:.0f} decisions_rps={decisions:.0f} "
        f"world_cache_speedup={speedup:.0f} workers={args.workers}"
    )


if __name__ == "__main__":
    main()
