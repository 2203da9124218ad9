"""Redis killed, then paused (SIGSTOP), under a real `decide serve`: web decisions answer within
the 50 ms read budget, degraded; outbound ones fail closed; events and readiness answer 503;
and everything recovers within 2 s of the store's return, without restarting decide."""

from __future__ import annotations

import os
import signal
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from decide.store.embedded import EmbeddedServer
from tests.chaos.conftest import Report, latency_summary
from tests.helpers import EMAIL_RULE, WEB_RULE, event
from tests.processes import serving

pytestmark = pytest.mark.slow
OP_TIMEOUT_S = 1.5  # the store timeout of everything but a single decision's reads
DECISIONS = 40


def timed(call: Callable[[], httpx.Response]) -> tuple[httpx.Response, float]:
    start = time.perf_counter()
    response = call()
    return response, time.perf_counter() - start


def recovery_time(http: httpx.Client, token: str, since: float, n: int) -> float:
    """Seconds from `since` until readiness, a stored decision, an outbound decision and an
    acknowledged event all work again (polled, bounded)."""
    batch = {"events": [event(f"back-{n}", "impression", "c1", token)]}
    deadline = since + 10
    while time.monotonic() < deadline:
        try:
            ok = (
                http.get("/readyz").status_code == 200
                and http.post("/v1/events", json=batch).status_code == 200
                and not _decide(http, "hero").json()["degraded"]
                and _decide(http, "note").status_code == 200
            )
        except httpx.HTTPError:
            ok = False
        if ok:
            return time.monotonic() - since
        time.sleep(0.02)
    raise AssertionError("decide did not recover within 10 s of the store's return")


def _decide(http: httpx.Client, placement: str, **extra: Any) -> httpx.Response:
    return http.post("/v1/decide", json={"contact_id": "c1", "placement": placement, **extra})


def test_store_killed_then_paused(
    tmp_path: Path, redis_server: EmbeddedServer, report: Report
) -> None:
    env = {
        "REDIS_URL": redis_server.url,
        "DECIDE_CONFIG_REFRESH_MS": "100",
        "DECIDE_REDIS_OP_TIMEOUT_MS": str(int(OP_TIMEOUT_S * 1000)),
    }  # DECIDE_REDIS_TIMEOUT_MS stays at its 50 ms default: the budget under test
    with (
        serving(tmp_path / "decide", env=env) as served,
        httpx.Client(base_url=served.url, timeout=30) as http,
    ):
        assert http.put("/v1/placements/hero", json=WEB_RULE).status_code == 201
        assert http.put("/v1/placements/note", json=EMAIL_RULE).status_code == 201
        token = _stored_decision(http)

        def signal_server(number: int) -> Callable[[], None]:
            return lambda: os.kill(redis_server.pid or 0, number)

        faults: list[tuple[str, Callable[[], None], Callable[[], None]]] = [
            ("killed", redis_server.kill, redis_server.start),
            ("paused", signal_server(signal.SIGSTOP), signal_server(signal.SIGCONT)),
        ]
        for n, (fault, break_it, heal) in enumerate(faults):
            break_it()
            try:
                _while_down(http, token, fault, report)
            finally:
                heal()
            healed = time.monotonic()
            took = recovery_time(http, token, healed, n)
            report(f"store {fault}: everything recovered {took * 1000:.0f} ms after its return")
            assert took <= 2.0


def _stored_decision(http: httpx.Client) -> str:
    """The placement is in the worker's snapshot and the store answers (bounded wait)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        response = _decide(http, "hero")
        if response.status_code == 200 and not response.json()["degraded"]:
            return str(response.json()["decision_id"])
        time.sleep(0.05)
    raise AssertionError("no stored decision within 10 s")


def _while_down(http: httpx.Client, token: str, fault: str, report: Report) -> None:
    took = []
    for _ in range(DECISIONS):
        response, seconds = timed(lambda: _decide(http, "hero"))
        took.append(seconds)
        body = response.json()
        assert response.status_code == 200 and body["degraded"] is True, body
        assert body["message"]["key"] == "hello"
        assert "store unreachable: serving the default message" in body["reasons"]
    report(f"store {fault}: web decisions served degraded: {latency_summary(took)}")
    # A decision that waited for the store's own timeout would take ≥ OP_TIMEOUT_S.
    assert statistics.median(took) < 0.5 and max(took) < OP_TIMEOUT_S

    closed, closed_s = timed(lambda: _decide(http, "note"))
    assert closed.status_code == 503 and closed.json()["error"]["code"] == "store_unavailable"
    consented = _decide(http, "note", attributes={"consent": {"sms": True}})
    assert consented.status_code == 200 and consented.json()["channel"]["primary"] == "sms"
    assert consented.json()["degraded"] is True

    batch = {"events": [event(f"down-{fault}", "click", "c1", token)]}
    events, events_s = timed(lambda: http.post("/v1/events", json=batch))
    assert events.status_code == 503 and events.headers["retry-after"] == "1"
    ready, ready_s = timed(lambda: http.get("/readyz"))
    assert ready.status_code == 503 and ready.json()["checks"]["store"] is False
    report(
        f"store {fault}: email decision 503 in {closed_s * 1000:.0f} ms (with consent: 200 "
        f"degraded), events 503 in {events_s * 1000:.0f} ms, readyz 503 in "
        f"{ready_s * 1000:.0f} ms"
    )
