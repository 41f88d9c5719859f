"""Fixtures for service tests: a migrated database (SQLite and PostgreSQL) and a node identity."""

from __future__ import annotations

import datetime as dt

import pytest

from accord.crypto.keystore import ScryptParams
from accord.services import node
from accord.services.world import init_node

AT = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
PASSPHRASE = "correct horse"  # noqa: S105 - a test passphrase
FAST = ScryptParams(n=2**14)  # the lowest accepted cost, to keep tests quick


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path):
    """A migrated, empty node database on each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'accord.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    init_node(home=tmp_path / "home", database_url=url)
    return url


@pytest.fixture
def node_home(tmp_path):
    """A node home with a KOR identity (cheap scrypt)."""
    home = tmp_path / "home"
    node.create_identity(home=home, party="KOR", passphrase=PASSPHRASE, at=AT, scrypt=FAST)
    return home
