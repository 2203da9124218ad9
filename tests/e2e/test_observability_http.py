"""Operations through HTTP: /metrics, the request id and its log line, CORS for public keys."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.requests import Request
from starlette.routing import Route
from starlette.testclient import TestClient

from decide.app import create_app
from decide.auth import parse_api_keys
from decide.request_log import JsonFormatter
from decide.settings import Settings
from decide.store.embedded import EmbeddedServer
from tests.conftest import Clock, MakeClient, Store
from tests.helpers import WEB_RULE, decide, event

SHOP = "https://shop.example"


def scrape(api: TestClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = api.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_metrics_count_requests_decisions_events_and_store_calls(api, store: Store) -> None:
    assert api.put("/v1/placements/hero", json=WEB_RULE).status_code == 201
    before = scrape(api)
    token = decide(api, "c-secret-42", "hero")["decision_id"]
    events = [event("e1", "impression", "c-secret-42", token), event("e2", "click", "c-1"),
              event("e3", "click", "c-1", "v1.forged.token")]  # fmt: skip
    assert api.post("/v1/events", json={"events": events}).json()["accepted"] == 2
    assert api.post("/v1/events", json={"events": events[:1]}).json()["duplicate"] == 1
    assert api.get("/v1/contacts/c-secret-42").status_code == 200
    after = scrape(api)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    decided = {"placement": "hero", "message": "hello", "source": "rule"}
    assert delta("decide_decisions_total", **decided) == 1
    assert delta("decide_events_total", outcome="accepted") == 2
    assert delta("decide_events_total", outcome="duplicate") == 1
    assert delta("decide_events_total", outcome="rejected") == 1
    assert (
        sum(
            v - value(before, n, **dict(labels))
            for (n, labels), v in after.items()
            if n == "decide_events_rejected_total"
        )
        == 1
    )
    assert delta("decide_http_requests_total", method="POST", route="/v1/decide", status="200") == 1
    contact = {"method": "GET", "route": "/v1/contacts/{id}"}
    assert delta("decide_http_requests_total", **contact, status="200") == 1
    assert delta("decide_http_request_duration_seconds_count", **contact) == 1
    assert delta("decide_store_duration_seconds_count", operation="decide_read") == 1
    assert delta("decide_store_duration_seconds_count", operation="events_write") == 2
    assert 0 <= value(after, "decide_config_snapshot_age_seconds") < 60
    text = api.get("/metrics").text
    assert "c-secret-42" not in text  # templates, never raw paths


def test_metrics_need_no_key(make_client: MakeClient, store: Store) -> None:
    api = make_client(Settings(api_keys=parse_api_keys("adm1n:admin")))
    assert api.get("/v1/placements").status_code == 401
    assert api.get("/metrics").status_code == 200


def test_degraded_decisions_and_refresh_failures_are_counted(
    tmp_path: Path, make_client: MakeClient
) -> None:
    server = EmbeddedServer(tmp_path / "data")
    server.start()
    try:
        api = make_client(
            Settings(config_refresh_s=0.05, redis_timeout_s=0.2),
            Store("own", server.url, server),
        )
        assert api.put("/v1/placements/hero", json=WEB_RULE).status_code == 201
        before = scrape(api)
        server.kill()
        assert decide(api, "c1", "hero")["degraded"] is True
        after = scrape(api)
    finally:
        server.stop()
    labels = {"placement": "hero", "reason": "store_unreadable"}
    assert (
        value(after, "decide_degraded_decisions_total", **labels)
        - value(before, "decide_degraded_decisions_total", **labels)
        == 1
    )
    errors = {"operation": "decide_read"}
    assert value(after, "decide_store_errors_total", **errors) > value(
        before, "decide_store_errors_total", **errors
    )


def test_refresh_failures_are_counted(store: Store, clock: Clock) -> None:
    settings = Settings(redis_timeout_s=0.05, config_refresh_s=0.02)
    with TestClient(create_app(settings, "redis://127.0.0.1:1", clock)) as api:
        unreachable = {"reason": "store_unreachable"}
        failures = value(scrape(api), "decide_config_refresh_failures_total", **unreachable)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # the background refresh keeps failing
            if value(scrape(api), "decide_config_refresh_failures_total", **unreachable) > failures:
                break
            time.sleep(0.02)
        else:
            raise AssertionError("no refresh failure counted")
        assert api.app.state.runtime.refresh_failures >= 2
        assert api.app.state.runtime.snapshot_loaded_at == 0.0


def test_request_id_is_echoed_or_made_and_logged(api, store: Store, caplog) -> None:
    caplog.set_level(logging.INFO, logger="decide.access")
    given = api.get("/v1/contacts/c-secret-42", headers={"X-Request-Id": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    made = api.get("/healthz", headers={"X-Request-Id": "bad id\twith spaces"})
    assert made.headers["x-request-id"] != "bad id\twith spaces"
    assert len(made.headers["x-request-id"]) == 24
    lines = [json.loads(JsonFormatter().format(r)) for r in caplog.records]
    assert lines[0] | {"duration_ms": 0, "time": 0} == {
        "time": 0, "level": "info", "logger": "decide.access", "method": "GET",
        "route": "/v1/contacts/{id}", "status": 404, "duration_ms": 0, "request_id": "abc-123",
        "message": lines[0]["message"],
    }  # fmt: skip
    assert lines[1]["request_id"] == made.headers["x-request-id"]
    assert "c-secret-42" not in caplog.text


def _boom(request: Request) -> None:
    raise RuntimeError("bug")


def test_an_unexpected_error_is_logged_with_the_request_id(
    store: Store, clock: Clock, caplog
) -> None:
    caplog.set_level(logging.INFO, logger="decide.access")
    app = create_app(Settings(), store.url, clock)
    app.router.routes.append(Route("/v1/boom/{id}", _boom))
    with TestClient(app, raise_server_exceptions=False) as api:
        response = api.get("/v1/boom/c-secret-42", headers={"X-Request-Id": "req-7"})
    assert response.status_code == 500 and response.headers["x-request-id"] == "req-7"
    assert response.json()["error"]["code"] == "internal"
    (error,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    line = json.loads(JsonFormatter().format(error))
    assert line["request_id"] == "req-7" and line["route"] == "/v1/boom/{id}"
    assert "RuntimeError: bug" in line["exception"] and "c-secret-42" not in line["message"]
    access = [r for r in caplog.records if r.name == "decide.access"]
    assert access and access[-1].fields["status"] == 500  # type: ignore[attr-defined]


@pytest.fixture
def cors_api(make_client: MakeClient) -> Iterator[TestClient]:
    keys = parse_api_keys("adm1n:admin;pk_web:public", SHOP + ",https://other.example")
    api = make_client(Settings(api_keys=keys, config_refresh_s=0.05))
    assert (
        api.put("/v1/placements/hero", json=WEB_RULE, headers={"X-API-Key": "adm1n"}).status_code
        == 201
    )
    yield api


def _preflight(api: TestClient, path: str, origin: str, method: str = "POST"):
    asked = {"Access-Control-Request-Method": method,
             "Access-Control-Request-Headers": "content-type,x-api-key"}  # fmt: skip
    return api.options(path, headers={"Origin": origin, **asked})


def test_cors_preflight_and_responses_for_allowed_origins_only(
    cors_api: TestClient, store: Store
) -> None:
    for path in ("/v1/decide", "/v1/events"):
        allowed = _preflight(cors_api, path, SHOP)
        assert allowed.status_code == 204
        assert allowed.headers["access-control-allow-origin"] == SHOP
        assert allowed.headers["access-control-allow-methods"] == "POST"
        allowed_headers = allowed.headers["access-control-allow-headers"]
        assert {"content-type", "authorization", "x-api-key"} <= {
            h.strip() for h in allowed_headers.split(",")
        }
        refused = _preflight(cors_api, path, "https://evil.example")
        assert refused.status_code == 403
        assert not [h for h in refused.headers if h.startswith("access-control-")]
        assert _preflight(cors_api, path, SHOP, "DELETE").status_code == 403

    body = {"contact_id": "c1", "placement": "hero"}
    headers = {"X-API-Key": "pk_web", "Origin": SHOP}
    served = cors_api.post("/v1/decide", json=body, headers=headers)
    assert served.status_code == 200 and served.headers["access-control-allow-origin"] == SHOP
    assert "x-request-id" in served.headers["access-control-expose-headers"]
    beacon = {"events": [event("e1", "click", "c1")], "api_key": "pk_web"}
    sent = cors_api.post("/v1/events", json=beacon, headers={"Origin": SHOP})
    assert sent.status_code == 200 and sent.headers["access-control-allow-origin"] == SHOP
    foreign = cors_api.post(
        "/v1/decide", json=body, headers=headers | {"Origin": "https://evil.example"}
    )
    assert foreign.status_code == 403 and "access-control-allow-origin" not in foreign.headers
    # Other paths never answer cross-origin requests.
    admin = cors_api.get("/v1/placements", headers={"X-API-Key": "adm1n", "Origin": SHOP})
    assert "access-control-allow-origin" not in admin.headers
    assert _preflight(cors_api, "/v1/placements/hero", SHOP).status_code == 405


def test_no_public_origins_means_no_cors(api, store: Store) -> None:
    assert api.put("/v1/placements/hero", json=WEB_RULE).status_code == 201
    response = api.post(
        "/v1/decide", json={"contact_id": "c1", "placement": "hero"}, headers={"Origin": SHOP}
    )
    assert response.status_code == 200 and "access-control-allow-origin" not in response.headers
