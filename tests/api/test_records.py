"""Records over HTTP: write one as the principal, list and read what one is cleared for."""

from __future__ import annotations

from accord.audit.entry import AuditEntry
from accord.services._database import Database
from accord.storage.sql import SqlAuditStore, SqlRecordStore

V1 = "/api/v1"


def draft(*portions, title="Test record", topics=("dprk-missile",)):
    return {
        "title": title,
        "topics": list(topics),
        "portions": [{"level": level, "rel_to": ["JPN"], "text": text} for level, text in portions],
    }


def audit_entries(api):
    with Database(database_url=api.url) as db, db.transaction("read") as session:
        return [AuditEntry.from_bytes(b) for b in SqlAuditStore(session).entries()]


def record_count(api):
    with Database(database_url=api.url) as db, db.transaction("read") as session:
        return len(SqlRecordStore(session).list(limit=1000))


def test_an_analyst_writes_a_record_that_is_audited_with_them(api):
    response = api.post(f"{V1}/records", "analyst", json=draft(("KOR/MIL-II", "the text")))
    assert response.status_code == 201
    record_id = response.json()["id"]
    assert record_id.startswith("KOR-")
    entry = audit_entries(api)[-1]
    assert entry.subjects == (record_id,)
    assert entry.meta["action"] == "record.create"
    assert entry.meta["person"] == "analyst"
    shown = api.get(f"{V1}/records/{record_id}", "analyst").json()
    assert shown["title"] == "Test record"
    assert shown["portions"] == [{"id": "1", "level": "KOR/MIL-II", "rel_to": ["JPN"], "text": "the text"}]
    read = audit_entries(api)[-1]
    assert (read.meta["action"], read.meta["person"], read.meta["outcome"]) == ("record.read", "analyst", "allowed")


def test_an_author_cannot_write_above_their_clearance_and_nothing_is_stored(api):
    before = record_count(api)
    response = api.post(f"{V1}/records", "low", json=draft(("KOR/MIL-II", "too high")))
    assert response.status_code == 422
    assert "below KOR/MIL-II" in response.json()["detail"]
    assert record_count(api) == before
    assert audit_entries(api)[-1].meta["outcome"] == "refused"


def test_a_bad_level_is_refused_with_the_known_ones_and_nothing_is_stored(api):
    before = record_count(api)
    response = api.post(f"{V1}/records", "analyst", json=draft(("KOR/NOPE", "x")))
    assert response.status_code == 404
    assert record_count(api) == before


def test_only_analysts_write_records(api):
    assert api.post(f"{V1}/records", "officer", json=draft(("KOR/MIL-III", "x"))).status_code == 403


def test_the_list_pages_with_stable_cursors_under_inserts(api):
    for i in range(3):
        api.post(f"{V1}/records", "analyst", json=draft(("KOR/MIL-III", f"n{i}"), title=f"paged {i}"))
    first = api.get(f"{V1}/records", "analyst", params={"limit": 2}).json()
    assert len(first["items"]) == 2
    assert "portions" in first["items"][0]
    assert all("text" not in p for item in first["items"] for p in item["portions"])
    # A record added now goes at the end: the next page starts where the first ended.
    api.post(f"{V1}/records", "analyst", json=draft(("KOR/MIL-III", "late"), title="late"))
    ids = [r["id"] for r in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = api.get(f"{V1}/records", "analyst", params={"limit": 2, "cursor": cursor}).json()
        ids += [r["id"] for r in page["items"]]
        cursor = page["next_cursor"]
    everything = api.get(f"{V1}/records", "analyst", params={"limit": 200}).json()
    assert ids == [r["id"] for r in everything["items"]]
    assert len(ids) == len(set(ids))


def test_a_limit_out_of_bounds_is_refused(api):
    assert api.get(f"{V1}/records", "analyst", params={"limit": 0}).status_code == 422
    assert api.get(f"{V1}/records", "analyst", params={"limit": 10_000}).status_code == 422
