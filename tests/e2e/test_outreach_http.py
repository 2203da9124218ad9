"""Channel, send time and contact pressure through HTTP against a real store: caps reserved at
decision time, suppression, goal exit, no repeats, quiet hours and learned send times."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from decide.settings import Settings
from tests.conftest import Clock, Store
from tests.helpers import decide, event

# Wednesday 2026-11-25 12:00 UTC = 15:30 in Tehran.
NOON = datetime(2026, 11, 25, 12, 0, tzinfo=UTC).timestamp()
TEHRAN = {"timezone": "Asia/Tehran", "email": "m@example.org", "phone": "+989121234567"}


def newsletter(**extra: Any) -> dict[str, Any]:
    return {
        "channels": ["email", "sms"],
        "policy": {"type": "rule", "message": "digest"},
        "messages": [
            {"key": "digest", "content": {"email": {"subject": "News"}, "sms": {"text": "News"}}},
        ],
        **extra,
    }


def events(api: Any, *items: dict[str, Any]) -> dict[str, Any]:
    response = api.post("/v1/events", json={"events": list(items)})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_caps_are_reserved_at_decision_time(api, store: Store, clock: Clock) -> None:
    clock.now = NOON
    caps = [{"channel": "email", "max": 2, "days": 7}, {"max": 3, "days": 7}]
    assert api.put("/v1/placements/n", json=newsletter(frequency_caps=caps)).status_code == 201
    first = decide(api, "c1", "n", attributes=TEHRAN)
    second = decide(api, "c1", "n", attributes=TEHRAN)
    # Two campaigns decided before either sent: both reserved email; the third falls to sms.
    assert [first["channel"]["primary"], second["channel"]["primary"]] == ["email", "email"]
    third = decide(api, "c1", "n", attributes=TEHRAN)
    assert third["channel"] == {"primary": "sms", "fallbacks": []}
    fourth = decide(api, "c1", "n", attributes=TEHRAN)
    assert fourth["message"] is None and fourth["reason"] == "frequency_cap"
    assert fourth["excluded_channels"] == {"email": "frequency_cap", "sms": "frequency_cap"}

    # The first send is confirmed by `delivered`; the others never go out: after send_at +
    # grace (6 h) their reservations end and the contact may be messaged again.
    events(api, event("d1", "delivered", "c1", first["decision_id"]))
    clock.advance(7 * 3600)
    again = decide(api, "c1", "n", attributes=TEHRAN)
    assert again["channel"]["primary"] == "email"
    last = decide(api, "c1", "n", attributes=TEHRAN)
    assert last["channel"]["primary"] == "sms"  # email: 2 in 7 days (1 delivered, 1 reserved)

    # At the window's edge: the delivered send leaves the window exactly 7 days after it.
    clock.now = NOON + 7 * 86_400 - 1
    assert decide(api, "c2", "n", attributes=TEHRAN)["channel"]["primary"] == "email"


def test_a_capped_contact_gets_a_later_send_at_when_the_placement_allows(
    api, store: Store, clock: Clock
) -> None:
    clock.now = NOON
    placement = newsletter(
        channels=["email"],
        messages=[{"key": "digest", "content": {"email": {"subject": "News"}}}],
        frequency_caps=[{"channel": "email", "max": 1, "hours": 12}],
        send_time={"type": "fixed", "hour": 16, "within_hours": 48},
    )
    assert api.put("/v1/placements/n", json=placement).status_code == 201
    first = decide(api, "c1", "n", attributes=TEHRAN)
    assert first["send_at"]["local"] == "2026-11-25T16:00:00+03:30"
    second = decide(api, "c1", "n", attributes=TEHRAN)
    # 16:00 today is taken; 12 h later is 04:00 tomorrow, and the fixed hour is 16:00 again.
    assert second["send_at"]["local"] == "2026-11-26T16:00:00+03:30"


def test_suppression_and_consent(api, store: Store) -> None:
    assert api.put("/v1/placements/n", json=newsletter()).status_code == 201
    body = decide(api, "c1", "n", attributes=TEHRAN)
    assert body["channel"] == {"primary": "email", "fallbacks": ["sms"]}
    events(api, event("u1", "unsubscribed", "c1", body["decision_id"]))
    assert decide(api, "c1", "n", attributes=TEHRAN)["channel"] == {
        "primary": "sms", "fallbacks": [],
    }  # fmt: skip
    events(api, event("s1", "stop", "c1"))  # SMS STOP, no channel named: sms
    gone = decide(api, "c1", "n", attributes=TEHRAN)
    assert gone["message"] is None and gone["reason"] == "no_channel"
    assert gone["excluded_channels"] == {"email": "suppressed", "sms": "suppressed"}
    # Consent given again ends the suppression of that channel.
    assert (
        api.patch("/v1/contacts/c1", json={"attributes": {"consent": {"email": True}}}).status_code
        == 200
    )
    assert decide(api, "c1", "n", attributes=TEHRAN)["channel"]["primary"] == "email"
    # An explicit "no" in the request is respected too.
    refused = decide(api, "c2", "n", attributes={**TEHRAN, "consent": {"email": False}})
    assert refused["channel"]["primary"] == "sms"


def test_suppression_and_consent_hold_when_the_caller_holds_the_addresses(
    api, store: Store
) -> None:
    """An ordered placement trusts the campaign engine for addresses (`require_address` off):
    decide stores none, yet an unsubscribe, a refused consent and, under opt-in, a consent
    never given must still keep the channel out. They used to hide behind "no_address"."""
    no_addresses = {"timezone": "Asia/Tehran"}
    assert api.put("/v1/placements/n", json=newsletter()).status_code == 201
    body = decide(api, "c1", "n", attributes=no_addresses)
    assert body["channel"] == {"primary": "email", "fallbacks": ["sms"]}
    events(api, event("u1", "unsubscribed", "c1", body["decision_id"]))
    after = decide(api, "c1", "n", attributes=no_addresses)
    assert after["channel"] == {"primary": "sms", "fallbacks": []}

    refused = decide(api, "c2", "n", attributes={**no_addresses, "consent": {"email": False}})
    assert refused["channel"] == {"primary": "sms", "fallbacks": []}
    assert api.put(
        "/v1/contacts/c3", json={"attributes": {"consent": {"sms": False}}}
    ).status_code in (200, 201)
    stored = decide(api, "c3", "n", attributes=no_addresses)
    assert stored["channel"] == {"primary": "email", "fallbacks": []}

    opt_in = newsletter(channel={"type": "ordered", "consent": "opt_in"})
    assert api.put("/v1/placements/o", json=opt_in).status_code == 201
    silent = decide(api, "c4", "o", attributes=no_addresses)
    assert silent["message"] is None and silent["reason"] == "no_channel"
    assert silent["excluded_channels"] == {"email": "no_consent", "sms": "no_consent"}
    given = decide(api, "c4", "o", attributes={**no_addresses, "consent": {"sms": True}})
    assert given["channel"] == {"primary": "sms", "fallbacks": []}


def test_goal_exit_and_no_repeat(api, store: Store) -> None:
    placement = {
        "channels": ["web"],
        "policy": {"type": "bandit", "algorithm": "thompson"},
        "messages": [{"key": k, "content": {"web": {"t": k}}} for k in ("a", "b", "c")],
        "goal": {"event": "purchase"},
        "no_repeat": True,
    }
    assert api.put("/v1/placements/p", json=placement).status_code == 201
    shown = [decide(api, "c1", "p")["message"]["key"] for _ in range(3)]
    assert sorted(shown) == ["a", "b", "c"]  # each once: never a repeat
    rest = decide(api, "c1", "p")
    assert rest["message"] is None and rest["reason"] == "no_channel"
    assert any(r.startswith("no_repeat") for r in rest["reasons"])
    events(api, event("p1", "purchase", "c2"))
    done = decide(api, "c2", "p")
    assert done["message"] is None and done["reason"] == "goal_reached"


def test_quiet_hours_move_an_immediate_send_to_their_end(api, store: Store, clock: Clock) -> None:
    clock.now = datetime(2026, 11, 25, 19, 30, tzinfo=UTC).timestamp()  # 23:00 in Tehran
    placement = newsletter(quiet_hours={"start": "21:00", "end": "08:00"})
    assert api.put("/v1/placements/n", json=placement).status_code == 201
    body = decide(api, "c1", "n", attributes=TEHRAN)
    assert body["send_at"]["local"] == "2026-11-26T08:00:00+03:30"
    assert body["send_at"]["utc"] == "2026-11-26T04:30:00Z"


def test_send_time_is_learned_from_the_slot_of_the_send(
    make_client, store: Store, clock: Clock
) -> None:
    """A contact who engages with what is sent Thursdays at 00:00 local is sent to then; a
    contact with no history gets the population's best."""
    api = make_client(Settings(config_refresh_s=0.05, priors_refresh_s=0.05))
    email = {
        "channels": ["email"],
        "messages": [{"key": "digest", "content": {"email": {"subject": "News"}}}],
    }
    history = newsletter(**email)  # sends now: imported history at many hours
    learned = newsletter(**email, send_time={"type": "learned", "within_hours": 24 * 7})
    assert api.put("/v1/placements/h", json=history).status_code == 201
    assert api.put("/v1/placements/n", json=learned).status_code == 201
    # Sends at many hours; only the one at Thursday 00:00 Tehran (Wed 20:30 UTC) is opened.
    clock.now = datetime(2026, 11, 2, 0, 30, tzinfo=UTC).timestamp()
    number = 0
    for week in range(3):
        for hour in sorted({*range(0, 168, 7), 68}):  # 68 h in: Thursday 00:00 local
            start = datetime(2026, 11, 2, 0, 30, tzinfo=UTC).timestamp()
            clock.now = start + week * 7 * 86_400 + hour * 3600
            body = decide(api, "john", "h", attributes=TEHRAN)
            number += 1
            items = [event(f"d{number}", "delivered", "john", body["decision_id"])]
            if body["send_at"]["local"].startswith(("2026-11-05T00", "2026-11-12T00",
                                                   "2026-11-19T00")):  # fmt: skip
                items.append(event(f"c{number}", "click", "john", body["decision_id"]))
            events(api, *items)
    slots = api.get("/v1/contacts/john").json()["send_time"]
    assert slots["sends"] == 3 * 25 and slots["engaged"] == 3
    (engaged,) = [s for s in slots["slots"] if s["engaged"]]
    assert engaged["label"] == "Thu 00:00" and engaged["sends"] == 3
    clock.now = datetime(2026, 11, 30, 9, 0, tzinfo=UTC).timestamp()  # a Monday
    chosen = {decide(api, "john", "n", attributes=TEHRAN)["send_at"]["local"] for _ in range(5)}
    assert chosen == {"2026-12-03T00:00:00+03:30"}  # the best slot by posterior mean
    time.sleep(0.3)  # the population priors are refreshed in the background
    stranger = decide(api, "new", "n", attributes=TEHRAN)
    assert stranger["send_at"]["local"] == "2026-12-03T00:00:00+03:30"
    assert any("population" in r for r in stranger["reasons"]), stranger["reasons"]


