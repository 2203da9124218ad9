# ruff: noqa: RUF001  (Persian and Hebrew text on purpose)
"""Contact profiles through HTTP against a real store: typed attributes, content in the
contact's language from the stored profile, behaviour from events, erasure and merge."""

from __future__ import annotations

from typing import Any

import pytest
import redis

from tests.conftest import Clock, Store
from tests.helpers import decide, event

FSI, PDI = "\u2068", "\u2069"

GREETING = {
    "channels": ["web"],
    "policy": {"type": "rule", "message": "hello"},
    "messages": [
        {
            "key": "hello",
            "content": {
                "web": {
                    "headline": {
                        "en": "Hi {{ contact.first_name | default: 'there' }}, born "
                        "{{ contact.birthday | format_date: 'long' }}",
                        "fa": "سلام {{ contact.first_name | default: 'دوست عزیز' }}، تولد شما "
                        "{{ contact.birthday | format_date: 'long' }}",
                        "he": "שלום {{ contact.first_name | default: 'חבר' }}!",
                    },
                    "html": '<p title="{{ contact.custom.note }}">{{ contact.custom.note }}</p>',
                }
            },
        }
    ],
}


def put_tested_experiment(api: Any) -> None:
    """Placement `tested`, served by the running A/B experiment `exp`."""
    placement = {
        "channels": ["web"], "policy": {"type": "experiment", "experiment": "exp"},
        "messages": [{"key": "a", "content": {"web": {"t": "A"}}},
                     {"key": "b", "content": {"web": {"t": "B"}}}],
    }  # fmt: skip
    assert api.put("/v1/placements/tested", json=placement).status_code == 201
    experiment = {
        "placement": "tested", "status": "running",
        "variations": [{"key": "a", "message": "a"}, {"key": "b", "message": "b"}],
        "metrics": {"primary": {"event": "click", "type": "binomial"}},
    }  # fmt: skip
    assert api.put("/v1/experiments/exp", json=experiment).status_code == 201


def put(api: Any, contact: str, **attributes: Any) -> dict[str, Any]:
    response = api.put(f"/v1/contacts/{contact}", json={"attributes": attributes})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_profile_put_patch_get_and_typed_errors(api, store: Store) -> None:
    put(
        api, "c-1", first_name="Maryam", locale="fa-IR", timezone="Asia/Tehran",
        email="m@example.org", consent={"email": True, "sms": False}, custom={"plan": "pro"},
    )  # fmt: skip
    patched = api.patch(
        "/v1/contacts/c-1",
        json={
            "attributes": {
                "consent": {"sms": True},
                "custom": {"plan": None, "vip": True},
                "email": None,
            }
        },
    )
    assert patched.status_code == 200, patched.text
    attributes = api.get("/v1/contacts/c-1").json()["attributes"]
    assert attributes == {
        "first_name": "Maryam", "locale": "fa-IR", "timezone": "Asia/Tehran",
        "consent": {"email": True, "sms": True}, "custom": {"vip": True},
    }  # fmt: skip

    bad = api.put(
        "/v1/contacts/c-1",
        json={
            "attributes": {
                "phone": "0912",
                "timezone": "Mars/Base",
                "favourite": 1,
                "consent": {"fax": True},
                "birthday": "1990-13-01",
            }
        },
    )
    assert bad.status_code == 422
    fields = {d["field"] for d in bad.json()["error"]["details"]}
    assert fields == {
        "attributes.phone", "attributes.timezone", "attributes.favourite",
        "attributes.consent.fax", "attributes.birthday",
    }  # fmt: skip
    assert api.get("/v1/contacts/c-1").json()["attributes"]["first_name"] == "Maryam"
    assert api.get("/v1/contacts/nobody").status_code == 404


