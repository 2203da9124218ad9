"""DECIDE_EVENTS_WAITAOF / DECIDE_EVENTS_WAIT: an event batch is acknowledged only once its
writes are fsynced locally / on N replicas; when that is not confirmed in time the answer is
503 (the events are stored and idempotent, so the retry counts nothing twice)."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from decide.settings import Settings
from tests.chaos.conftest import Report
from tests.conftest import MakeClient, Store
from tests.helpers import event

pytestmark = pytest.mark.slow


def settings(**env: str) -> Settings:
    return replace(Settings.from_env(env), config_refresh_s=0.05, redis_timeout_s=1.0)


def post(api: TestClient, batch: list[dict[str, Any]]) -> tuple[httpx.Response, float]:
    start = time.perf_counter()
    response = api.post("/v1/events", json={"events": batch})
    return response, (time.perf_counter() - start) * 1000


def test_waitaof_on_valkey(make_client: MakeClient, valkey: Store, report: Report) -> None:
    valkey.flush()
    batch = [event(f"e{i}", "view", f"c{i % 7}") for i in range(100)]

    local = make_client(settings(DECIDE_EVENTS_WAITAOF="1,0,500"), valkey)
    fsynced, fsynced_ms = post(local, batch[:50])
    assert fsynced.status_code == 200 and fsynced.json()["accepted"] == 50

    # One replica asked for, none there: not confirmed within 200 ms, so not acknowledged.
    replicated = make_client(settings(DECIDE_EVENTS_WAITAOF="1,1,200"), valkey)
    refused, refused_ms = post(replicated, batch)
    assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
    assert "WAITAOF" in refused.json()["error"]["message"]
    retried, _ = post(local, batch)  # stored all along: the retry counts nothing twice
    assert retried.json() == {"accepted": 0, "duplicate": 100, "rejected": []}

    waited = make_client(settings(DECIDE_EVENTS_WAIT="1,100"), valkey)
    assert post(waited, batch)[0].status_code == 503
    report(
        f"WAITAOF 1 0: 50 events acknowledged in {fsynced_ms:.0f} ms; WAITAOF 1 1 (no "
        f"replica): 503 in {refused_ms:.0f} ms, and the retry found all 100 stored once"
    )


def test_wait_on_redis62(make_client: MakeClient, redis62: Store, report: Report) -> None:
    redis62.flush()
    batch = [event("e1", "view", "c1")]
    no_waitaof = make_client(settings(DECIDE_EVENTS_WAITAOF="1,0,500"), redis62)
    assert post(no_waitaof, batch)[0].status_code == 503  # Redis 6.2 has no WAITAOF
    wait = make_client(settings(DECIDE_EVENTS_WAIT="0,100"), redis62)
    response, ms = post(wait, batch)
    assert response.json() == {"accepted": 0, "duplicate": 1, "rejected": []}
    report(f"Redis 6.2: WAITAOF answers 503 (unknown command); WAIT 0: acknowledged in {ms:.0f} ms")


def test_the_settings_are_checked() -> None:
    for bad in ("1,0", "a,b,c", "1,0,0"):
        with pytest.raises(SystemExit):
            Settings.from_env({"DECIDE_EVENTS_WAITAOF": bad})
    assert Settings.from_env({}).events_durability is None
    parsed = Settings.from_env({"DECIDE_EVENTS_WAIT": "2,50"}).events_durability
    assert parsed is not None and parsed.command == ("WAIT", "2", "50")
    assert parsed.satisfied(2) and not parsed.satisfied(1)
