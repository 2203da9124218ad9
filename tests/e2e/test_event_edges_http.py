"""Edges of the event contract: the dedup window's ends, clock skew, late and reordered
exposures and rewards. Each is a way to count an event twice or to let the outcome depend on
the order events arrive in."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import orjson

from decide.store import keys
from decide.store.connection import sync_client
from tests.conftest import Clock, Store
from tests.e2e.test_experiment_results_http import PLACEMENT, experiment
from tests.helpers import WEB_RULE, decide, event

DAY_S = 24 * 3600
SKEW_S = 300  # DECIDE_FUTURE_SKEW_SECONDS' default


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def _payload(token: str) -> dict[str, Any]:
    body = token.split(".")[2]
    payload: dict[str, Any] = orjson.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    return payload


def test_a_future_timed_event_stays_a_duplicate_while_it_is_inside_the_window(
    api, store: Store, clock: Clock
) -> None:
    """An event may be timed up to the skew ahead of the server, and is accepted until its
    time leaves the window: its seen-markers must live that long too, or a retry a day later
    (still inside the window) would be counted again."""
    assert api.put("/v1/placements/news", json=PLACEMENT).status_code == 201
    assert api.put("/v1/experiments/subject", json=experiment()).status_code == 201
    decide(api, "c1", "news")
    at = clock.now + SKEW_S - 10
    ahead = event("e1", "click", "c1", timestamp=_iso(at))
    assert api.post("/v1/events", json={"events": [ahead]}).json()["accepted"] == 1
    accepted_until = at + DAY_S - clock.now  # from now, in seconds
    client = sync_client(store.url)
    for marker in (keys.event_seen("c1", "e1"), keys.experiment_seen("subject", "e1")):
        assert client.ttl(marker) >= accepted_until, marker


def test_a_decision_keeps_its_state_until_its_token_expires(
    api, store: Store, clock: Clock
) -> None:
    """Without its state (first exposure, first reward) an event of the decision would count
    a second trial: the state must not expire before the token does, even by a second."""
    assert api.put("/v1/placements/hero", json=WEB_RULE).status_code == 201
    token = decide(api, "c1", "hero")["decision_id"]
    payload = _payload(token)
    clock.now = payload["ex"] - 1.9  # 1.9 s of the token left
    shown = event("e1", "impression", "c1", token)
    assert api.post("/v1/events", json={"events": [shown]}).json()["accepted"] == 1
    left_ms = sync_client(store.url).pttl(keys.decision_state("hero", payload["n"]))
    assert left_ms >= 1900
