"""Fixtures shared by every test package: a PostgreSQL database of the test's own.

``postgres_server_url`` (session) is ``TEST_DATABASE_URL`` or the local server; when it
does not answer, tests needing it are skipped, or fail when ``CI=true``.
``postgres_url`` gives each test a fresh, uniquely named schema on that server (its
URL sets the ``search_path``) and drops it afterwards, so parallel runs and reruns
never see each other's tables; ``postgres_module_url`` does the same per module. Mark
such tests ``@pytest.mark.postgres``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Engine, make_url, text
from sqlalchemy.exc import SQLAlchemyError

from accord.storage.sql import make_engine, redact

_LOCAL_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    """The URL of the test PostgreSQL server, checked to answer."""
    url = os.environ.get("TEST_DATABASE_URL") or _LOCAL_POSTGRES
    # A firewalled host would otherwise hang the session: libpq waits forever by default.
    probe = make_engine(make_url(url).update_query_dict({"connect_timeout": "5"}).render_as_string(hide_password=False))
    try:
        with probe.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as e:
        detail = str(getattr(e, "orig", None) or e).strip().splitlines()[0]
        reason = f"PostgreSQL at {redact(url)} does not answer: {detail}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL tests must run in CI: {reason}")
        pytest.skip(reason)
    finally:
        probe.dispose()
    return url


@pytest.fixture(scope="session")
def _postgres_admin(postgres_server_url: str) -> Iterator[Engine]:
    engine = make_engine(postgres_server_url)
    yield engine
    engine.dispose()


@contextmanager
def _fresh_schema(admin: Engine) -> Iterator[str]:
    schema = f"accord_test_{uuid.uuid4().hex}"
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(admin.url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            # A connection the test forgot to close would block the drop forever.
            connection.execute(text("SET LOCAL lock_timeout = '10s'"))
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture
def postgres_url(_postgres_admin: Engine) -> Iterator[str]:
    """A URL whose every table lands in a new, empty schema, dropped after the test."""
    with _fresh_schema(_postgres_admin) as url:
        yield url


@pytest.fixture(scope="module")
def postgres_module_url(_postgres_admin: Engine) -> Iterator[str]:
    """As ``postgres_url``, shared by a module's tests (which must clean up after themselves)."""
    with _fresh_schema(_postgres_admin) as url:
        yield url
