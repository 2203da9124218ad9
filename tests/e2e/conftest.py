"""End-to-end tests run against both servers: the embedded Valkey and Redis 6.2."""

from __future__ import annotations

import pytest

from tests.conftest import Store


@pytest.fixture(params=["valkey", "redis6.2"])
def store(request: pytest.FixtureRequest) -> Store:
    server: Store = request.getfixturevalue("valkey" if request.param == "valkey" else "redis62")
    server.flush()
    return server
