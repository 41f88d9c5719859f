"""Two officers approve the same request at the same moment through two ``accord serve`` processes.

Two separate server processes share one PostgreSQL database; each round an analyst
asks for a release, then two disclosure officers (neither asked, the record has no
author) approve it on a shared start signal, one through each process. Exactly one
approval answers 200 and seals one release; the other answers 409 (problem+json,
"already decided"); the database holds one release per request.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from accord.services import node as nodes
from accord.services._database import Database
from accord.services.people import People, PersonDraft
from accord.storage.sql import SqlReleaseStore
from tests.api.conftest import FAST, PASSWORD, WORLD, make_home, seed_people, write_record
from tests.api.test_serve import Server, node_env

ROUNDS = 6


def second_officer(home, url) -> str:
    with People(database=Database(database_url=url), home=home, policy=FAST) as people:
        admin = people.authenticate_password("admin", PASSWORD)
        draft = PersonDraft(
            id="officer2", clearance="KOR/MIL-II", need_to_know=("dprk-missile",), roles=("disclosure-officer",)
        )
        people.add(admin, draft, world=WORLD, password=PASSWORD)
        return people.issue_token(people.authenticate_password("officer2", PASSWORD), name="race").token


@pytest.mark.postgres
def test_two_officers_on_two_processes_release_once(postgres_url, tmp_path):
    home, url = make_home(tmp_path, "KOR", postgres_url)
    tokens = seed_people(home, url) | {"officer2": second_officer(home, url)}
    jpn = nodes.read_identity(make_home(tmp_path, "JPN")[0]).to_dict()
    record_id = write_record(home, url, "KOR/MIL-II:JPN:race body", title="Race")
    env = node_env(home, url)
    first, second = Server(env), Server(env)
    try:
        analyst = {"Authorization": f"Bearer {tokens['analyst']}"}
        outcomes = []
        for _ in range(ROUNDS):
            body = {"kind": "release", "record_id": record_id, "party": "JPN", "on": "2017-01-01"}
            asked = first.client.post("/api/v1/disclosures", json=body, headers=analyst)
            assert asked.status_code == 201, asked.text
            request_id = asked.json()["id"]
            start = threading.Barrier(2)

            def approve(pair, request_id=request_id, start=start):
                server, who = pair
                start.wait()
                return server.client.post(
                    f"/api/v1/disclosures/{request_id}/approve",
                    json={"next_hop": jpn},
                    headers={"Authorization": f"Bearer {tokens[who]}"},
                )

            with ThreadPoolExecutor(max_workers=2) as pool:
                answers = list(pool.map(approve, [(first, "officer"), (second, "officer2")]))
            outcomes.append((request_id, answers))
    finally:
        first.stop()
        second.stop()
    assert first.process.pid != second.process.pid
    with Database(database_url=url) as db, db.transaction("read") as session:
        stored = SqlReleaseStore(session).list(limit=1000)
    assert len(stored) == ROUNDS
    for request_id, answers in outcomes:
        assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
        won = next(a for a in answers if a.status_code == 200).json()
        lost = next(a for a in answers if a.status_code == 409)
        assert won["request"]["id"] == request_id
        assert lost.headers["content-type"] == "application/problem+json"
        assert "already decided" in lost.json()["detail"]
    assert sorted(r.id for r in stored) == sorted(
        next(a for a in answers if a.status_code == 200).json()["release"]["release"]["id"] for _, answers in outcomes
    )
