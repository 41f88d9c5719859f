"""The inbox pages through many received releases, some of which the reader may not open.

A JPN node releases records to KOR at two levels; ``low`` (KOR/MIL-III) may open only
the lower ones. Paging with every limit gives exactly the releases the person may
open, in order, each once, and the last page has no cursor: the scan that stops
opening once a page is full must not skip or repeat any.
"""

from __future__ import annotations

import datetime as dt

import pytest

from accord.services import node as nodes
from accord.services._database import Database
from accord.services.releases import ReleaseRequest, Releases
from tests.api.conftest import PASSPHRASE, WORLD, build, make_home, write_record

COUNT = 13


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    root = tmp_path_factory.mktemp("inbox-pages")
    api = build(root)
    jpn_home, jpn_url = make_home(root, "JPN")
    levels = ["JPN/HI" if i % 3 else "JPN/GOKUHI" for i in range(COUNT)]  # every third above low's clearance
    ids = [write_record(jpn_home, jpn_url, f"{lv}:KOR:track {i}", title=f"track {i}") for i, lv in enumerate(levels)]
    jpn = nodes.unlock(jpn_home, PASSPHRASE, unsafe_fast_kdf=True)
    kor = nodes.unlock(api.home, PASSPHRASE, unsafe_fast_kdf=True)
    wanted = [ReleaseRequest(record_id=i, recipient="KOR", on=dt.date(2024, 1, 1)) for i in ids]
    with Releases(database=Database(database_url=jpn_url), home=jpn_home) as releases:
        outcomes = releases.release_many(wanted, world=WORLD, node=jpn, next_hops={"KOR": kor.identity.public})
    received = []
    with Releases(database=Database(database_url=api.url), home=api.home) as releases:
        for outcome in outcomes:
            assert outcome.message is not None, outcome.decision.reasons
            got = releases.receive(outcome.message.to_bytes(), world=WORLD, node=kor, sender=jpn.identity)
            received.append(got.release.id)
    api.received = received  # type: ignore[attr-defined]
    api.levels = levels  # type: ignore[attr-defined]
    return api


def pages(node, who, limit):
    seen, cursor = [], None
    while True:
        params = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        page = node.get("/api/v1/inbox", who, params=params).json()
        assert len(page["items"]) <= limit
        seen += [item["release_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen


@pytest.mark.parametrize("limit", [1, 2, 4, 5, 50])
def test_every_limit_pages_through_exactly_what_the_person_may_open(node, limit):
    everything = node.received
    allowed_low = [r for r, lv in zip(node.received, node.levels, strict=True) if lv == "JPN/HI"]
    assert pages(node, "analyst", limit) == everything
    assert pages(node, "low", limit) == allowed_low
