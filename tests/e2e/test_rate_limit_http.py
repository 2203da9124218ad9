"""Per-key rate limits: a token bucket in Redis, 429 with Retry-After, refilled over time."""

from __future__ import annotations

import hashlib

import pytest
from starlette.testclient import TestClient

from decide.app import create_app
from decide.auth import parse_api_keys
from decide.settings import Settings
from decide.store import keys
from tests.conftest import Clock, MakeClient, Store
from tests.helpers import WEB_RULE, event

SPEC = "adm1n:admin;fast:decide,events@2/s;slow:read@3/min;pk_web:public@1/s"
DECISION = {"contact_id": "c-1", "placement": "hero"}


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _client(make_client: MakeClient) -> TestClient:
    api = make_client(Settings(api_keys=parse_api_keys(SPEC), config_refresh_s=0.05))
    assert (
        api.put("/v1/placements/hero", json=WEB_RULE, headers=_bearer("adm1n")).status_code == 201
    )
    return api


def test_over_the_limit_is_429_with_retry_after_until_the_bucket_refills(
    make_client: MakeClient, clock: Clock, store: Store
) -> None:
    api = _client(make_client)
    fast = _bearer("fast")
    assert [api.post("/v1/decide", json=DECISION, headers=fast).status_code for _ in range(2)] == [
        200, 200,
    ]  # fmt: skip
    refused = api.post("/v1/decide", json=DECISION, headers=fast)
    assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
    assert refused.json()["error"]["code"] == "rate_limited"
    # Events share the key's bucket: still empty.
    assert api.post("/v1/events", json={"events": []}, headers=fast).status_code == 429
    clock.advance(0.5)  # 2/s: half a second is one token
    assert api.post("/v1/decide", json=DECISION, headers=fast).status_code == 200
    assert api.post("/v1/decide", json=DECISION, headers=fast).status_code == 429
    clock.advance(10)  # refills to the capacity, never beyond it
    statuses = [api.post("/v1/decide", json=DECISION, headers=fast).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    # Counted under its route, not as "unmatched" (the registry is the process's: >=).
    text = api.get("/metrics").text
    assert 'decide_http_requests_total{method="POST",route="/v1/decide",status="429"}' in text
    assert 'route="/v1/events",status="429"' in text


def test_a_per_minute_limit_says_how_long_to_wait(
    make_client: MakeClient, clock: Clock, store: Store
) -> None:
    api = _client(make_client)
    slow = _bearer("slow")
    assert all(api.get("/v1/placements", headers=slow).status_code == 200 for _ in range(3))
    refused = api.get("/v1/placements/hero", headers=slow)
    assert refused.status_code == 429 and refused.headers["retry-after"] == "20"
    clock.advance(19)
    assert api.get("/v1/placements", headers=slow).headers["retry-after"] == "1"
    clock.advance(1)
    assert api.get("/v1/placements", headers=slow).status_code == 200


def test_keys_without_a_limit_pay_nothing(make_client: MakeClient, store: Store) -> None:
    api = _client(make_client)
    admin = _bearer("adm1n")
    assert all(api.get("/v1/placements", headers=admin).status_code == 200 for _ in range(30))
    client = store.client()
    admin_bucket = keys.rate_bucket(hashlib.sha256(b"adm1n").hexdigest()[:12])
    assert not client.exists(admin_bucket)
    assert list(client.scan_iter(match="{rl:*")) == []  # nobody limited has called yet


def test_a_public_key_in_the_body_is_limited_too(
    make_client: MakeClient, clock: Clock, store: Store
) -> None:
    api = _client(make_client)
    beacon = {"events": [event("e1", "click", "c-1")], "api_key": "pk_web"}
    assert api.post("/v1/events", json=beacon).status_code == 200
    refused = api.post("/v1/events", json=beacon)
    assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
    clock.advance(1)
    assert api.post("/v1/events", json=beacon).json()["duplicate"] == 1


def test_an_unreachable_store_lets_limited_keys_through(clock: Clock) -> None:
    settings = Settings(api_keys=parse_api_keys(SPEC), redis_timeout_s=0.05)
    with TestClient(create_app(settings, "redis://127.0.0.1:1", clock)) as api:
        statuses = {
            api.post("/v1/decide", json=DECISION, headers=_bearer("fast")).status_code
            for _ in range(5)
        }
    assert 429 not in statuses, statuses


def test_a_malformed_limit_is_refused_at_start() -> None:
    for spec in ("k:decide@fast", "k:decide@0/s", "k:decide@5/h"):
        with pytest.raises(SystemExit, match="rate limit"):
            parse_api_keys(spec)
    limits = parse_api_keys("k:decide@600/min").limits
    (limit,) = limits.values()
    assert limit.rate == 10 and limit.capacity == 600
