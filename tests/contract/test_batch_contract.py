"""Batch reads and writes the release pipeline uses, the same on memory, SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from accord.errors import ValidationError
from tests.contract.conftest import Node
from tests.contract.holdings import AT, file_body, inline, record, release


def test_get_many_and_bodies_many_return_what_single_reads_return(node: Node):
    with node.unit() as s:
        s.records.add(record("r1"), added_at=AT, bodies={"summary": inline("a"), "2": inline("b")})
        s.records.add(record("r2"), added_at=AT)
        s.records.add(record("r3"), added_at=AT, bodies={"annex": file_body("bodies/r3/annex.enc")})
    with node.unit() as s:
        found = s.records.get_many(["r1", "r3", "r9", "r1"])
        assert set(found) == {"r1", "r3"}
        assert found["r1"] == s.records.get("r1")
        bodies = s.records.bodies_many(["r1", "r2", "r3", "r9"])
        assert bodies == {"r1": s.records.bodies("r1"), "r3": s.records.bodies("r3")}
        assert list(bodies["r1"]) == ["summary", "2"]  # portion order
        assert s.records.get_many([]) == {}


def test_add_many_stores_all_in_order_or_nothing(node: Node):
    batch = [release("rel-1", message_id="m-1"), release("rel-2", message_id="m-2", via_hub=True), release("rel-3")]
    with node.unit() as s:
        s.releases.add_many(batch)
        s.releases.add_many([])
    with node.unit() as s:
        assert [r.id for r in s.releases.list()] == ["rel-1", "rel-2", "rel-3"]
        assert s.releases.get("rel-2") == batch[1]
        assert s.releases.by_message("m-1") == batch[0]
    with node.unit() as s:
        with pytest.raises(ValidationError, match="rel-2"):
            s.releases.add_many([release("rel-4"), release("rel-2")])  # rel-2 is taken
        with pytest.raises(ValidationError, match="rel-5"):
            s.releases.add_many([release("rel-5"), release("rel-5")])  # given twice
        with pytest.raises(ValidationError, match="m-1"):
            s.releases.add_many([release("rel-6", message_id="m-1")])
        assert [r.id for r in s.releases.list()] == ["rel-1", "rel-2", "rel-3"]  # nothing half-stored
        s.releases.add(release("rel-4"))
    with node.unit() as s:
        assert [r.id for r in s.releases.list()] == ["rel-1", "rel-2", "rel-3", "rel-4"]