def test_stored_profile_fills_content_in_the_contacts_language(api, store: Store) -> None:
    assert api.put("/v1/placements/greeting", json=GREETING).status_code == 201
    put(api, "fa-1", first_name="Sara", locale="fa-IR", birthday="1990-03-21",
        timezone="Asia/Tehran")  # fmt: skip
    body = decide(api, "fa-1", "greeting")
    headline = body["message"]["content"]["web"]["headline"]
    # Solar Hijri, Persian digits; the Latin name isolated inside right-to-left text.
    assert headline == f"سلام {FSI}Sara{PDI}، تولد شما {FSI}۱ فروردین ۱۳۶۹{PDI}"
    assert body["message"]["direction"] == "rtl"

    put(api, "he-1", first_name="Dana Levi", locale="he")
    he = decide(api, "he-1", "greeting")["message"]
    assert he["content"]["web"]["headline"] == f"שלום {FSI}Dana Levi{PDI}!"
    assert he["direction"] == "rtl"

    # No first name anywhere: the template's default. Request attributes override the profile
    # for this decision only.
    put(api, "en-1", locale="en", birthday="1990-03-21")
    assert decide(api, "en-1", "greeting")["message"]["content"]["web"]["headline"] == (
        "Hi there, born March 21, 1990"
    )
    once = decide(api, "en-1", "greeting", attributes={"first_name": "Tom"})
    assert once["message"]["content"]["web"]["headline"].startswith("Hi Tom,")
    assert "first_name" not in api.get("/v1/contacts/en-1").json()["attributes"]


def test_html_from_contact_data_is_escaped(api, store: Store) -> None:
    assert api.put("/v1/placements/greeting", json=GREETING).status_code == 201
    put(api, "x-1", locale="en", custom={"note": '"><script>alert(1)</script>'})
    html = decide(api, "x-1", "greeting")["message"]["content"]["web"]["html"]
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert '"><' not in html  # the attribute value cannot be closed early


def test_a_template_with_an_unknown_contact_field_is_rejected_at_put(api, store: Store) -> None:
    placement = {**GREETING, "messages": [
        {"key": "hello", "content": {"web": {"headline": "Hi {{ contact.favourite_colour }}"}}}
    ]}  # fmt: skip
    response = api.put("/v1/placements/greeting", json=placement)
    assert response.status_code == 422
    (detail,) = response.json()["error"]["details"]
    assert detail["field"] == "messages[0].content"
    assert "contact.favourite_colour" in detail["reason"]
    assert api.get("/v1/placements/greeting").status_code == 404


def test_behaviour_is_kept_from_events(api, store: Store, clock: Clock) -> None:
    events = [
        event("e1", "page_view", "b-1", properties={"page": "/pricing"}),
        event("e2", "product_view", "b-1", properties={"product": "sku-42"}),
        event("e3", "cart_update", "b-1", value=59.0, properties={"items": 2}),
        event("e4", "page_view", "b-1", properties={"page": "/"}),
    ]
    assert api.post("/v1/events", json={"events": events}).json()["accepted"] == 4
    clock.advance(2 * 3600)
    behaviour = api.get("/v1/contacts/b-1").json()["behaviour"]
    assert behaviour["counts"] == {"page_view": 2, "product_view": 1, "cart_update": 1}
    assert behaviour["viewed_pages"] == ["/", "/pricing"]
    assert behaviour["viewed_products"] == ["sku-42"]
    assert behaviour["cart"]["items"] == 2 and behaviour["cart"]["abandoned"] is True
    assert behaviour["cart_abandoned_minutes"] == pytest.approx(120, abs=1 / 60)  # whole seconds

    purchase = event("e5", "purchase", "b-1", value=59.0, currency="EUR")
    assert api.post("/v1/events", json={"events": [purchase, purchase]}).json()["accepted"] == 1
    behaviour = api.get("/v1/contacts/b-1").json()["behaviour"]
    assert behaviour["cart"]["items"] == 0 and behaviour["purchased_since_cart"] is True
    assert behaviour["revenue"] == {"EUR": 59.0} and behaviour["purchases"] == 1


