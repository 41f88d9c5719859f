"""Fixtures of the people service tests: the service on SQLite and PostgreSQL, a bootstrapped administrator."""

from __future__ import annotations

import pytest

from accord.services._database import Database
from accord.services.people import People, PersonDraft, Principal
from tests.unit.services.people.support import ADMIN_PASSWORD, AT, FAST_POLICY, WORLD


@pytest.fixture
def db(database_url):
    database = Database(database_url=database_url)
    yield database
    database.close()


@pytest.fixture
def people(db, node_home):
    return People(database=db, home=node_home, policy=FAST_POLICY)


@pytest.fixture
def admin(people) -> Principal:
    """The node's first administrator, logged in by password."""
    people.bootstrap(PersonDraft(id="admin", name="First Admin"), password=ADMIN_PASSWORD, world=WORLD, at=AT)
    return people.authenticate_password("admin", ADMIN_PASSWORD, at=AT)
