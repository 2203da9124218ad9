"""`decide serve` as a user starts it on Redis Cluster: REDIS_URL=redis+cluster://, two workers."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from decide.store import keys
from tests.conftest import Store
from tests.processes import Served


@pytest.mark.slow
def test_two_workers_decide_and_count_on_a_cluster(cluster: Store, tmp_path: Path) -> None:
    cluster.flush()
    served = Served(tmp_path, "--demo", "--workers", "2", env={"REDIS_URL": cluster.url})
    try:
        served.wait_ready()
        answer = httpx.post(
            served.url + "/v1/decide", json={"contact_id": "maryam", "placement": "homepage_hero"}
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        seen = {"event_id": "e1", "type": "impression", "contact_id": "maryam",
                "decision_id": body["decision_id"]}  # fmt: skip
        for expected in ({"accepted": 1, "duplicate": 0}, {"accepted": 0, "duplicate": 1}):
            result = httpx.post(served.url + "/v1/events", json={"events": [seen]}).json()
            assert {k: result[k] for k in expected} == expected
        assert httpx.get(served.url + "/readyz").json()["checks"]["store"] is True
    finally:
        output = served.stop()
    assert "Traceback" not in output, output
    client = cluster.client()
    assert client.exists(keys.behaviour("maryam")) == 1
    assert any(name.endswith(b":n") for name in client.hkeys(keys.arm_stats("homepage_hero")))
