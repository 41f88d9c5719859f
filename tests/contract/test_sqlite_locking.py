"""SQLite transactions take the write lock at BEGIN, so a read-then-write waits its turn.

With a deferred BEGIN, a transaction that read before another process committed a write
fails at its own first write with "database is locked" (SQLite cannot upgrade a stale
read snapshot, and the busy timeout does not apply). Services read, decide, then write
in one transaction, so that failure would reach users.
"""

from __future__ import annotations

import threading

from sqlalchemy import text

from accord.storage.sql import make_engine


def test_read_then_write_transactions_serialise_instead_of_failing(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'lock.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
        conn.execute(text("INSERT INTO t VALUES (0)"))
    first_has_read = threading.Event()
    errors: list[BaseException] = []

    def reader_then_writer() -> None:
        try:
            with engine.begin() as conn:
                n = conn.execute(text("SELECT max(n) FROM t")).scalar_one()
                first_has_read.set()
                threading.Event().wait(0.3)  # the other writer tries to commit meanwhile
                conn.execute(text("INSERT INTO t VALUES (:n)"), {"n": n + 1})
        except BaseException as e:  # noqa: BLE001 - reported by the assertion below
            errors.append(e)

    def other_writer() -> None:
        first_has_read.wait(5)
        try:
            with engine.begin() as conn:
                n = conn.execute(text("SELECT max(n) FROM t")).scalar_one()
                conn.execute(text("INSERT INTO t VALUES (:n)"), {"n": n + 1})
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=reader_then_writer), threading.Thread(target=other_writer)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert errors == []
    with engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM t ORDER BY n")).scalars().all() == [0, 1, 2]
    engine.dispose()
