"""Keys shared by the crypto tests: generating ML-DSA and ML-KEM keys is cheap but not free."""

from __future__ import annotations

import pytest

from accord.crypto.keys import NodeKeys


@pytest.fixture(scope="session")
def alice() -> NodeKeys:
    return NodeKeys.generate()


@pytest.fixture(scope="session")
def bob() -> NodeKeys:
    return NodeKeys.generate()


@pytest.fixture(scope="session")
def carol() -> NodeKeys:
    return NodeKeys.generate()
