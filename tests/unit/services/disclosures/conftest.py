"""Fixtures of the disclosure service tests: a KOR node on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from tests.unit.services.disclosures.support import make_node


@pytest.fixture
def kor(tmp_path, database_url):
    made = make_node(tmp_path, database_url)
    yield made
    made.db.close()
