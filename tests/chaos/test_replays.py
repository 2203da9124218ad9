"""Replays: every event sent twice, in shuffled order, leaves every counter, experiment result,
bandit statistic and state, and contact exactly as sending each once in order does.

Two runs on a flushed store with the same seed, clock and signing key (so the decisions are
the same): the full JSON of results, stats, state and contacts is compared, minus the moment
it was exported. Both servers: the embedded Valkey and Redis 6.2.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import pytest
from starlette.testclient import TestClient

from decide.app import create_app
from decide.settings import Settings
from tests.chaos.conftest import Report
from tests.conftest import Clock, Store
from tests.helpers import event

pytestmark = pytest.mark.slow
T0 = 1_790_000_000.0
CONTACTS = 40
BATCH = 50
SETTINGS = Settings(
    config_refresh_s=0.05, redis_timeout_s=1.0, seed=3, signing_keys="k1:" + "s" * 32
)
NEWS = {
    "channels": ["web"],
    "policy": {"type": "experiment", "experiment": "subject"},
    "messages": [{"key": k, "content": {"web": {"headline": f"Headline {k}"}}} for k in "ab"],
}
SUBJECT = {
    "placement": "news", "status": "running",
    "variations": [{"key": "a", "message": "a"}, {"key": "b", "message": "b"}],
    "metrics": {"primary": {"event": "click", "type": "binomial", "window_hours": 72},
                "secondary": [{"event": "purchase", "type": "revenue", "currency": "EUR"},
                              {"event": "click", "type": "count", "name": "clicks"}]},
}  # fmt: skip
HERO = {
    "channels": ["web"],
    "policy": {"type": "bandit", "algorithm": "thompson", "refresh_ms": 0,
               "reward": {"event": "click", "window_hours": 24}},
    "messages": [{"key": k, "content": {"web": {"headline": f"Offer {k}"}}} for k in "abc"],
}  # fmt: skip
EXPORT_MOMENT = {"exported_at"}


@pytest.fixture(params=["valkey", "redis6.2"])
def store(request: pytest.FixtureRequest) -> Store:
    server: Store = request.getfixturevalue("valkey" if request.param == "valkey" else "redis62")
    return server


def the_events(tokens: dict[tuple[str, str], str]) -> list[dict[str, Any]]:
    """A contact's impressions, clicks, purchases and views over the hour after its decisions,
    each with its own timestamp (so order could matter, and must not)."""
    rng = random.Random(5)
    events = []
    for i in range(CONTACTS):
        c = f"c{i}"
        at = T0 + 60
        for placement in ("news", "hero"):
            token = tokens[(c, placement)]
            events.append(event(f"{c}-{placement}-imp", "impression", c, token, timestamp=iso(at)))
            if rng.random() < 0.4:
                events.append(
                    event(f"{c}-{placement}-clk", "click", c, token, timestamp=iso(at + 5))
                )
            at += 10
        if rng.random() < 0.3:
            events.append(
                event(f"{c}-buy", "purchase", c, value=rng.choice([5.0, 12.5]), currency="EUR",
                      timestamp=iso(at + rng.randrange(3000)))
            )  # fmt: skip
        events += [
            event(f"{c}-v{k}", "view", c, timestamp=iso(at + rng.randrange(3000))) for k in range(3)
        ]
    return events


def iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat().replace("+00:00", "Z")


def without(keys: set[str], value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without(keys, v) for k, v in value.items() if k not in keys}
    if isinstance(value, list):
        return [without(keys, v) for v in value]
    return value


def run(store: Store, replayed: bool) -> tuple[dict[str, Any], int]:
    """Configure, decide, send the events (once in order, or twice shuffled); everything the
    API reports afterwards, and the number of events posted."""
    store.flush()
    clock = Clock(T0)
    with TestClient(create_app(SETTINGS, store.url, clock)) as api:
        assert api.put("/v1/placements/news", json=NEWS).status_code == 201
        assert api.put("/v1/experiments/subject", json=SUBJECT).status_code == 201
        assert api.put("/v1/placements/hero", json=HERO).status_code == 201
        tokens = {}
        for i in range(CONTACTS):
            for placement in ("news", "hero"):
                body = {"contact_id": f"c{i}", "placement": placement}
                answer = api.post("/v1/decide", json=body).json()
                assert answer["degraded"] is False
                tokens[(f"c{i}", placement)] = answer["decision_id"]
        clock.advance(3600)  # the events arrive within the hour after, in any order
        events = the_events(tokens)
        if replayed:
            events = events + events
            random.Random(11).shuffle(events)
        for start in range(0, len(events), BATCH):
            response = api.post("/v1/events", json={"events": events[start : start + BATCH]})
            assert response.status_code == 200 and response.json()["rejected"] == []
        seen = {
            "results": api.get("/v1/experiments/subject/results").json(),
            "stats": {p: api.get(f"/v1/placements/{p}/stats").json() for p in ("news", "hero")},
            "state": {p: api.get(f"/v1/placements/{p}/state").json() for p in ("news", "hero")},
            "contacts": {f"c{i}": api.get(f"/v1/contacts/c{i}").json() for i in range(CONTACTS)},
        }
    return without(EXPORT_MOMENT, seen), len(events)


def test_every_event_twice_and_shuffled_counts_as_once(store: Store, report: Report) -> None:
    once, sent_once = run(store, replayed=False)
    twice, sent_twice = run(store, replayed=True)
    differing = sorted(k for k in once if once[k] != twice[k])
    for name in differing:
        for key in once[name]:
            if once[name][key] != twice[name][key]:
                print(f"{name}/{key}: once {once[name][key]}\ntwice {twice[name][key]}")
    users = once["results"]["users"]
    report(
        f"{store.name}: {sent_once} events once in order vs {sent_twice} (each twice, shuffled): "
        f"{'identical' if not differing else 'DIFFERENT: ' + ', '.join(differing)} "
        f"(experiment users {users}, {len(once['contacts'])} contacts, bandit and experiment "
        f"stats and state)"
    )
    assert differing == []
