"""Bandit placements through HTTP: they learn from events, stay sticky, segment, and show it."""

from __future__ import annotations

import numpy as np
import pytest

from decide.store import keys
from tests.conftest import Store
from tests.helpers import decide, event

ARMS = ("a", "b", "c")


def bandit_placement(**policy: object) -> dict[str, object]:
    return {
        "channels": ["web"],
        "policy": {"type": "bandit", "algorithm": "thompson", "refresh_ms": 0,
                   "reward": {"event": "click", "window_hours": 24}, **policy},
        "messages": [{"key": k, "content": {"web": {"headline": f"Offer {k}"}}} for k in ARMS],
    }  # fmt: skip


def _weights(api, placement: str = "hero", segment: str = "") -> dict[str, float]:
    stats = api.get(f"/v1/placements/{placement}/stats").json()
    (found,) = [s for s in stats["segments"] if s["segment"] == segment]
    return {arm["arm"]: arm["weight"] for arm in found["arms"]}


def test_the_arm_that_converts_three_times_more_gains_weight(api, store: Store) -> None:
    assert api.put("/v1/placements/hero", json=bandit_placement()).status_code == 201
    before = _weights(api)
    assert max(before.values()) - min(before.values()) < 0.1  # nothing learned yet
    rng = np.random.default_rng(7)
    rates = {"a": 0.1, "b": 0.3, "c": 0.1}
    for i in range(600):
        body = decide(api, f"c-{i}", "hero")
        assert body["assignment"]["source"] == "bandit"
        arm, token = body["message"]["key"], body["decision_id"]
        events = [event(f"i-{i}", "impression", f"c-{i}", token)]
        if rng.random() < rates[arm]:
            events.append(event(f"k-{i}", "click", f"c-{i}", token))
        assert api.post("/v1/events", json={"events": events}).status_code == 200
    after = _weights(api)
    assert after["b"] > before["b"] and after["b"] == max(after.values()) and after["b"] > 0.6
    stats = api.get("/v1/placements/hero/stats").json()
    (population,) = stats["segments"]
    b = next(arm for arm in population["arms"] if arm["arm"] == "b")
    assert b["trials"] >= b["rewards"] > 0 and b["interval"][0] < b["mean"] < b["interval"][1]


def test_sticky_hours_keep_the_same_content(api, store: Store) -> None:
    placement = bandit_placement() | {"sticky_hours": 1}
    assert api.put("/v1/placements/hero", json=placement).status_code == 201
    shown = {decide(api, "c-1", "hero")["message"]["key"] for _ in range(10)}
    assert len(shown) == 1
    later = decide(api, "c-1", "hero")
    assert later["assignment"]["sticky"] is True
    log = store.client().xlen(keys.decision_log("hero"))
    assert log == 1  # repeats are not new draws


def test_segments_learn_apart_and_feed_the_population(api, store: Store) -> None:
    placement = bandit_placement(segment_by="contact.locale")
    assert api.put("/v1/placements/hero", json=placement).status_code == 201
    body = decide(api, "c-1", "hero", attributes={"locale": "FA"})
    assert "segment 'fa'" in body["reasons"][0]
    token = body["decision_id"]
    api.post("/v1/events", json={"events": [event("e1", "click", "c-1", token)]})
    client = store.client()
    arm = body["message"]["key"]
    assert float(client.hget(keys.arm_stats("hero", "fa"), f"{arm}:sum")) == 1
    assert float(client.hget(keys.arm_stats("hero", ""), f"{arm}:sum")) == 1
    segments = {s["segment"] for s in api.get("/v1/placements/hero/stats").json()["segments"]}
    assert segments == {"", "fa"}


def test_bad_bandit_settings_are_named(api, store: Store) -> None:
    forgetting = {"discount_per_day": 0.9, "window_days": 3}
    placement = bandit_placement(
        algorithm="oracle",
        floor=0.9,
        segment_by="behaviour.x",
        control="zzz",
        forgetting=forgetting,
    )
    response = api.put("/v1/placements/hero", json=placement)
    assert response.status_code == 422
    fields = {d["field"] for d in response.json()["error"]["details"]}
    assert {"policy.algorithm", "policy.floor", "policy.segment_by", "policy.control",
            "policy.forgetting"} <= fields  # fmt: skip


