"""Bad configuration: a refused PUT changes nothing; a stored document that no longer compiles
(written behind the API's back) leaves the worker serving its last good snapshot, and
/readyz says so without failing (a bad document must not take every worker out at once)."""

from __future__ import annotations

import time
from typing import Any

import pytest
import redis
from starlette.testclient import TestClient

from decide.store import keys
from tests.chaos.conftest import Report
from tests.conftest import MakeClient, Store
from tests.helpers import EMAIL_RULE, WEB_RULE, decide

pytestmark = pytest.mark.slow


def _snapshot_of(api: TestClient) -> dict[str, Any]:
    """What a caller can see of the configuration: the documents and a decision."""
    answer = decide(api, "c1", "hero", attributes={"first_name": "Ana"})
    return {
        "hero": api.get("/v1/placements/hero").json(),
        "placements": api.get("/v1/placements").json(),
        "decision": (answer["message"], answer["degraded"]),
    }


def test_a_refused_put_changes_nothing(api: TestClient, store: Store, report: Report) -> None:
    assert api.put("/v1/placements/hero", json=WEB_RULE).status_code == 201
    before = _snapshot_of(api)
    version = api.get("/readyz").json()["config_version"]
    bad = [
        (WEB_RULE | {"channels": ["telegraph"]}, 422),
        ({**WEB_RULE, "policy": {"type": "rule", "message": "missing"}}, 422),
        ({**WEB_RULE, "unknown": 1}, 422),
    ]
    for doc, status in bad:
        response = api.put("/v1/placements/hero", json=doc)
        assert response.status_code == status, response.text
    broken = api.put(
        "/v1/placements/hero",
        content=b'{"channels": ',
        headers={"content-type": "application/json"},
    )
    assert broken.status_code in (400, 422)
    time.sleep(0.2)  # several refresh turns
    assert api.get("/readyz").json()["config_version"] == version
    assert _snapshot_of(api) == before
    report(f"{len(bad) + 1} refused PUTs: config version, stored document, decisions unchanged")


@pytest.mark.parametrize(
    "stored",
    [b'{"version": 99, "channels": ["telegraph"]}', b"not json {", b"[1, 2]"],
    ids=["invalid", "unparseable", "not-an-object"],
)
def test_a_stored_document_that_does_not_compile_keeps_the_last_good_snapshot(
    api: TestClient, make_client: MakeClient, store: Store, report: Report, stored: bytes
) -> None:
    assert api.put("/v1/placements/hero", json=WEB_RULE).status_code == 201
    assert api.put("/v1/placements/note", json=EMAIL_RULE).status_code == 201
    good = api.get("/readyz").json()["config_version"]
    before = decide(api, "c1", "hero", attributes={"first_name": "Ana"})
    raw = redis.Redis.from_url(store.url)
    raw.hset(keys.PLACEMENTS, "hero", stored)  # behind the API's back
    raw.incr(keys.CONFIG_VERSION)

    ready = _wait(api, lambda body: body["config_fresh"] is False)
    assert ready.status_code == 200  # reported, not failed: see decide/routes/ops.py
    body = ready.json()
    assert body["config_version"] == good and "hero" in body["last_refresh_error"]
    after = decide(api, "c1", "hero", attributes={"first_name": "Ana"})
    assert after["message"] == before["message"] and after["degraded"] is False
    metrics = api.get("/metrics").text
    assert 'decide_config_refresh_failures_total{reason="invalid_config"}' in metrics
    listed = api.get("/v1/placements")  # the list still answers, with what is readable
    assert listed.status_code == 200 and "note" in [p["key"] for p in listed.json()["placements"]]
    report(
        f"stored placement {stored[:20]!r}: still serving config version {good}; readyz 200 "
        f"with config_fresh=false, last_refresh_error={body['last_refresh_error']!r}"
    )

    # A worker started now has no good snapshot to keep: it serves what compiles, and says so.
    late = make_client()
    time.sleep(0.2)  # several refresh turns: the error is not forgotten
    body = late.get("/readyz").json()
    assert body["config_fresh"] is False and "hero" in body["last_refresh_error"]
    assert (
        late.post("/v1/decide", json={"contact_id": "c1", "placement": "hero"}).status_code == 404
    )
    assert decide(late, "c1", "note", attributes={"consent": {"email": True}})["degraded"] is False

    assert api.put("/v1/placements/hero", json=WEB_RULE).status_code == 200  # repaired
    assert _wait(late, lambda body: body["config_fresh"] is True).status_code == 200
    fresh = _wait(api, lambda body: body["config_fresh"] is True).json()
    assert fresh["config_version"] > good and fresh["last_refresh_error"] is None
    assert fresh["snapshot_age_s"] < 5


def _wait(api: TestClient, until: Any) -> Any:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        response = api.get("/readyz")
        if until(response.json()):
            return response
        time.sleep(0.02)
    raise AssertionError(f"readyz never showed it: {response.json()}")
