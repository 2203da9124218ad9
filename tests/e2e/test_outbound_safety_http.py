"""Outbound safety through HTTP against a real store, off the happy path: consent, suppression,
caps, quiet hours and no-repeat must hold on every route a decision can take — a batch as a
single decision, a fallback as a primary, a merged contact as the two it was."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from decide.routes import decide as decide_routes
from tests.conftest import Clock, Store
from tests.helpers import decide, event

# Wednesday 2026-11-25 12:00 UTC = 15:30 in Tehran.
NOON = datetime(2026, 11, 25, 12, 0, tzinfo=UTC).timestamp()
TEHRAN = {"timezone": "Asia/Tehran"}


def newsletter(**extra: Any) -> dict[str, Any]:
    return {
        "channels": ["email", "sms", "push"],
        "policy": {"type": "rule", "message": "digest"},
        "messages": [
            {
                "key": "digest",
                "content": {
                    "email": {"subject": "News"},
                    "sms": {"text": "News"},
                    "push": {"title": "News", "body": "News"},
                },
            },
        ],
        **extra,
    }


def put(api: Any, path: str, doc: dict[str, Any]) -> None:
    response = api.put(path, json=doc)
    assert response.status_code in (200, 201), response.text


def events(api: Any, *items: dict[str, Any]) -> None:
    response = api.post("/v1/events", json={"events": list(items)})
    assert response.status_code == 200 and not response.json()["rejected"], response.text


def batch(api: Any, placement: str, contacts: list[dict[str, Any]], **extra: Any) -> list[Any]:
    body = {"placement": placement, "contacts": contacts, **extra}
    response = api.post("/v1/decide/batch", json=body)
    assert response.status_code == 200, response.text
    return list(response.json()["decisions"])


def channels(answer: dict[str, Any]) -> list[str]:
    """Every channel a decision lets the caller send on, primary first."""
    if answer.get("channel") is None:
        return []
    return [answer["channel"]["primary"], *answer["channel"]["fallbacks"]]


def test_a_batch_keeps_a_refusal_its_shared_attributes_carry(api, store: Store) -> None:
    """The batch's `attributes` and a contact's own merge as a request and the stored profile
    do, one level deep: a contact that adds one consent flag keeps the batch's refusals."""
    put(api, "/v1/placements/n", newsletter())
    put(api, "/v1/contacts/c2", {"attributes": {"consent": {"email": True}}})
    shared = {"consent": {"email": False}}
    contacts = [
        {"contact_id": "c1", "attributes": {"consent": {"sms": True}}},
        {"contact_id": "c2", "attributes": {"consent": {"sms": True}}},
    ]
    for entry in batch(api, "n", contacts, attributes=shared):
        assert "email" not in channels(entry), entry
    single = decide(api, "c2", "n", attributes={"consent": {"email": False, "sms": True}})
    assert "email" not in channels(single)


def test_every_fallback_is_allowed_by_the_caps_at_the_send_time(
    api, store: Store, clock: Clock
) -> None:
    """A fallback goes out instead of the primary, at its send_at, so the caps must allow it
    then: a channel they allow only later in the send window is no fallback, for ordered and
    learned channels alike (the next allowed channel takes its place)."""
    clock.now = NOON
    caps = [{"channel": "sms", "max": 1, "days": 1}]
    at_ten = {"type": "fixed", "hour": 10, "within_hours": 48}  # 10:00 tomorrow in Tehran
    addresses = {**TEHRAN, "email": "m@example.org", "phone": "+989121234567",
                 "push_tokens": ["t1"]}  # fmt: skip
    # sms costs more than a message is worth: never the learned primary, always a fallback.
    learned = {"type": "learned", "cost": {"sms": 5}}
    for key, rule in (("ordered", {"type": "ordered"}), ("learned", learned)):
        put(api, f"/v1/placements/{key}",
            newsletter(frequency_caps=caps, send_time=at_ten, channel=rule))  # fmt: skip
    sms = decide(api, "c1", "ordered", attributes=addresses, channels=["sms"])
    assert sms["send_at"]["local"] == "2026-11-26T10:00:00+03:30"  # sms reserved then
    for key in ("ordered", "learned"):
        later = decide(api, "c1", key, attributes=addresses)
        assert later["send_at"] == sms["send_at"]
        assert sorted(channels(later)) == ["email", "push"], later
    clock.advance(86_400)  # the next send goes a day after the sms: sms may fall back again
    for key in ("ordered", "learned"):
        assert "sms" in channels(decide(api, "c1", key, attributes=addresses))


