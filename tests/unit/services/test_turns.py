"""Read-only transactions and writers' turns on a node database (SQLite and PostgreSQL).

A read-only transaction cannot write (the database refuses it) and, on SQLite, takes no
write lock: it reads while another connection writes. Writers of one process take turns
at SQLite's write lock, urgent work (a FLASH) first; a process's writers also queue
behind another process's through the lock files beside the database, and an urgent
writer there makes ordinary work here pause. The other processes here are real ones.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from contextlib import nullcontext

import pytest
from sqlalchemy import text

from accord.errors import StorageError
from accord.services._database import Database
from accord.services._flash_watch import FlashSignal, signal_flash
from accord.services._turns import WriterTurns, is_urgent, urgent, yield_to_urgent
from accord.services.world import init_node

_PATIENCE = 30.0


def test_a_read_only_transaction_cannot_write(database_url):
    with Database(database_url=database_url) as db:
        with pytest.raises(StorageError, match="cannot count in"), db.reading("count") as session:
            session.execute(text("UPDATE counters SET value = value + 1"))
        with db.transaction("count") as session:  # the same pooled connection writes again
            session.execute(text("UPDATE counters SET value = value + 1 WHERE name = 'records'"))
        with db.reading("count") as session:
            assert session.execute(text("SELECT value FROM counters WHERE name = 'records'")).scalar() == 1


@pytest.fixture
def sqlite_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'node.db'}"
    init_node(home=tmp_path / "home", database_url=url)
    return url


def test_on_sqlite_a_read_only_transaction_reads_while_another_writes(sqlite_url):
    with (
        Database(database_url=sqlite_url) as writer,
        Database(database_url=sqlite_url) as reader,
        writer.transaction("write") as session,
    ):
        session.execute(text("UPDATE counters SET value = 5 WHERE name = 'records'"))
        started = time.monotonic()
        with reader.reading("read") as other:  # a write transaction here would wait for the lock
            value = other.execute(text("SELECT value FROM counters WHERE name = 'records'")).scalar()
        assert time.monotonic() - started < 1.0
        assert value == 0  # the last committed state, not the open write


def test_an_urgent_writer_goes_before_ordinary_ones_waiting():
    turns = WriterTurns(timeout=_PATIENCE)
    order: list[str] = []
    holding, release = threading.Event(), threading.Event()

    def holder():
        with turns.turn("hold"):
            holding.set()
            release.wait(_PATIENCE)

    def writer(name: str, *, first: bool):
        with urgent() if first else nullcontext(), turns.turn(name):
            order.append(name)

    threads = [threading.Thread(target=holder)]
    threads[0].start()
    assert holding.wait(_PATIENCE)
    for name, first in (("routine-1", False), ("routine-2", False), ("flash", True)):
        threads.append(threading.Thread(target=writer, args=(name,), kwargs={"first": first}))
        threads[-1].start()
        time.sleep(0.05)  # each is waiting before the next comes
    release.set()
    for t in threads:
        t.join(_PATIENCE)
    assert order[0] == "flash"  # came last, went first
    assert sorted(order[1:]) == ["routine-1", "routine-2"]


def test_a_write_inside_a_write_of_the_same_thread_is_refused_at_once():
    turns = WriterTurns(timeout=_PATIENCE)
    started = time.monotonic()
    with turns.turn("write"), pytest.raises(StorageError, match="already writing"), turns.turn("write again"):
        pass
    assert time.monotonic() - started < 1.0  # not after the timeout


def test_a_turn_that_does_not_come_in_time_is_a_clear_error():
    turns = WriterTurns(timeout=0.2)
    holding, release = threading.Event(), threading.Event()

    def holder():
        with turns.turn("hold"):
            holding.set()
            release.wait(_PATIENCE)

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert holding.wait(_PATIENCE)
        with pytest.raises(StorageError, match="stayed locked by other work"), turns.turn("write"):
            pass
    finally:
        release.set()
        thread.join(_PATIENCE)


def test_ordinary_work_pauses_while_urgent_work_runs_and_urgent_work_does_not():
    assert not is_urgent()
    paused: list[float] = []
    inside = threading.Event()
    done = threading.Event()

    def flash():
        with urgent():
            assert is_urgent()
            yield_to_urgent()  # urgent work never waits for itself
            inside.set()
            time.sleep(0.1)
        done.set()

    thread = threading.Thread(target=flash)
    thread.start()
    assert inside.wait(_PATIENCE)
    started = time.monotonic()
    yield_to_urgent()  # ordinary: waits for the urgent block to end
    paused.append(time.monotonic() - started)
    thread.join(_PATIENCE)
    assert done.is_set()
    assert paused[0] >= 0.03
    started = time.monotonic()
    yield_to_urgent()  # nothing urgent now: no wait
    assert time.monotonic() - started < 0.05


def test_the_switch_interval_is_cut_only_while_urgent_work_runs():
    before = sys.getswitchinterval()
    with urgent():
        assert sys.getswitchinterval() <= 0.0005
        with urgent():
            assert sys.getswitchinterval() <= 0.0005
        assert sys.getswitchinterval() <= 0.0005  # the outer block still runs
    assert sys.getswitchinterval() == before


_HOLD = """
import sys, time
from accord.services._database import Database
from accord.services._turns import urgent
from sqlalchemy import text
with Database(database_url=sys.argv[1]) as db:
    with (urgent() if sys.argv[2] == "urgent" else open("/dev/null")), db.transaction("hold") as session:
        session.execute(text("UPDATE counters SET value = value + 1 WHERE name = 'records'"))
        print("holding", flush=True)
        time.sleep(float(sys.argv[3]))
