"""``Database.lease``: one holder per name at a time, never waiting; across processes' connections on
PostgreSQL (an advisory lock), within the process on SQLite; released at the end of the block.
"""

from __future__ import annotations

import uuid

import pytest

from accord.services._database import Database


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


@pytest.mark.postgres
def test_postgres_lease_is_an_advisory_lock_between_connections(postgres_url):
    with Database(database_url=postgres_url) as first, Database(database_url=postgres_url) as second:
        check_exclusive(first, second)
