"""Property-based fuzzing of the API from its own OpenAPI document (schemathesis), in-process.

Every operation gets a bounded number of generated requests, valid and invalid, as an
analyst and as a disclosure officer. No answer may be a server error (5xx), and a
request that is refused (4xx) must leave every table as it was; the audit log may only
gain entries recording refusals.
"""

from __future__ import annotations

import hashlib
import sqlite3

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from accord.audit.entry import AuditEntry
from tests.api.conftest import build

EXAMPLES = 10  # per operation, mode and person: the whole run stays well under two minutes
UNAUDITED = {"audit_entries", "counters", "alembic_version"}


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory):
    return build(tmp_path_factory.mktemp("fuzz"))


def database_path(api) -> str:
    return api.url.removeprefix("sqlite:///")


def snapshot(path: str) -> tuple[str, int]:
    """A digest of every table but the audit log's, and the audit log's length."""
    with sqlite3.connect(path) as connection:
        tables = [
            name
            for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")
            if name not in UNAUDITED
        ]
        digest = hashlib.sha256()
        for table in tables:
            for row in connection.execute(f'SELECT * FROM "{table}" ORDER BY 1'):  # noqa: S608 - names from the schema
                digest.update(repr(row).encode())
        (entries,) = connection.execute("SELECT count(*) FROM audit_entries").fetchone()
    connection.close()
    return digest.hexdigest(), entries


def new_entries(path: str, start: int) -> list[AuditEntry]:
    with sqlite3.connect(path) as connection:
        rows = connection.execute("SELECT entry FROM audit_entries WHERE seq >= ? ORDER BY seq", (start,)).fetchall()
    connection.close()
    return [AuditEntry.from_bytes(bytes(data)) for (data,) in rows]


def operations(app):
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.slow
@pytest.mark.parametrize("who", ["analyst", "officer"])
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_no_server_error_and_refusals_change_nothing(fuzzed, who, mode):
    path = database_path(fuzzed)
    headers = fuzzed.auth(who)
    seen: dict[int, int] = {}
    skipped: list[str] = []
    for operation in operations(fuzzed.client.app):

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def check(case):
            before, count = snapshot(path)
            response = case.call(headers=headers)
            seen[response.status_code] = seen.get(response.status_code, 0) + 1
            assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.text[:300]}"
            if response.status_code >= 400:
                after, _ = snapshot(path)
                assert after == before, f"{case.method} {case.formatted_path} was refused but changed data"
                for entry in new_entries(path, count):
                    assert entry.meta.get("outcome") in {"refused", "failed"}, (case.method, case.path, entry)

        try:
            check()
        except Unsatisfiable:
            # An operation with nothing to make invalid (no parameters, no body) has no negative cases.
            assert mode is GenerationMode.NEGATIVE, f"{operation.method} {operation.path}"
            skipped.append(operation.path)
    assert any(400 <= status < 500 for status in seen)
    assert len(skipped) < len(operations(fuzzed.client.app)) / 2, skipped
