"""Edges of the event contract: the dedup window's ends, clock skew, late and reordered
exposures and rewards. Each is a way to count an event twice or to let the outcome depend on
the order events arrive in."""

from __future__ import annotations

import base64
import itertools
import random
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
_PLACEMENTS = itertools.count()


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def _payload(token: str) -> dict[str, Any]:
    body = token.split(".")[2]
    payload: dict[str, Any] = orjson.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    return payload


def test_the_window_and_the_skew_are_inclusive_to_the_second(
    api, store: Store, clock: Clock
) -> None:
    clock.now = float(int(clock.now))
    times = [-DAY_S, -DAY_S - 1, SKEW_S, SKEW_S + 1]
    events = [
        event(f"e{i}", "click", "c1", timestamp=_iso(clock.now + t)) for i, t in enumerate(times)
    ]
    answer = api.post("/v1/events", json={"events": events}).json()
    assert answer["accepted"] == 2
    assert [(r["index"], r["reason"]) for r in answer["rejected"]] == [
        (1, "too_old"),
        (3, "in_future"),
    ]


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


def _arrive(
    api,
    store: Store,
    clock: Clock,
    placement: dict[str, Any],
    timeline: list[tuple[str, float, float | None]],
) -> tuple[float, float, float]:
    """One decision whose events (type, seconds after the decision, value) arrive in the
    listed order, each in its own request; its arm's (n, sum, sum_sq) afterwards."""
    key = f"p{next(_PLACEMENTS)}"  # a fresh arm per timeline
    assert api.put(f"/v1/placements/{key}", json=placement).status_code == 201
    start = clock.now
    token = decide(api, "c1", key)["decision_id"]
    clock.now = start + max(offset for _, offset, _ in timeline) + 1
    for i, (kind, offset, value) in enumerate(timeline):
        extra = {} if value is None else {"value": value, "currency": "EUR"}
        sent = event(f"{key}-{i}", kind, "c1", token, timestamp=_iso(start + offset), **extra)
        assert api.post("/v1/events", json={"events": [sent]}).json()["accepted"] == 1
    stats = {k.decode(): float(v) for k, v in
             store.client().hgetall(keys.arm_stats(key)).items()}  # fmt: skip
    return stats["hello:n"], stats.get("hello:sum", 0.0), stats.get("hello:sum_sq", 0.0)


def test_the_reward_window_starts_at_the_first_exposure_whatever_arrives_first(
    api, store: Store, clock: Clock
) -> None:
    """Window 1 h. A click 2 h after the impression is outside it — also when the click is
    applied first (it proves an exposure by then) and the impression arrives late."""
    late_click = [("impression", 10, None), ("click", 7200, None)]
    assert _arrive(api, store, clock, WEB_RULE, late_click) == (1, 0, 0)
    assert _arrive(api, store, clock, WEB_RULE, late_click[::-1]) == (1, 0, 0)
    # Two impressions: the window runs from the earlier one, in either order.
    shows = [("impression", 3000, None), ("impression", 10, None), ("click", 3650, None)]
    assert _arrive(api, store, clock, WEB_RULE, shows) == (1, 0, 0)
    assert _arrive(api, store, clock, WEB_RULE, [shows[1], shows[0], shows[2]]) == (1, 0, 0)


def test_the_first_reward_is_the_earliest_not_the_first_to_arrive(
    api, store: Store, clock: Clock
) -> None:
    policy = {"type": "rule", "message": "hello", "reward": {"event": "purchase", "value": True}}
    placement = WEB_RULE | {"policy": policy}
    purchases = [("impression", 1, None), ("purchase", 20, 5.0), ("purchase", 10, 7.0)]
    assert _arrive(api, store, clock, placement, purchases) == (1, 7, 49)
    assert _arrive(api, store, clock, placement, purchases[::-1]) == (1, 7, 49)
    # A reward before every exposure event moves the exposure to it, and still counts once.
    early = [("impression", 50, None), ("purchase", 20, 3.0), ("purchase", 30, 4.0)]
    assert _arrive(api, store, clock, placement, early) == (1, 3, 9)


def test_any_arrival_order_gives_the_outcome_of_the_time_order(
    api, store: Store, clock: Clock
) -> None:
    """Seeded random timelines of impressions and purchases (value rewards, window 1 h): in
    a shuffled order the arm ends where the contract says — a trial at the earliest event,
    and the earliest purchase's value if it lies within the hour after it."""
    policy = {"type": "rule", "message": "hello",
              "reward": {"event": "purchase", "value": True, "window_hours": 1}}  # fmt: skip
    placement = WEB_RULE | {"policy": policy}
    rng = random.Random(5)
    for _ in range(6):
        timeline = [
            (rng.choice(["impression", "purchase"]), rng.randrange(0, 3 * 3600),
             float(rng.randrange(1, 100)))
            for _ in range(rng.randrange(1, 5))
        ]  # fmt: skip
        timeline = [(k, t, v if k == "purchase" else None) for k, t, v in timeline]
        first = min(t for _, t, _ in timeline)
        rewards = sorted((t, v) for k, t, v in timeline if k == "purchase")
        value = rewards[0][1] if rewards and rewards[0][0] <= first + 3600 else 0.0
        assert value is not None
        rng.shuffle(timeline)
        assert _arrive(api, store, clock, placement, timeline) == (1, value, value * value), (
            timeline
        )