def batch(api: Any, body: dict[str, Any], **headers: str) -> Any:
    return api.post("/v1/decide/batch", json=body, headers=headers)


def test_batch_of_ten_thousand_contacts(api, store: Store, clock: Clock) -> None:
    clock.now = NOON
    caps = [{"channel": "email", "max": 1, "days": 1}]
    assert api.put("/v1/placements/n", json=newsletter(frequency_caps=caps)).status_code == 201
    contacts: list[Any] = [
        {"contact_id": f"c{i}", "attributes": {"timezone": "Asia/Tehran"}} for i in range(10_000)
    ]
    contacts[17] = {"contact_id": "c17", "attributes": {"timezone": "Mars/Olympus"}}
    contacts[42] = {"attributes": {}}
    body = {"placement": "n", "request_id": "run-1", "contacts": contacts,
            "attributes": {"email": "x@example.org"}}  # fmt: skip
    response = batch(api, body)
    assert response.status_code == 200, response.text[:500]
    decisions = response.json()["decisions"]
    assert [d["index"] for d in decisions] == list(range(10_000))
    assert decisions[17]["status"] == 422 and decisions[17]["contact_id"] == "c17"
    assert decisions[17]["error"]["details"][0]["field"] == "attributes.timezone"
    assert decisions[42]["status"] == 422 and decisions[42]["contact_id"] is None
    good = [d for i, d in enumerate(decisions) if i not in (17, 42)]
    assert all(d["channel"]["primary"] == "email" for d in good)
    assert {d["contact_id"] for d in good} == {f"c{i}" for i in range(10_000)} - {"c17", "c42"}

    # A retry (say, after a timeout) returns the same decisions and reserves nothing again.
    again = batch(api, body).json()["decisions"]
    assert [d.get("decision_id") for d in again] == [d.get("decision_id") for d in decisions]
    # A new request decides afresh: email is capped for a day now, so sms it is.
    fresh = batch(api, {**body, "request_id": "run-2"}).json()["decisions"]
    assert fresh[0]["channel"]["primary"] == "sms"
    reused = batch(api, {**body, "contacts": contacts[:5]})
    assert reused.status_code == 409


