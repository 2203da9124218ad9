"""`decide serve --workers 2`: /metrics sums every worker, and logs are JSON lines."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.processes import Served


@pytest.mark.slow
def test_two_workers_share_one_metrics_view_and_log_json(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    (data_dir / "metrics").mkdir(parents=True)
    (data_dir / "metrics" / "counter_1.db").write_bytes(b"stale")  # a previous run's: removed
    server = Served(data_dir, "--demo", "--workers", "2")
    try:
        server.wait_ready()
        request = {"contact_id": "c-1842", "placement": "homepage_hero"}
        for i in range(40):  # a new connection each: the kernel spreads them over the workers
            response = httpx.post(
                server.url + "/v1/decide", json=request, headers={"X-Request-Id": f"r-{i}"}
            )
            assert response.status_code == 200 and response.headers["x-request-id"] == f"r-{i}"
        scraped = httpx.get(server.url + "/metrics").text
    finally:
        output = server.stop()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(scraped)
        for s in family.samples
    }
    decided = samples[
        ("decide_http_requests_total",
         (("method", "POST"), ("route", "/v1/decide"), ("status", "200")))
    ]  # fmt: skip
    assert decided == 40  # one worker's registry alone would miss the other's requests
    assert 0 <= samples[("decide_config_snapshot_age_seconds", ())] < 30
    assert not (data_dir / "metrics" / "counter_1.db").exists()

    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    access = [line for line in lines if line.get("logger") == "decide.access"]
    assert {line["request_id"] for line in access} >= {f"r-{i}" for i in range(40)}
    assert all(line["route"] == "/v1/decide" for line in access if line["method"] == "POST")
    assert "c-1842" not in "\n".join(json.dumps(line) for line in access)
    assert '"POST /v1/decide HTTP/1.1"' not in output  # uvicorn's own access log stays off
