"""POST /v1/decide through HTTP against a real server."""

from __future__ import annotations

from collections import Counter

from scipy.stats import chisquare

from tests.conftest import MakeClient, Store
from tests.helpers import EMAIL_RULE, WEB_RULE, arm_stats, decide, load_demo


def test_demo_decision_is_rendered_in_the_contacts_language(api, store: Store) -> None:
    load_demo(api)
    body = decide(
        api,
        "c-1842",
        attributes={"first_name": "Maryam", "locale": "fa-IR", "timezone": "Asia/Tehran"},
    )
    assert body["placement"] == "homepage_hero"
    assert body["degraded"] is False and body["reason"] is None
    assert body["decision_id"].startswith("v1.")
    assignment = body["assignment"]
    assert assignment["source"] == "experiment" and assignment["experiment"] == "hero_copy"
    weights = {"control": 0.34, "discount": 0.33, "shipping": 0.33}
    assert assignment["propensity"] == weights[assignment["variation"]]
    headline = body["message"]["content"]["web"]["headline"]
    assert "Maryam" in headline and any("\u0600" <= ch <= "\u06ff" for ch in headline)
    assert body["message"]["direction"] == "rtl"
    assert body["channel"] == {"primary": "web", "fallbacks": []}
    assert body["send_at"]["local"].endswith("+03:30")


def test_a_contact_keeps_its_variation_across_calls_and_restarts(make_client: MakeClient) -> None:
    first = make_client()
    load_demo(first)
    seen = {decide(first, f"c-{i}")["assignment"]["variation"] for i in range(3)}
    for i in range(3):
        variations = {decide(first, f"c-{i}")["assignment"]["variation"] for _ in range(5)}
        assert len(variations) == 1
    second = make_client()  # a new worker: fresh process state, same store
    again = {decide(second, f"c-{i}")["assignment"]["variation"] for i in range(3)}
    assert again == seen


def test_http_split_follows_the_weights(api, store: Store) -> None:
    load_demo(api)
    counts = Counter(decide(api, f"split-{i}")["assignment"]["variation"] for i in range(1500))
    observed = [counts["control"], counts["discount"], counts["shipping"]]
    expected = [1500 * w for w in (0.34, 0.33, 0.33)]
    assert chisquare(observed, expected).pvalue > 0.001


def test_unknown_placement_is_404_and_bad_fields_are_named(api, store: Store) -> None:
    response = api.post("/v1/decide", json={"contact_id": "c1", "placement": "nope"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "placement_not_found"

    response = api.post(
        "/v1/decide",
        json={"placement": "nope", "channels": ["fax"], "attributes": {"timezone": "Mars/Base"}},
    )
    assert response.status_code == 422
    fields = {d["field"] for d in response.json()["error"]["details"]}
    assert fields == {"contact_id", "channels[0]", "attributes.timezone"}

    response = api.post(
        "/v1/decide", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_json"


def test_declared_context_is_required(api, store: Store) -> None:
    load_demo(api)
    response = api.post("/v1/decide", json={"contact_id": "c1", "placement": "cart_reminder"})
    assert response.status_code == 422
    assert response.json()["error"]["details"] == [
        {"field": "context.cart_url", "reason": "is required by this placement"}
    ]
    # In a batch, the contact's line names it with the same error.
    lines = api.post(
        "/v1/decide/batch", json={"placement": "cart_reminder", "contacts": [{"contact_id": "c1"}]}
    ).json()["decisions"]
    assert [(d["contact_id"], d["status"], d["error"]["details"][0]["field"]) for d in lines] == [
        ("c1", 422, "context.cart_url")
    ]
    body = decide(
        api,
        "c1",
        "cart_reminder",
        context={"cart_url": "https://shop.example/c/9"},
        attributes={"first_name": "Tom & Jerry"},
    )
    assert body["channel"] == {"primary": "email", "fallbacks": ["sms"]}
    email = body["message"]["content"]["email"]
    assert email["subject"] == "Tom & Jerry, you left something"  # subjects are never escaped
    assert 'href="https://shop.example/c/9"' in email["html"]
    assert (
        body["message"]["content"]["sms"]["text"]
        == "Your cart is waiting: https://shop.example/c/9"
    )


def test_channels_restrict_and_fallbacks(api, store: Store) -> None:
    assert api.put("/v1/placements/note", json=EMAIL_RULE).status_code == 201
    assert decide(api, "c1", "note", channels=["sms"])["channel"] == {
        "primary": "sms",
        "fallbacks": [],
    }
    body = decide(api, "c1", "note", channels=["push"])
    assert (
        body["message"] is None and body["reason"] == "no_channel" and body["decision_id"] is None
    )


def test_eligibility_filters_before_anything_is_recorded(api, store: Store) -> None:
    placement = WEB_RULE | {"eligibility": {"contact.lifecycle_stage": "customer"}}
    assert api.put("/v1/placements/hero", json=placement).status_code == 201
    body = decide(api, "c1", "hero", attributes={"lifecycle_stage": "lead"})
    assert body["message"] is None and body["reason"] == "not_eligible"
    assert arm_stats(store.url, "hero") == {}
    body = decide(api, "c1", "hero", attributes={"lifecycle_stage": "customer"})
    assert body["message"]["key"] == "hello"


def test_on_decide_exposure_counts_the_trial_at_once(api, store: Store) -> None:
    assert (
        api.put("/v1/placements/hero", json=WEB_RULE | {"exposure": "on_decide"}).status_code == 201
    )
    decide(api, "c1", "hero")
    decide(api, "c2", "hero")
    assert arm_stats(store.url, "hero") == {"hello:decided": 2, "hello:n": 2}


def test_body_over_the_limit_is_413(make_client: MakeClient) -> None:
    from decide.settings import Settings

    api = make_client(Settings(body_limit=1000))
    response = api.post(
        "/v1/decide", json={"contact_id": "c", "placement": "p", "attributes": {"x": "y" * 2000}}
    )
    assert response.status_code == 413 and response.json()["error"]["code"] == "body_too_large"
