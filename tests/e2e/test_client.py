"""decide.client against a real server: uvicorn on a port, the app, the embedded Valkey."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from decide.app import create_app
from decide.auth import parse_api_keys
from decide.client import AsyncDecideClient, DecideClient, DecideError, RetryPolicy
from decide.settings import Settings
from decide.store import keys
from tests.conftest import Store
from tests.helpers import WEB_RULE

KEY = "s3cret"
FAST = RetryPolicy(retries=3, backoff_s=0.01)


@pytest.fixture
def store(valkey: Store) -> Store:  # the client speaks HTTP: one store flavour is enough
    valkey.flush()
    return valkey


def _listening() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    return sock


@pytest.fixture
def base_url(store: Store) -> Iterator[str]:
    """The app served by uvicorn in a thread, with an API key, on a socket bound up front."""
    # A fast refresh loop on purpose: a cancellation landing inside a refresh's Redis call
    # used to be swallowed and shutdown waited out its 10 s guard (decide/runtime.py).
    settings = Settings(config_refresh_s=0.05, api_keys=parse_api_keys(f"{KEY}:admin"))
    server = uvicorn.Server(uvicorn.Config(create_app(settings, store.url), log_level="warning"))
    sock = _listening()
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    put = httpx.put(
        f"{url}/v1/placements/hero", json=WEB_RULE, headers={"authorization": f"Bearer {KEY}"}
    )
    assert put.status_code == 201, put.text
    yield url
    server.should_exit = True
    thread.join(5)  # shorter than the lifespan's 10 s guard: a hung shutdown fails here
    assert not thread.is_alive(), "uvicorn did not stop"
    sock.close()


def test_decide_returns_the_servers_decision(base_url: str) -> None:
    with DecideClient(base_url, KEY) as client:
        decision = client.decide("c1", "hero", attributes={"first_name": "Ana"})
    assert decision["degraded"] is False and decision["decision_id"].startswith("v1.")
    assert decision["message"]["key"] == "hello"
    assert decision["message"]["content"]["web"]["headline"] == "Hi Ana"


def test_a_wrong_key_or_an_invalid_request_raises_naming_the_field(base_url: str) -> None:
    with DecideClient(base_url, KEY) as client, pytest.raises(DecideError) as bad:
        client.decide("c1", "hero", attributes={"timezone": "Mars/Base"})
    assert bad.value.status == 422 and bad.value.code == "invalid_request"
    assert bad.value.fields == ["attributes.timezone"]
    with DecideClient(base_url, "wrong") as client, pytest.raises(DecideError) as denied:
        client.decide("c1", "hero")
    assert denied.value.status == 401 and denied.value.code == "unauthorized"


@pytest.mark.parametrize("where", ["closed_port", "never_answers"])
def test_decide_down_returns_the_fallback_within_the_timeout(where: str) -> None:
    sock = _listening()  # accepts connections (the kernel does) but never answers
    port = sock.getsockname()[1]
    if where == "closed_port":
        sock.close()
    try:
        with DecideClient(f"http://127.0.0.1:{port}", timeout=0.25) as client:
            started = time.monotonic()
            minimal = client.decide("c1", "hero")
            given = client.decide("c1", "hero", fallback={"message": {"key": "static"}})
            elapsed = time.monotonic() - started
        assert elapsed < 2 * (0.25 + 0.1)  # two calls, each within its timeout
        assert minimal["decision_id"] is None and minimal["message"] is None
        assert minimal["degraded"] is True and minimal["reason"] == "client_fallback"
        assert minimal["placement"] == "hero"
        assert given["message"] == {"key": "static"} and given["degraded"] is True

        async def deadline() -> tuple[dict[str, object], float]:
            async with AsyncDecideClient(f"http://127.0.0.1:{port}", timeout=0.25) as client:
                started = time.monotonic()
                return await client.decide("c1", "hero"), time.monotonic() - started

        decision, elapsed = asyncio.run(deadline())
        assert decision["reason"] == "client_fallback" and elapsed < 0.25 + 0.1
    finally:
        sock.close()


class LosesAcknowledgements(httpx.HTTPTransport):
    """Delivers each event batch to the server, and loses the answer to its first delivery."""

    def __init__(self) -> None:
        super().__init__()
        self.lost: list[dict[str, int]] = []
        self.seen: set[bytes] = set()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.url.path == "/v1/events" and request.content not in self.seen:
            self.seen.add(request.content)
            response.read()
            self.lost.append(response.json())
            response.close()
            raise httpx.ReadTimeout("acknowledgement lost", request=request)
        return response


def test_a_retried_event_batch_is_not_counted_twice(base_url: str) -> None:
    transport = LosesAcknowledgements()
    client = DecideClient(base_url, KEY, transport=transport, retry=FAST, flush_at=1000)
    ids = [client.track("page_view", "c-acks", properties={"page": f"/{i}"}) for i in range(150)]
    assert len(set(ids)) == 150
    result = client.flush()  # 100 + 50: each answer lost once, each batch sent again
    assert [lost["accepted"] for lost in transport.lost] == [100, 50]
    assert sum(lost["duplicate"] for lost in transport.lost) == 0
    assert (result.accepted, result.duplicate, result.rejected, result.pending) == (0, 150, [], 0)
    client.close()

    auth = {"authorization": f"Bearer {KEY}"}
    contact = httpx.get(f"{base_url}/v1/contacts/c-acks", headers=auth).json()
    assert contact["behaviour"]["counts"] == {"page_view": 150}


def test_track_flushes_at_100_and_drops_what_the_server_rejects(base_url: str) -> None:
    with DecideClient(base_url, KEY, retry=FAST) as client:
        token = client.decide("c2", "hero")["decision_id"]
        client.track("impression", "c2", decision_id=token, event_id="imp-1")
        for i in range(98):
            client.track("page_view", "c2", properties={"page": f"/{i}"})
        assert len(client._buffer) == 99
        client.track("click", "c2", decision_id=token)  # the 100th: flushed at once
        assert client._buffer == []
        client.track("click", "c2", decision_id="not-a-token")
        result = client.flush()
        assert (result.accepted, result.duplicate, result.pending) == (0, 0, 0)
        assert [r["reason"] for r in result.rejected] == ["malformed_decision_id"]
        assert client._buffer == [] and client.flush().rejected == []  # dropped, not retried
        again = client.send_events([{"event_id": "imp-1", "type": "impression",
                                     "contact_id": "c2", "decision_id": token}])  # fmt: skip
        assert again == {"accepted": 0, "duplicate": 1, "rejected": []}


def test_decide_batch_chunks_in_order_and_a_retry_replays_it(base_url: str, store: Store) -> None:
    audience = [f"b-{i}" for i in range(2500)]
    with DecideClient(base_url, KEY) as client:
        first = list(client.decide_batch("hero", audience, request_id="run-1", chunk=1000))
        again = list(client.decide_batch("hero", audience, request_id="run-1", chunk=1000))
        other = list(client.decide_batch("hero", audience[:10], request_id="run-2"))
    assert [d["index"] for d in first] == list(range(2500))
    assert all("error" not in d and d["message"]["key"] == "hello" for d in first)
    assert [d["decision_id"] for d in again] == [d["decision_id"] for d in first]
    assert {d["decision_id"] for d in other}.isdisjoint(d["decision_id"] for d in first[:10])
    client_redis = store.client()
    replays = [keys.batch_replay(f"run-1-{n}") for n in range(4)]
    assert [client_redis.exists(k) for k in replays] == [1, 1, 1, 0]
    assert client_redis.hlen(replays[2]) == 1 + 500  # the digest and the last 500 decisions


def test_the_async_client_batches_and_sends_events_alike(base_url: str) -> None:
    async def run() -> tuple[list[int], int]:
        async with AsyncDecideClient(base_url, KEY, retry=FAST) as client:
            indices = [
                d["index"] async for d in client.decide_batch("hero", ["a", "b", "c"], chunk=2)
            ]
            for i in range(3):
                await client.track("page_view", "c-async", event_id=f"pv-{i}")
            await client.flush()
            await client.track("page_view", "c-async", event_id="pv-0")
            return indices, (await client.flush()).duplicate

    indices, duplicate = asyncio.run(run())
    assert indices == [0, 1, 2] and duplicate == 1
