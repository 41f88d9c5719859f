"""Two ``accord serve`` worker processes on one PostgreSQL database behave as one node.

Concurrent record creations and releases go through both workers; afterwards every
write is stored once, the audit log holds exactly one entry per write, numbered without
gap or collision, and it verifies (``/audit/verify`` and a signed checkpoint).
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from accord.audit.entry import AuditEntry
from accord.services import node as nodes
from accord.services._database import Database
from accord.storage.sql import SqlAuditStore, SqlRecordStore, SqlReleaseStore
from tests.api.conftest import make_home, seed_people
from tests.api.test_serve import Server, node_env

WRITES = 24


def audit_seqs(url):
    with Database(database_url=url) as db, db.transaction("read") as session:
        return [AuditEntry.from_bytes(b).seq for b in SqlAuditStore(session).entries()]


@pytest.mark.postgres
def test_two_workers_write_concurrently_without_loss_or_duplicate(postgres_url, tmp_path):
    home, url = make_home(tmp_path, "KOR", postgres_url)
    tokens = seed_people(home, url)
    jpn = nodes.read_identity(make_home(tmp_path, "JPN")[0]).to_dict()
    server = Server(node_env(home, url), "--workers", "2")
    analyst = {"Authorization": f"Bearer {tokens['analyst']}"}
    officer = {"Authorization": f"Bearer {tokens['officer']}"}
    before = len(audit_seqs(url))

    def create(i):
        body = {
            "title": f"concurrent {i}",
            "topics": ["dprk-missile"],
            "portions": [{"level": "KOR/MIL-II", "rel_to": ["JPN"], "text": f"body {i}"}],
        }
        response = server.client.post("/api/v1/records", json=body, headers=analyst)
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def release(record_id):
        body = {"record_id": record_id, "recipient": "JPN", "on": "2017-01-01", "next_hop": jpn}
        response = server.client.post("/api/v1/releases", json=body, headers=officer)
        assert response.status_code == 200, response.text
        return response.json()["release"]["id"]

    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            created = list(pool.map(create, range(WRITES)))
            released = list(pool.map(release, created))
        verified = server.client.get("/api/v1/audit/verify", headers={"Authorization": f"Bearer {tokens['admin']}"})
        checkpoint = server.client.post(
            "/api/v1/audit/checkpoints", headers={"Authorization": f"Bearer {tokens['security']}"}
        )
    finally:
        log = server.stop()
    workers = set(re.findall(r"Started server process \[(\d+)\]", log))
    assert len(workers) >= 2, log
    assert len(set(created)) == WRITES
    assert len(set(released)) == WRITES
    with Database(database_url=url) as db, db.transaction("read") as session:
        assert len(SqlRecordStore(session).list(limit=1000)) == WRITES
        stored = SqlReleaseStore(session).list(limit=1000)
    assert sorted(r.id for r in stored) == sorted(released)
    seqs = audit_seqs(url)
    assert seqs == list(range(len(seqs)))
    assert len(seqs) - before == 2 * WRITES  # one entry per creation, one per release
    assert verified.status_code == 200
    assert verified.json()["ok"] is True
    assert checkpoint.status_code == 201
    assert checkpoint.json()["size"] == len(seqs)
