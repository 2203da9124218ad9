"""Segments, lead scoring, triggers, attribution and preview through HTTP against a real
store."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Clock, Store
from tests.helpers import decide, event

DAY = 86_400.0
BANNER = {
    "channels": ["web"],
    "policy": {"type": "rule", "message": "m"},
    "messages": [{"key": "m", "content": {"web": {"t": "Hi"}}}],
}


def post_events(api: Any, *items: dict[str, Any]) -> None:
    response = api.post("/v1/events", json={"events": list(items)})
    assert response.status_code == 200 and response.json()["rejected"] == [], response.text


def test_segments_target_placements(api, store: Store) -> None:
    segment = {"condition": {"contact.city": "Tehran", "behaviour.revenue.IRR": {"$gte": 5e7}}}
    assert api.put("/v1/segments/vip_tehran", json=segment).status_code == 201
    bad = api.put("/v1/segments/broken", json={"condition": {"contact.city": {"$near": 1}}})
    assert bad.status_code == 422
    placement = {**BANNER, "eligibility": {"contact.segments": {"$in": ["vip_tehran"]}}}
    assert api.put("/v1/placements/vip", json=placement).status_code == 201
    # Conditions that would silently target nobody are refused, naming the field.
    for wrong, field in (({"contact.segments": "vip_tehran"}, "eligibility.contact.segments"),
                         ({"contact.segments": {"$in": ["vip_paris"]}},
                          "eligibility.contact.segments.$in[0]")):  # fmt: skip
        response = api.put("/v1/placements/other", json={**BANNER, "eligibility": wrong})
        assert response.status_code == 422
        assert response.json()["error"]["details"][0]["field"] == field
    api.put("/v1/contacts/rich", json={"attributes": {"city": "Tehran"}})
    post_events(api, event("p1", "purchase", "rich", value=6e7, currency="IRR"))
    assert decide(api, "rich", "vip")["message"]["key"] == "m"
    api.put("/v1/contacts/poor", json={"attributes": {"city": "Tehran"}})
    assert decide(api, "poor", "vip")["reason"] == "not_eligible"


def test_lead_score_decays_and_moves_the_stage(api, store: Store, clock: Clock) -> None:
    workspace = {"scoring": {
        "half_life_days": 10,
        "rules": [{"event": "page_view", "where": {"properties.page": "/pricing"}, "points": 10},
                  {"event": "page_view", "where": {"properties.page": "/careers"}, "points": -5},
                  {"event": "email_open", "points": 1}],
        "stages": {"lead": 5, "mql": 15}}}  # fmt: skip
    assert api.put("/v1/workspace", json=workspace).status_code in (200, 201)
    start = clock.now
    post_events(
        api,
        event("a", "page_view", "lead-1", properties={"page": "/blog"}),
        event("b", "page_view", "lead-1", properties={"page": "/pricing"}),
    )
    clock.advance(10 * DAY)  # one half-life: 10 → 5
    post_events(api, event("c", "page_view", "lead-1", properties={"page": "/pricing"}),
                event("d", "email_open", "lead-1"))  # fmt: skip
    behaviour = api.get("/v1/contacts/lead-1").json()["behaviour"]
    assert behaviour["score"] == pytest.approx(5 + 10 + 1)
    assert behaviour["lifecycle_stage"] == "mql"
    clock.advance(10 * DAY)
    behaviour = api.get("/v1/contacts/lead-1").json()["behaviour"]
    assert behaviour["score"] == pytest.approx(8.0)
    assert behaviour["lifecycle_stage"] == "mql"  # stages only move forward
    # An event that happened 12 h ago counts as if it had come then.
    post_events(api, event("e", "page_view", "lead-1", properties={"page": "/careers"},
                           timestamp=_iso(start + 19.5 * DAY)))  # fmt: skip
    late = api.get("/v1/contacts/lead-1").json()["behaviour"]["score"]
    assert late == pytest.approx(8.0 - 5 * 0.5**0.05)


def _iso(at: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(at, UTC).isoformat()


@pytest.mark.parametrize("trigger", ["cart_abandoned", "inactive", "birthday"])
def test_triggers_gate_a_placement(api, store: Store, clock: Clock, trigger: str) -> None:
    from datetime import UTC, datetime

    clock.now = datetime(2026, 11, 25, 21, 0, tzinfo=UTC).timestamp()  # 00:30 on the 26th in Tehran
    spec = {"cart_abandoned": {"type": "cart_abandoned", "after_hours": 1},
            "inactive": {"type": "inactive", "days": 30},
            "birthday": {"type": "birthday"}}[trigger]  # fmt: skip
    assert api.put("/v1/placements/t", json={**BANNER, "trigger": spec}).status_code == 201
    if trigger == "cart_abandoned":
        post_events(api, event("c1", "cart_update", "x", value=20.0, properties={"items": 1}))
        clock.advance(59 * 60)
        assert decide(api, "x", "t")["reason"] == "not_eligible"
        clock.advance(60)
        assert decide(api, "x", "t")["message"] is not None
        post_events(api, event("p1", "purchase", "x", value=20.0, currency="EUR"))
        assert decide(api, "x", "t")["reason"] == "not_eligible"
    elif trigger == "inactive":
        post_events(api, event("v1", "page_view", "x"))
        clock.advance(30 * DAY - 60)
        assert decide(api, "x", "t")["reason"] == "not_eligible"
        clock.advance(120)
        assert decide(api, "x", "t")["message"] is not None
        assert decide(api, "never-seen", "t")["reason"] == "not_eligible"
    else:
        api.put("/v1/contacts/x", json={"attributes": {"birthday": "1990-11-26",
                                                         "timezone": "Asia/Tehran"}})  # fmt: skip
        assert decide(api, "x", "t")["message"] is not None  # already the 26th in Tehran
        api.put("/v1/contacts/y", json={"attributes": {"birthday": "1990-11-26"}})
        assert decide(api, "y", "t")["reason"] == "not_eligible"  # still the 25th in UTC


def test_attribution_credits_exposures_before_a_conversion(api, store: Store) -> None:
    placement = {
        "channels": ["email", "sms"],
        "policy": {"type": "rule", "message": "m"},
        "messages": [{"key": "m", "content": {"email": {"subject": "s"}, "sms": {"text": "t"}}}],
    }
    assert api.put("/v1/placements/promo", json=placement).status_code == 201
    first = decide(api, "buyer", "promo")
    second = decide(api, "buyer", "promo", channels=["sms"])
    post_events(
        api,
        event("d1", "delivered", "buyer", first["decision_id"]),
        event("d2", "delivered", "buyer", second["decision_id"]),
    )
    conversion = event("buy", "purchase", "buyer", value=100.0, currency="EUR")
    post_events(api, conversion, conversion)  # the duplicate credits nothing
    models = api.get("/v1/placements/promo/attribution").json()["models"]
    assert models["last_touch"] == [
        {"message": "m", "channel": "sms", "conversions": 1.0, "revenue": {"EUR": 100.0}}
    ]
    linear = sorted((r["channel"], r["conversions"], r["revenue"]["EUR"]) for r in models["linear"])
    assert linear == [("email", 0.5, 50.0), ("sms", 0.5, 50.0)]


def test_preview_renders_every_message(api, store: Store) -> None:
    placement = {
        "channels": ["email", "sms"],
        "policy": {"type": "rule", "message": "a"},
        "messages": [
            {"key": "a", "content": {"email": {"subject": {"en": "Hi {{ contact.first_name }}",
                                                           "fa": "سلام {{ contact.first_name }}"}},
                                     "sms": {"text": "Hi"}}},
            {"key": "b", "content": {"sms": {"text": "{{ behaviour.counts.click }} clicks"}}},
        ],
    }  # fmt: skip
    assert api.put("/v1/placements/p", json=placement).status_code == 201
    response = api.post(
        "/v1/placements/p/preview",
        json={"attributes": {"first_name": "Sara", "locale": "fa"}, "behaviour": {"n:click": "3"}},
    )
    assert response.status_code == 200, response.text
    a, b = response.json()["messages"]
    assert a["content"]["email"]["subject"] == "سلام \u2068Sara\u2069"
    assert a["direction"] == "rtl" and a["content"]["sms"]["text"] == "Hi"
    # A plain (not localised) field takes the contact's locale: right-to-left, so isolated.
    assert b["content"] == {"sms": {"text": "\u20683\u2069 clicks"}}
    assert (
        api.post("/v1/placements/p/preview", json={"attributes": {"phone": "1"}}).status_code == 422
    )