def test_erasure_leaves_no_key_of_the_contact(api, store: Store) -> None:
    """Every kind of state a contact can leave behind, then DELETE; a SCAN of the whole
    keyspace and of every stream finds the contact's id nowhere."""
    contact = "erase-me@example.org"
    assert api.put("/v1/placements/greeting", json=GREETING).status_code == 201
    put(api, contact, first_name="Ava", locale="en")
    bandit = {
        "channels": ["web"], "sticky_hours": 24,
        "policy": {"type": "bandit", "algorithm": "thompson"},
        "messages": [{"key": "a", "content": {"web": {"t": "A"}}},
                     {"key": "b", "content": {"web": {"t": "B"}}}],
    }  # fmt: skip
    assert api.put("/v1/placements/banner", json=bandit).status_code == 201
    put_tested_experiment(api)
    decision = decide(api, contact, "banner")
    decide(api, contact, "tested")
    decide(api, contact, "greeting")
    events = [
        event("e1", "impression", contact, decision["decision_id"]),
        event("e2", "click", contact, decision["decision_id"]),
        event("e3", "page_view", contact, properties={"page": "/"}),
    ]
    assert api.post("/v1/events", json={"events": events}).json()["accepted"] == 3

    client = store.client()
    assert _mentions(client, contact)  # the scan below can find what it looks for

    response = api.delete(f"/v1/contacts/{contact}")
    assert response.status_code == 200
    erased = response.json()["erased"]
    assert erased["keys"] >= 4 and erased["experiment_entries"] >= 1
    assert erased["decision_log_entries"] == 1 and erased["event_log_entries"] == 1
    assert _mentions(client, contact) == []
    assert api.get(f"/v1/contacts/{contact}").status_code == 404
    audit = api.get("/v1/audit").json()["entries"]  # newest first; config PUTs before it
    assert audit[0]["action"] == "erase_contact" and contact not in str(audit)


def _mentions(client: redis.Redis, contact: str) -> list[str]:
    """Every key whose name, hash fields, or stream entries hold the contact id."""
    needle = contact.encode()
    found = []
    for name in client.scan_iter(count=1000):
        kind = client.type(name)
        in_hash = kind == b"hash" and any(
            needle in k or needle in v for k, v in client.hgetall(name).items()
        )
        in_stream = kind == b"stream" and any(
            needle in k or needle in v
            for _, fields in client.xrange(name)
            for k, v in fields.items()
        )
        if needle in name or in_hash or in_stream:
            found.append(name.decode())
    return found


def test_merge_folds_an_anonymous_visitor_into_a_known_contact(api, store: Store) -> None:
    put_tested_experiment(api)
    # An anonymous visitor whose assignment differs from what the known id would hash to.
    anonymous = next(
        f"anon-{i}" for i in range(200)
        if decide(api, f"anon-{i}", "tested")["assignment"]["variation"]
        != decide(api, "known-1", "tested")["assignment"]["variation"]
    )  # fmt: skip
    api.delete("/v1/contacts/known-1")  # forget known-1's own assignment: it never visited
    seen = decide(api, anonymous, "tested")["assignment"]["variation"]
    views = [event(f"v{i}", "page_view", anonymous, properties={"page": "/p"}) for i in range(3)]
    assert api.post("/v1/events", json={"events": views}).json()["accepted"] == 3
    assert (
        api.post("/v1/events", json={"events": [event("k1", "page_view", "known-1")]}).json()[
            "accepted"
        ]
        == 1
    )
    put(api, anonymous, first_name="Visitor", locale="fa")
    put(api, "known-1", first_name="Reza")

    merged = api.post("/v1/contacts/known-1/merge", json={"from": anonymous})
    assert merged.status_code == 200, merged.text
    again = api.post("/v1/contacts/known-1/merge", json={"from": anonymous}).json()
    assert again["already_merged"] is True

    known = api.get("/v1/contacts/known-1").json()
    assert known["behaviour"]["counts"]["page_view"] == 4  # 3 + 1, counted once
    assert known["attributes"] == {"first_name": "Reza", "locale": "fa"}  # known wins
    assert decide(api, "known-1", "tested")["assignment"]["variation"] == seen  # sticky kept
    assert api.get(f"/v1/contacts/{anonymous}").status_code == 404
    bad = api.post("/v1/contacts/known-1/merge", json={"from": "known-1"})
    assert bad.status_code == 422
