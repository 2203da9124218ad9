"""End-to-end tests run against the embedded Valkey, Redis 6.2, and a 3-master Redis Cluster."""

from __future__ import annotations

import pytest

from tests.conftest import Store

_FIXTURES = {"valkey": "valkey", "redis6.2": "redis62", "cluster": "cluster"}


@pytest.fixture(params=list(_FIXTURES))
def store(request: pytest.FixtureRequest) -> Store:
    server: Store = request.getfixturevalue(_FIXTURES[request.param])
    server.flush()
    return server
