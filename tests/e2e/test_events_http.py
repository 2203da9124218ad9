"""POST /v1/events: idempotent, attributed by signed decision_id, trials and rewards."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import orjson

from decide.store.connection import sync_client
from tests.conftest import Clock, Store
from tests.helpers import WEB_RULE, arm_stats, decide, event


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def _counters(url: str) -> dict[bytes, dict[bytes, bytes]]:
    client = sync_client(url)
    return {key: client.hgetall(key) for key in client.keys("*") if client.type(key) == b"hash"}


def test_posting_the_same_batch_twice_changes_nothing(api, store: Store) -> None:
    assert api.put("/v1/placements/hero", json=WEB_RULE).status_code == 201
    token = decide(api, "c1", "hero")["decision_id"]
    batch = {
        "events": [
            event("e1", "impression", "c1", token),
            event("e2", "click", "c1", token),
            event("e3", "purchase", "c1", value=42.5, currency="EUR"),
        ]
    }
    first = api.post("/v1/events", json=batch)
    assert first.json() == {"accepted": 3, "duplicate": 0, "rejected": []}
    before = _counters(store.url)
    second = api.post("/v1/events", json=batch)
    assert second.json() == {"accepted": 0, "duplicate": 3, "rejected": []}
    assert _counters(store.url) == before
    assert arm_stats(store.url, "hero") == {
        "hello:decided": 1,
        "hello:n": 1,
        "hello:sum": 1,
        "hello:sum_sq": 1,
    }


def test_a_duplicate_inside_one_batch_counts_once(api, store: Store) -> None:
    assert api.put("/v1/placements/hero", json=WEB_RULE).status_code == 201
    token = decide(api, "c1", "hero")["decision_id"]
    same = event("e1", "impression", "c1", token)
    assert api.post("/v1/events", json={"events": [same, same]}).json()["duplicate"] == 1
    assert arm_stats(store.url, "hero")["hello:n"] == 1


def test_only_the_first_reward_per_decision_counts(api, store: Store) -> None:
    assert api.put("/v1/placements/hero", json=WEB_RULE).status_code == 201
    token = decide(api, "c1", "hero")["decision_id"]
    events = [
        event(f"e{i}", kind, "c1", token)
        for i, kind in enumerate(["impression", "impression", "click", "click"])
    ]
    assert api.post("/v1/events", json={"events": events}).json()["accepted"] == 4
    stats = arm_stats(store.url, "hero")
    assert stats["hello:n"] == 1 and stats["hello:sum"] == 1  # sum <= n


def test_a_reward_without_its_exposure_event_still_counts_a_trial(api, store: Store) -> None:
    assert api.put("/v1/placements/hero", json=WEB_RULE).status_code == 201
    token = decide(api, "c1", "hero")["decision_id"]
    api.post("/v1/events", json={"events": [event("e1", "click", "c1", token)]})
    api.post("/v1/events", json={"events": [event("e2", "impression", "c1", token)]})  # late
    stats = arm_stats(store.url, "hero")
    assert stats["hello:n"] == 1 and stats["hello:sum"] == 1


def test_a_decision_never_exposed_is_neither_trial_nor_zero(api, store: Store) -> None:
    assert api.put("/v1/placements/hero", json=WEB_RULE).status_code == 201
    decide(api, "c1", "hero")
    assert arm_stats(store.url, "hero") == {"hello:decided": 1}


def test_a_reward_after_the_window_is_not_counted(api, store: Store, clock: Clock) -> None:
    assert api.put("/v1/placements/hero", json=WEB_RULE).status_code == 201  # window: 1 h
    token = decide(api, "c1", "hero")["decision_id"]
    start = clock.now
    api.post(
        "/v1/events",
        json={"events": [event("e1", "impression", "c1", token, timestamp=_iso(start + 10))]},
    )
    clock.advance(2 * 3600)
    late = event("e2", "click", "c1", token, timestamp=_iso(start + 2 * 3600))
    assert api.post("/v1/events", json={"events": [late]}).json()["accepted"] == 1
    stats = arm_stats(store.url, "hero")
    assert stats["hello:n"] == 1 and "hello:sum" not in stats


def test_value_rewards_sum_the_events_value(api, store: Store) -> None:
    placement = WEB_RULE | {
        "policy": {
            "type": "rule",
            "message": "hello",
            "reward": {"event": "purchase", "value": True},
        }
    }
    assert api.put("/v1/placements/hero", json=placement).status_code == 201
    token = decide(api, "c1", "hero")["decision_id"]
    events = [
        event("e1", "impression", "c1", token),
        event("e2", "purchase", "c1", token, value=20.0, currency="EUR"),
    ]
    api.post("/v1/events", json={"events": events})
    stats = arm_stats(store.url, "hero")
    assert stats["hello:sum"] == 20.0 and stats["hello:sum_sq"] == 400.0


def test_forged_tampered_and_foreign_decision_ids_are_rejected(api, store: Store) -> None:
    assert api.put("/v1/placements/hero", json=WEB_RULE).status_code == 201
    token = decide(api, "c1", "hero")["decision_id"]
    version, kid, body, mac = token.split(".")
    payload = orjson.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["m"] = "other"
    tampered_body = base64.urlsafe_b64encode(orjson.dumps(payload)).rstrip(b"=").decode()
    events = [
        event("e1", "click", "c1", f"{version}.{kid}.{tampered_body}.{mac}"),
        event("e2", "click", "c1", "v1.s1.e30.AAAA"),
        event("e3", "click", "c1", "garbage"),
        event("e4", "click", "c2", token),
    ]
    result = api.post("/v1/events", json={"events": events}).json()
    assert result["accepted"] == 0
    reasons = [(r["index"], r["reason"]) for r in result["rejected"]]
    assert reasons == [
        (0, "bad_signature"),
        (1, "bad_signature"),
        (2, "malformed_decision_id"),
        (3, "contact_mismatch"),
    ]
    assert arm_stats(store.url, "hero") == {"hello:decided": 1}


def test_bad_events_are_rejected_one_by_one_with_the_field(api, store: Store, clock: Clock) -> None:
    events = [
        event("ok", "click", "c1"),
        {"type": "click", "contact_id": "c1"},
        event("e3", "Click!", "c1"),
        event("e4", "purchase", "c1", value="12"),
        event("e5", "click", "c1", timestamp="yesterday"),
        event("e6", "click", "c1", timestamp=_iso(clock.now - 25 * 3600)),
        event("e7", "click", "c1", timestamp=_iso(clock.now + 3600)),
        event("e8", "click", "c1", timestamp="2026-11-24T18:02:11"),
    ]
    result = api.post("/v1/events", json={"events": events}).json()
    assert result["accepted"] == 1
    got = [(r["index"], r["reason"], r.get("field")) for r in result["rejected"]]
    assert got == [
        (1, "invalid", "events[1].event_id"),
        (2, "invalid", "events[2].type"),
        (3, "invalid", "events[3].value"),
        (4, "invalid", "events[4].timestamp"),
        (5, "too_old", "timestamp"),
        (6, "in_future", "timestamp"),
        (7, "invalid", "events[7].timestamp"),
    ]


def test_an_expired_decision_is_rejected(api, store: Store, clock: Clock) -> None:
    assert api.put("/v1/placements/hero", json=WEB_RULE).status_code == 201
    token = decide(api, "c1", "hero")["decision_id"]
    clock.advance(timedelta(hours=1 + 24, minutes=1).total_seconds())  # window + grace
    result = api.post("/v1/events", json={"events": [event("e1", "click", "c1", token)]}).json()
    assert [r["reason"] for r in result["rejected"]] == ["decision_expired"]


def test_events_body_shape_errors(api, store: Store) -> None:
    assert api.post("/v1/events", json={"event": []}).status_code == 422
    assert api.post("/v1/events", json=[1, 2]).status_code == 422
    response = api.post("/v1/events", json={"events": "nope"})
    assert response.json()["error"]["details"][0]["field"] == "events"


def test_a_rotated_out_key_is_honoured_until_its_grace_period_ends(
    make_client, store: Store, clock: Clock
) -> None:
    from decide.settings import Settings

    before = make_client(Settings(config_refresh_s=0.05, signing_keys="k1:first"))
    assert before.put("/v1/placements/hero", json=WEB_RULE).status_code == 201
    token = decide(before, "c1", "hero")["decision_id"]
    grace_ends = _iso(clock.now + 3600)
    rotated = make_client(
        Settings(config_refresh_s=0.05, signing_keys=f"k2:second,k1:first@{grace_ends}")
    )
    shown = rotated.post("/v1/events", json={"events": [event("e1", "impression", "c1", token)]})
    assert shown.json()["accepted"] == 1
    assert decide(rotated, "c2", "hero")["decision_id"].startswith("v1.k2.")
    clock.advance(3601)
    late = rotated.post("/v1/events", json={"events": [event("e2", "click", "c1", token)]}).json()
    assert [(r["reason"], r["field"]) for r in late["rejected"]] == [("key_retired", "decision_id")]


def test_a_click_timed_before_its_impression_still_counts(api, store: Store, clock: Clock) -> None:
    assert api.put("/v1/placements/hero", json=WEB_RULE).status_code == 201
    token = decide(api, "c1", "hero")["decision_id"]
    shown = event("e1", "impression", "c1", token, timestamp=_iso(clock.now + 5))
    clicked = event("e2", "click", "c1", token, timestamp=_iso(clock.now + 2))  # another clock
    assert api.post("/v1/events", json={"events": [shown]}).json()["accepted"] == 1
    assert api.post("/v1/events", json={"events": [clicked]}).json()["accepted"] == 1
    stats = arm_stats(store.url, "hero")
    assert (stats["hello:n"], stats["hello:sum"]) == (1.0, 1.0)