def test_batch_streams_ndjson_in_order(api, store: Store) -> None:
    assert api.put("/v1/placements/n", json=newsletter()).status_code == 201
    contacts = [{"contact_id": f"c{i}"} for i in range(2500)]
    response = batch(api, {"placement": "n", "contacts": contacts}, accept="application/x-ndjson")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = [line for line in response.text.splitlines() if line]
    import orjson

    rows = [orjson.loads(line) for line in lines]
    assert [r["index"] for r in rows] == list(range(2500))
    assert rows[2499]["contact_id"] == "c2499" and rows[0]["message"]["key"] == "digest"


def test_batch_limits(api, store: Store) -> None:
    assert api.put("/v1/placements/n", json=newsletter()).status_code == 201
    too_many = {"placement": "n", "contacts": [{"contact_id": "c"}] * 10_001}
    assert batch(api, too_many).status_code == 413
    assert (
        batch(api, {"placement": "missing", "contacts": [{"contact_id": "c"}]}).status_code == 404
    )
    bad = batch(api, {"placement": "n", "contacts": []})
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "contacts"


def test_a_new_contact_gets_the_best_hour_of_those_who_speak_its_language(
    make_client, store: Store, clock: Clock
) -> None:
    """Persian readers engage at 20:00, English readers at 09:00 (all in Tehran): the
    population cannot tell the two hours apart, the language segment can."""
    api = make_client(Settings(config_refresh_s=0.05, priors_refresh_s=0.05))
    messages = [{"key": "digest", "content": {"email": {"subject": "News"}}}]
    email = {"channels": ["email"], "messages": messages}
    assert api.put("/v1/placements/h", json=newsletter(**email)).status_code == 201
    learned = newsletter(**email, send_time={"type": "learned", "within_hours": 24})
    assert api.put("/v1/placements/n", json=learned).status_code == 201
    monday = datetime(2026, 11, 30, tzinfo=UTC).timestamp()  # 03:30 Monday in Tehran
    number = 0
    for language, engaged_hour in (("fa", 20), ("en", 9)):
        for i in range(12):
            contact = {**TEHRAN, "locale": language}
            for hour in (9, 20):
                clock.now = monday + (hour * 60 - 210) * 60  # local hour → UTC (+03:30)
                body = decide(api, f"{language}-{i}", "h", attributes=contact)
                number += 1
                items = [event(f"d{number}", "delivered", f"{language}-{i}", body["decision_id"])]
                if hour == engaged_hour:
                    items.append(
                        event(f"c{number}", "click", f"{language}-{i}", body["decision_id"])
                    )
                events(api, *items)
    time.sleep(0.3)  # the population priors are refreshed in the background
    clock.now = datetime(2026, 12, 6, 21, 0, tzinfo=UTC).timestamp()  # 00:30 Monday in Tehran
    persian = decide(api, "new-fa", "n", attributes={**TEHRAN, "locale": "fa-IR"})
    english = decide(api, "new-en", "n", attributes={**TEHRAN, "locale": "en"})
    assert persian["send_at"]["local"] == "2026-12-07T20:00:00+03:30", persian["reasons"]
    assert english["send_at"]["local"] == "2026-12-07T09:00:00+03:30", english["reasons"]
