"""A single decision is answered once its write is sent, not once the store acknowledged it
(after its fsync): the write still precedes the answer, and a write that fails later is
counted, never silent. A batch still waits for the acknowledgement and says what failed."""

from __future__ import annotations

import time

from starlette.testclient import TestClient

from decide.store import keys
from decide.store.connection import sync_client
from tests.conftest import Store
from tests.helpers import arm_stats, decide, load_demo

NOT_RECORDED = 'decide_degraded_decisions_total{placement="homepage_hero",reason="not_recorded"}'


def test_the_write_reaches_the_store_before_the_answer(api: TestClient, store: Store) -> None:
    """Read-your-writes after each answer: a write deferred past the answer (to a later flush)
    would leave the counters behind. (That the answer waits for the send and not for the
    acknowledgement is tests/decide/test_pipeliner.py's.)"""
    load_demo(api)
    client = sync_client(store.url)
    for i in range(20):
        body = decide(api, f"w-{i}")
        decided = sum(v for k, v in arm_stats(store.url, "homepage_hero").items()
                      if k.endswith(":decided"))  # fmt: skip
        assert decided == i + 1
        assignments = keys.experiment_assignments("hero_copy", body["assignment"]["phase"])
        assert client.hget(assignments, f"w-{i}") is not None


def _not_recorded(api: TestClient) -> float:
    for line in api.get("/metrics").text.splitlines():
        if line.startswith(NOT_RECORDED):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_a_write_that_fails_after_the_answer_is_counted(api: TestClient, store: Store) -> None:
    load_demo(api)
    decide(api, "warm-up")
    before = _not_recorded(api)
    counters = keys.arm_stats("homepage_hero")
    client = sync_client(store.url)
    client.delete(counters)
    client.set(counters, "not a hash")  # every HINCRBY on it fails: WRONGTYPE
    try:
        body = decide(api, "late-failure")
        assert body["degraded"] is False  # answered before the store said no
        deadline = time.monotonic() + 5
        while _not_recorded(api) < before + 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _not_recorded(api) == before + 1

        contacts = [{"contact_id": "b-1"}, {"contact_id": "b-2"}]
        batch = api.post(
            "/v1/decide/batch", json={"placement": "homepage_hero", "contacts": contacts}
        )
        assert batch.status_code == 200, batch.text
        for decision in batch.json()["decisions"]:
            assert decision["degraded"] is True
            assert "store: the decision was not recorded" in decision["reasons"]
    finally:
        client.delete(counters)
