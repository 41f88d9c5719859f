"""``Database.lease``: one holder per name at a time, never waiting; across connections on
PostgreSQL (an advisory lock), across processes on SQLite (a file lock beside the database,
so ``accord peers deliver`` beside ``accord serve`` skips a peer being delivered); released
at the end of the block, and when the holding process is killed.
The delivery loop starts again after a stop (an app's lifespan may run more than once), and
runs again at once after a full run (a backlog is not held to one run per interval).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import uuid

import pytest

from accord.services import node as nodes
from accord.services._database import Database
from accord.services.exchange import DeliveryLoop, DeliveryOptions, Exchange
from accord.services.outbox import Delivery
from tests.api.conftest import PASSPHRASE, make_home


def check_exclusive(first: Database, second: Database) -> None:
    name = f"accord.test-lease.{uuid.uuid4()}"
    with first.lease(name) as held:
        assert held
        with second.lease(name) as other:
            assert not other  # taken: the second one skips, it does not wait
        with second.lease(name + ".other") as unrelated:
            assert unrelated
    with second.lease(name) as again:
        assert again  # released at the end of the block


def test_sqlite_lease_is_exclusive_within_the_process(tmp_path):
    url = f"sqlite:///{tmp_path / 'lease.db'}"
    with Database(database_url=url) as first, Database(database_url=url) as second:
        check_exclusive(first, second)


HOLDER = """
import sys, time
from accord.services._database import Database
with Database(database_url=sys.argv[1]) as db, db.lease(sys.argv[2]) as held:
    print("held" if held else "not held", flush=True)
    time.sleep(600)
"""


def test_sqlite_lease_excludes_another_process_until_it_dies(tmp_path):
    url = f"sqlite:///{tmp_path / 'lease.db'}"
    name = "accord.outbox.JPN"
    holder = subprocess.Popen(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", HOLDER, url, name], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        with Database(database_url=url) as db:
            with db.lease(name) as held:
                assert not held  # the other process delivers this peer: skip it
            with db.lease("accord.outbox.USA") as other:
                assert other
            holder.send_signal(signal.SIGKILL)  # killed mid-run: the system releases its lock
            holder.wait(timeout=30)
            with db.lease(name) as held:
                assert held
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()


@pytest.mark.postgres
def test_postgres_lease_is_an_advisory_lock_between_connections(postgres_url):
    with Database(database_url=postgres_url) as first, Database(database_url=postgres_url) as second:
        check_exclusive(first, second)


def test_the_delivery_loop_runs_again_after_a_stop(tmp_path):
    home, url = make_home(tmp_path, "KOR")
    unlocked = nodes.unlock(home, PASSPHRASE, unsafe_fast_kdf=True)
    with Exchange(database=Database(database_url=url), home=home) as exchange:
        loop = DeliveryLoop(exchange, node=unlocked, interval=0.05)
        for _ in range(2):  # an app's lifespan may start and stop it more than once
            loop.start()
            loop.start()  # already running: nothing more
            time.sleep(0.2)
            loop.stop()
        assert exchange.deliver(node=unlocked) == []  # no peer with a URL: nothing to do


class NothingDue:
    def due(self, *, at):  # noqa: ARG002 - the watch's signature
        return False

    def wait(self, timeout):
        time.sleep(timeout)
        return False

    def close(self):
        pass


class CountingExchange:
    """An exchange whose first runs each send a full run (``limit`` items), then nothing; no FLASH ever due."""

    def flash_watch(self, node):  # noqa: ARG002 - the exchange's signature
        return NothingDue()

    def flash_signal(self):
        return NothingDue()

    def __init__(self, full_runs: int) -> None:
        self.full_runs, self.runs = full_runs, 0

    def deliver(self, *, options, lane, **_):
        if lane == "flash":  # the lane's first run, before its watch (which never sees a FLASH here)
            return []
        self.runs += 1
        sent = options.limit if self.runs <= self.full_runs else 0
        return [Delivery(peer="JPN", sent=sent)]


def test_the_delivery_loop_goes_on_at_once_after_a_full_run_and_waits_after_a_short_one(tmp_path):
    home, _ = make_home(tmp_path, "KOR")
    unlocked = nodes.unlock(home, PASSPHRASE, unsafe_fast_kdf=True)
    exchange = CountingExchange(full_runs=3)
    loop = DeliveryLoop(exchange, node=unlocked, interval=3600, options=DeliveryOptions())
    loop.start()
    try:
        deadline = time.monotonic() + 60
        while exchange.runs < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert exchange.runs == 4  # three full runs back to back, then the short one
        time.sleep(0.3)
        assert exchange.runs == 4  # after a short run it waits out the interval
    finally:
        loop.stop()