def test_forgetting_counts_into_daily_buckets(api, store: Store) -> None:
    placement = bandit_placement(forgetting={"discount_per_day": 0.9})
    assert api.put("/v1/placements/hero", json=placement).status_code == 201
    body = decide(api, "c-1", "hero")
    api.post("/v1/events", json={"events": [event("e1", "impression", "c-1", body["decision_id"])]})
    client = store.client()
    daily = [k for k in client.keys("{p:hero}:arms:*") if b":day" in k]
    assert len(daily) == 1 and client.ttl(daily[0]) > 0
    assert sum(_weights(api).values()) == pytest.approx(1.0)


def test_off_policy_evaluation_from_the_logs(make_client, store: Store, clock) -> None:
    from decide.settings import Settings

    api = make_client(Settings(config_refresh_s=0.05, seed=5))
    placement = bandit_placement(algorithm="uniform")
    assert api.put("/v1/placements/hero", json=placement).status_code == 201
    rng = np.random.default_rng(9)
    rates = {"a": 0.05, "b": 0.4, "c": 0.1}
    for i in range(900):
        body = decide(api, f"c-{i}", "hero")
        arm, token = body["message"]["key"], body["decision_id"]
        events = [event(f"i-{i}", "impression", f"c-{i}", token)]
        if rng.random() < rates[arm]:
            events.append(event(f"k-{i}", "click", f"c-{i}", token))
        api.post("/v1/events", json={"events": events})
    clock.advance(25 * 3600)  # every reward window has closed
    always_b = api.post("/v1/placements/hero/evaluate", json={"policy": {"rule": "b"}}).json()
    assert always_b["decisions"] == 900
    for name in ("ips", "snips", "doubly_robust"):
        low, high = always_b[name]["interval"]
        assert low < 0.4 < high, (name, always_b[name])
    assert always_b["snips"]["estimate"] > always_b["logged_policy_value"]
    mixed = {"policy": {"weights": {"a": 1, "c": 1}}}
    assert api.post("/v1/placements/hero/evaluate", json=mixed).json()["ips"]["estimate"] < 0.2
    bad = api.post("/v1/placements/hero/evaluate", json={"policy": {"rule": "zzz"}})
    assert bad.status_code == 422


def test_evaluating_an_arm_the_log_never_drew_is_a_422_not_a_crash(
    api, store: Store, clock
) -> None:
    assert (
        api.put("/v1/placements/hero", json=bandit_placement(algorithm="uniform")).status_code
        == 201
    )
    drawn = set()
    for i in range(2):  # two decisions draw at most two of the three arms
        body = decide(api, f"c-{i}", "hero")
        drawn.add(body["message"]["key"])
        api.post(
            "/v1/events",
            json={"events": [event(f"i-{i}", "impression", f"c-{i}", body["decision_id"])]},
        )
    clock.advance(25 * 3600)
    never = sorted(set(ARMS) - drawn)[0]
    answer = api.post("/v1/placements/hero/evaluate", json={"policy": {"rule": never}})
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["details"][0]["field"] == "policy"


def test_segments_borrow_as_much_as_they_are_alike(api, store: Store) -> None:
    placement = bandit_placement(segment_by="contact.locale")
    assert api.put("/v1/placements/hero", json=placement).status_code == 201
    for i in range(60):
        body = decide(api, f"c-{i}", "hero", attributes={"locale": ["fa", "en", "he"][i % 3]})
        api.post(
            "/v1/events",
            json={"events": [event(f"i-{i}", "impression", f"c-{i}", body["decision_id"])]},
        )
    import time

    deadline = time.monotonic() + 5
    strength = None
    while strength is None and time.monotonic() < deadline:
        decide(api, "probe", "hero", attributes={"locale": "ru"})  # schedules the estimate
        strength = api.get("/v1/placements/hero/stats").json()["prior_strength"]
        time.sleep(0.05)
    assert strength is not None and set(strength) <= set(ARMS)
    assert all(0 <= value <= 1000 for value in strength.values())


def test_a_reward_must_be_an_event_that_can_arrive_and_is_not_the_exposure(
    api, store: Store
) -> None:
    """`impression` as the reward would make every trial a success (sum = n); `Click` can never
    arrive (event types are lowercase): both would leave a bandit learning nothing, silently."""
    for name in ("impression", "delivered", "Click"):
        placement = bandit_placement(reward={"event": name})
        response = api.put("/v1/placements/hero", json=placement)
        assert response.status_code == 422, name
        assert [d["field"] for d in response.json()["error"]["details"]] == ["policy.reward.event"]