def test_a_fallback_from_a_web_primary_keeps_quiet_hours(api, store: Store, clock: Clock) -> None:
    """Web content is shown in the page now, quiet hours or not; an email falling back from it
    would go now too, so inside quiet hours it is no fallback."""
    clock.now = datetime(2026, 11, 25, 19, 30, tzinfo=UTC).timestamp()  # 23:00 in Tehran
    doc = {
        "channels": ["web", "email"],
        "policy": {"type": "rule", "message": "m"},
        "messages": [{"key": "m", "content": {"web": {"t": "Hi"}, "email": {"subject": "Hi"}}}],
        "quiet_hours": {"start": "21:00", "end": "08:00"},
    }
    put(api, "/v1/placements/n", doc)
    night = decide(api, "c1", "n", attributes=TEHRAN)
    assert night["channel"] == {"primary": "web", "fallbacks": []}, night
    clock.now = datetime(2026, 11, 25, 8, 30, tzinfo=UTC).timestamp()  # 12:00 in Tehran
    day = decide(api, "c1", "n", attributes=TEHRAN)
    assert day["channel"] == {"primary": "web", "fallbacks": ["email"]}


def test_quiet_hours_follow_the_stored_timezone_single_and_batch(
    api, store: Store, clock: Clock
) -> None:
    clock.now = datetime(2026, 11, 25, 19, 30, tzinfo=UTC).timestamp()  # 23:00 in Tehran
    put(api, "/v1/placements/n", newsletter(quiet_hours={"start": "21:00", "end": "08:00"}))
    put(api, "/v1/contacts/c1", {"attributes": {"timezone": "Asia/Tehran"}})
    (in_batch,) = batch(api, "n", [{"contact_id": "c1"}])
    for answer in (decide(api, "c1", "n"), in_batch):
        assert answer["send_at"]["local"] == "2026-11-26T08:00:00+03:30"


def test_a_request_consent_does_not_lift_a_stored_suppression(api, store: Store) -> None:
    """Consent given again through the profile ends a suppression; a decide request's
    attributes hold for that decision only and do not (README: Contacts)."""
    put(api, "/v1/placements/n", newsletter())
    events(api, event("b1", "bounced", "c1", channel="email"))
    events(api, event("u1", "unsubscribed", "c2"))  # no channel: every outbound one
    given = {**TEHRAN, "consent": {"email": True, "sms": True, "push": True}}
    one = decide(api, "c1", "n", attributes=given)
    assert channels(one) == ["sms", "push"]  # the bounce was email's alone
    two = decide(api, "c2", "n", attributes=given)
    assert two["message"] is None and two["excluded_channels"] == {
        "email": "suppressed", "sms": "suppressed", "push": "suppressed",
    }  # fmt: skip
    (in_batch,) = batch(api, "n", [{"contact_id": "c2", "attributes": given}])
    assert in_batch["message"] is None and in_batch["reason"] == "no_channel"
    put(api, "/v1/contacts/c2", {"attributes": {"consent": {"push": True}}})
    assert channels(decide(api, "c2", "n", attributes=given)) == ["push"]


def test_a_stored_consent_never_overrides_a_refusal_in_the_request(api, store: Store) -> None:
    opt_in = newsletter(channel={"type": "ordered", "consent": "opt_in"})
    put(api, "/v1/placements/o", opt_in)
    put(api, "/v1/contacts/c1", {"attributes": {"consent": {"email": True, "sms": True}}})
    refused = {**TEHRAN, "consent": {"email": False}}
    assert channels(decide(api, "c1", "o", attributes=refused)) == ["sms"]
    (entry,) = batch(api, "o", [{"contact_id": "c1", "attributes": refused}])
    assert channels(entry) == ["sms"]


def test_the_same_contact_twice_in_a_batch_is_decided_as_twice_in_a_row(api, store: Store) -> None:
    """Two entries of one contact in a batch read the same state: the second must still see
    the first's cap reservation and, under no_repeat, its message."""
    put(api, "/v1/placements/c", newsletter(frequency_caps=[{"max": 1, "days": 1}]))
    first, second = batch(api, "c", [{"contact_id": "c1"}, {"contact_id": "c1"}])
    assert first["channel"]["primary"] == "email"
    assert second["message"] is None and second["reason"] == "frequency_cap", second
    put(api, "/v1/placements/r", newsletter(no_repeat=True))
    first, second = batch(api, "r", [{"contact_id": "c2"}, {"contact_id": "c2"}])
    assert first["message"]["key"] == "digest"
    assert second["message"] is None and second["reason"] == "no_repeat", second


def test_a_holdout_contact_gets_no_content_it_has_seen(api, store: Store) -> None:
    """no_repeat filters a holdout's default message as it filters a rule's."""
    doc = newsletter(no_repeat=True)
    put(api, "/v1/placements/n", doc)
    put(api, "/v1/holdouts/all", {"share": 0.5})
    held = next(
        f"c{i}" for i in range(100)
        if decide(api, f"c{i}", "n", attributes=TEHRAN)["assignment"]["source"] == "holdout"
    )  # fmt: skip
    again = decide(api, held, "n", attributes=TEHRAN)
    assert again["message"] is None and again["reason"] == "no_repeat", again
    assert again["assignment"] == {"source": "holdout", "propensity": 0.0, "holdout": "all"}


