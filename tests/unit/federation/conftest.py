"""Keys and pinned descriptors for the pure federation tests (no database, no clock)."""

from __future__ import annotations

import datetime as dt

import pytest

from accord.crypto import KeyRing, NodeKeys
from accord.federation.trust import PeerDescriptor

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


def descriptor(party: str, ring: KeyRing, url: str = "") -> PeerDescriptor:
    return PeerDescriptor(party=party, url=url, created_at=T0.isoformat(), history=ring.generations)


@pytest.fixture(scope="session")
def kor_keys() -> NodeKeys:
    return NodeKeys.generate()


@pytest.fixture(scope="session")
def jpn_keys() -> NodeKeys:
    return NodeKeys.generate()


@pytest.fixture(scope="session")
def kor(kor_keys) -> PeerDescriptor:
    return descriptor("KOR", KeyRing.create(kor_keys, at=T0), "https://kor.example")


@pytest.fixture(scope="session")
def jpn(jpn_keys) -> PeerDescriptor:
    return descriptor("JPN", KeyRing.create(jpn_keys, at=T0))