print("done", flush=True)
"""


def _hold(url: str, how: str, seconds: float) -> subprocess.Popen[str]:
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", _HOLD, url, how, str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "holding"
    return process


def test_another_processs_writer_gets_in_as_soon_as_the_lock_is_free(sqlite_url):
    other = _hold(sqlite_url, "ordinary", 0.5)
    try:
        with Database(database_url=sqlite_url) as db:
            started = time.monotonic()
            with db.transaction("write") as session:  # waits for the other process's turn
                waited = time.monotonic() - started
                session.execute(text("UPDATE counters SET value = value + 1 WHERE name = 'records'"))
            with db.reading("read") as session:
                assert session.execute(text("SELECT value FROM counters WHERE name = 'records'")).scalar() == 2
        assert 0.2 < waited < 5.0
    finally:
        other.communicate(timeout=_PATIENCE)


def test_ordinary_work_pauses_while_another_process_writes_urgently(sqlite_url):
    with Database(database_url=sqlite_url) as db:
        with db.reading("open the lock files"):
            pass
        with db.transaction("take a turn once"):  # registers this database's lock files here
            pass
        other = _hold(sqlite_url, "urgent", 0.15)
        try:
            started = time.monotonic()
            yield_to_urgent()
            paused = time.monotonic() - started
        finally:
            other.communicate(timeout=_PATIENCE)
        assert 0.05 < paused < 1.0
        started = time.monotonic()
        yield_to_urgent()
        assert time.monotonic() - started < 0.05


def test_a_flash_signal_wakes_the_lane_at_once_and_each_signal_is_taken_once(tmp_path):
    signal_flash(tmp_path)  # no lane listening yet: nothing to do, nothing raised
    lane = FlashSignal(tmp_path)
    try:
        started = time.monotonic()
        assert not lane.wait(0.05)  # nothing signalled: it waited the whole time
        assert time.monotonic() - started >= 0.04
        signal_flash(tmp_path)
        signal_flash(tmp_path)
        started = time.monotonic()
        assert lane.wait(_PATIENCE)  # both signals at once, without waiting
        assert time.monotonic() - started < 1.0
        assert not lane.wait(0.01)  # taken
        woke = threading.Timer(0.05, signal_flash, args=(tmp_path,))
        woke.start()
        assert lane.wait(_PATIENCE)  # another process's signal wakes a waiting lane
        woke.join()
        again = FlashSignal(tmp_path)  # a second lane (another worker) shares the pipe
        again.close()
    finally:
        lane.close()
    (tmp_path / "flash.signal").unlink()
    (tmp_path / "flash.signal").write_text("stale")  # a file of another kind is replaced by the pipe
    FlashSignal(tmp_path).close()
    assert (tmp_path / "flash.signal").is_fifo()