def test_a_merge_keeps_what_the_anonymous_id_refused_reserved_and_reached(
    api, store: Store
) -> None:
    """What stops a message for the visitor stops it for the person it turns out to be: a
    suppression, a refused consent (even where the known profile said yes), a reserved cap,
    content already seen and a goal reached — all recorded on the anonymous id."""
    caps = [{"channel": "sms", "max": 1, "days": 1}]
    put(api, "/v1/placements/n", newsletter(frequency_caps=caps))
    put(api, "/v1/placements/r", newsletter(no_repeat=True))
    put(api, "/v1/placements/g", newsletter(goal={"event": "purchase"}))
    put(api, "/v1/contacts/known", {"attributes": {"consent": {"email": True, "push": True}}})
    put(api, "/v1/contacts/anon-1", {"attributes": {"consent": {"push": False}}})
    events(api, event("b1", "bounced", "anon-1", channel="email"))
    assert channels(decide(api, "anon-1", "n", attributes=TEHRAN)) == ["sms"]  # sms reserved
    assert decide(api, "anon-1", "r", attributes=TEHRAN)["message"]["key"] == "digest"
    events(api, event("p1", "purchase", "anon-1"))

    merged = api.post("/v1/contacts/known/merge", json={"from": "anon-1"})
    assert merged.status_code == 200, merged.text
    attributes = api.get("/v1/contacts/known").json()["attributes"]
    assert attributes["consent"] == {"email": True, "push": False}

    capped = decide(api, "known", "n", attributes=TEHRAN)
    assert capped["message"] is None, capped
    assert capped["excluded_channels"] == {
        "email": "suppressed", "sms": "frequency_cap", "push": "no_consent",
    }  # fmt: skip
    assert decide(api, "known", "r", attributes=TEHRAN)["reason"] == "no_repeat"
    assert decide(api, "known", "g", attributes=TEHRAN)["reason"] == "goal_reached"


def test_a_send_on_a_fallback_counts_against_the_fallbacks_caps(api, store: Store) -> None:
    """The engine sent the sms fallback: that sms counts against sms's caps, not email's."""
    caps = [{"channel": "sms", "max": 1, "days": 1}]
    put(api, "/v1/placements/n", newsletter(frequency_caps=caps))
    first = decide(api, "c1", "n", attributes=TEHRAN)
    assert channels(first) == ["email", "sms", "push"]
    # The email bounced, so the campaign engine sent the sms fallback instead.
    events(api, event("d1", "delivered", "c1", first["decision_id"], channel="sms"))
    again = decide(api, "c1", "n", attributes=TEHRAN, channels=["sms"])
    assert again["message"] is None and again["reason"] == "frequency_cap", again


def verdict(answer: dict[str, Any]) -> tuple[Any, ...]:
    message = answer["message"]["key"] if answer["message"] else None
    excluded = answer.get("excluded_channels", {})
    return message, answer["reason"], channels(answer), excluded


def test_a_batch_gives_each_contact_what_a_single_decision_gives(
    api, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same state, same verdict, across the batch's chunks (of two here)."""
    monkeypatch.setattr(decide_routes, "CHUNK", 2)
    put(api, "/v1/placements/n", newsletter(goal={"event": "purchase"}))
    put(api, "/v1/contacts/refused", {"attributes": {"consent": {"email": False}}})
    events(
        api,
        event("e1", "unsubscribed", "unsubscribed"),
        event("e2", "bounced", "bounced", channel="email"),
        event("e3", "stop", "stopped"),
        event("e4", "purchase", "bought"),
    )
    contacts = [
        {"contact_id": c}
        for c in ("plain", "unsubscribed", "bounced", "stopped", "bought", "refused")
    ] + [{"contact_id": "says-no", "attributes": {"consent": {"sms": False}}}]
    answers = batch(api, "n", contacts, attributes=TEHRAN)
    for item, in_batch in zip(contacts, answers, strict=True):
        attributes = {**TEHRAN, **item.get("attributes", {})}
        single = decide(api, item["contact_id"], "n", attributes=attributes)
        assert verdict(in_batch) == verdict(single), item
    assert [channels(a) for a in answers] == [
        ["email", "sms", "push"], [], ["sms", "push"], ["email", "push"], [],
        ["sms", "push"], ["email", "push"],
    ]  # fmt: skip


def test_a_late_delivered_still_counts_against_the_caps(api, store: Store, clock: Clock) -> None:
    """Delivery reports can lag by hours: the reservation lapses, another send is decided, and
    then the first turns out to have happened — from then on both count."""
    clock.now = NOON
    caps = [{"channel": "email", "max": 2, "days": 7}]
    put(api, "/v1/placements/n", newsletter(frequency_caps=caps))
    first = decide(api, "c1", "n", attributes=TEHRAN, channels=["email"])
    clock.advance(7 * 3600)  # past send_at + 6 h of grace: the reservation lapses
    assert channels(decide(api, "c1", "n", attributes=TEHRAN, channels=["email"])) == ["email"]
    at = datetime.fromtimestamp(NOON + 60, UTC).isoformat()
    events(api, event("d1", "delivered", "c1", first["decision_id"], timestamp=at))
    third = decide(api, "c1", "n", attributes=TEHRAN, channels=["email"])
    assert third["message"] is None and third["reason"] == "frequency_cap", third
