"""A browser (`public`) key is public: whoever reads the page has it. Through HTTP: it reaches
only decide (web placements) and events, it reveals nothing stored about a contact without
that contact's `contact_token`, and it is bound to its origins and its rate limit."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from starlette.testclient import TestClient

from decide.auth import contact_token, parse_api_keys
from decide.settings import Settings
from tests.conftest import Clock, MakeClient
from tests.helpers import WEB_RULE, event

SHOP = "https://shop.example"
SECRET = b"backend-secret"
ADMIN = {"X-API-Key": "adm1n"}
BROWSER = {"X-API-Key": "pk_web"}
SPEC = "adm1n:admin;pk_web:public@100/min;analyst:read;server:decide;collector:events"


@pytest.fixture
def api(make_client: MakeClient) -> TestClient:
    keys = parse_api_keys(SPEC, SHOP)
    client = make_client(Settings(api_keys=keys, contact_token_secret=SECRET))
    for kind, key, doc in _config():
        response = client.put(f"/v1/{kind}/{key}", json=doc, headers=ADMIN)
        assert response.status_code in (200, 201), response.text
    return client


def _config() -> list[tuple[str, str, dict[str, Any]]]:
    banner = {"channels": ["web"], "policy": {"type": "rule", "message": "m"}}
    mail = {"key": "m", "content": {"email": {"subject": "s"}}}
    greeting = "Hi {{ contact.first_name | default: 'there' }}, {{ behaviour.counts.page_view }}"
    return [
        ("segments", "vip", {"condition": {"contact.city": "Tehran",
                                           "behaviour.revenue.IRR": {"$gte": 5e7}}}),
        ("placements", "hero", WEB_RULE),
        ("placements", "greet", {**banner, "messages": [{"key": "m", "content": {"web": {
            "headline": {"en": greeting, "fa": "سلام {{ contact.first_name }}"}}}}]}),
        ("placements", "vip", {**banner, "eligibility": {"contact.segments": {"$in": ["vip"]}},
                               "messages": [{"key": "m", "content": {"web": {"t": "VIP"}}}]}),
        ("placements", "buyers", {**banner, "eligibility": {"behaviour.revenue.IRR": {"$gt": 0}},
                                  "messages": [{"key": "m", "content": {"web": {"t": "B"}}}]}),
        ("placements", "mail", {**banner, "channels": ["email"], "messages": [mail]}),
        ("experiments", "exp", {"placement": "hero", "variations": [
            {"key": "a", "message": "hello"}, {"key": "b", "message": "hello"}]}),
    ]  # fmt: skip


# Every route but decide, events and the operator pages: a browser key is refused on each, and
# a body key is no key at all there.
FORBIDDEN = [
    ("POST", "/v1/decide/batch", {"placement": "hero", "contacts": [{"contact_id": "x"}]}),
    ("GET", "/v1/contacts/x", None),
    ("PUT", "/v1/contacts/x", {"attributes": {"first_name": "Eve"}}),
    ("PATCH", "/v1/contacts/x", {"attributes": {"first_name": "Eve"}}),
    ("DELETE", "/v1/contacts/x", None),
    ("POST", "/v1/contacts/x/merge", {"from": "anon-1"}),
    ("GET", "/v1/placements", None),
    ("GET", "/v1/placements/hero", None),
    ("PUT", "/v1/placements/hero", WEB_RULE),
    ("DELETE", "/v1/placements/hero", None),
    ("GET", "/v1/segments/vip", None),
    ("GET", "/v1/workspace", None),
    ("PUT", "/v1/workspace", {}),
    ("GET", "/v1/experiments/exp", None),
    ("POST", "/v1/experiments/exp/stop", {}),
    ("POST", "/v1/experiments/exp/rollout", {"variation": "a"}),
    ("GET", "/v1/experiments/exp/results", None),
    ("GET", "/v1/experiments/exp/results.csv", None),
    ("POST", "/v1/experiments/exp/check", {}),
    ("GET", "/v1/experiments/exp/log", None),
    ("GET", "/v1/experiments/exp/exposures.ndjson", None),
    ("GET", "/v1/placements/hero/decisions.ndjson", None),
    ("GET", "/v1/export/events", None),
    ("GET", "/v1/placements/hero/stats", None),
    ("GET", "/v1/placements/hero/stats.csv", None),
    ("GET", "/v1/placements/hero/attribution", None),
    ("POST", "/v1/placements/hero/evaluate", {"policy": {"rule": "hello"}}),
    ("POST", "/v1/placements/hero/preview", {"contact_id": "x"}),
    ("GET", "/v1/placements/hero/state", None),
    ("PUT", "/v1/placements/hero/state", {}),
    ("GET", "/reports/", None),
    ("GET", "/reports/placements/hero", None),
    ("GET", "/reports/experiments/exp", None),
    ("GET", "/v1/audit", None),
]


def test_a_browser_key_reaches_nothing_but_decide_and_events(api: TestClient) -> None:
    assert api.put("/v1/contacts/x", json={"attributes": {"first_name": "Maryam"}},
                   headers=ADMIN).status_code == 200  # fmt: skip
    for method, path, body in FORBIDDEN:
        kwargs: dict[str, Any] = {"json": body} if body is not None else {}
        from_page = api.request(method, path, headers={**BROWSER, "Origin": SHOP}, **kwargs)
        assert from_page.status_code == 403, (method, path, from_page.text)
        assert "access-control-allow-origin" not in from_page.headers, (method, path)
        if body is not None:
            in_body = api.request(method, path, json={**body, "api_key": "pk_web"})
            assert in_body.status_code == 401, (method, path, in_body.text)
    # Nothing was changed or erased on the way.
    profile = api.get("/v1/contacts/x", headers=ADMIN).json()
    assert profile["attributes"]["first_name"] == "Maryam"
    assert api.get("/v1/experiments/exp", headers=ADMIN).json()["status"] != "stopped"
    # An outbound placement, whatever channel is asked for.
    for extra in ({}, {"channels": ["web"]}):
        mail = {"contact_id": "x", "placement": "mail", "api_key": "pk_web", **extra}
        assert api.post("/v1/decide", json=mail).status_code == 403
    # Operator pages take no key at all and name no contact.
    for path in ("/metrics", "/docs", "/openapi.json", "/healthz"):
        assert api.get(path).status_code == 200, path
    assert "Maryam" not in api.get("/metrics").text


def test_server_keys_reach_only_their_scopes(api: TestClient) -> None:
    decision = {"contact_id": "x", "placement": "hero"}
    beacon = {"events": [event("e1", "click", "x")]}
    requests = [*FORBIDDEN, ("POST", "/v1/decide", decision), ("POST", "/v1/events", beacon)]

    def reads(method: str, path: str) -> bool:  # what `read` may do: look, never change
        return (method == "GET" and path != "/v1/audit") or path.endswith(("/evaluate", "/preview"))

    allowed = {
        "analyst": reads,
        "server": lambda method, path: path.startswith("/v1/decide"),
        "collector": lambda method, path: path == "/v1/events",
    }
    for key, may in allowed.items():
        for method, path, body in requests:
            kwargs: dict[str, Any] = {"json": body} if body is not None else {}
            status = api.request(method, path, headers={"X-API-Key": key}, **kwargs).status_code
            assert (status != 403) == may(method, path), (key, method, path, status)


def _answer(api: TestClient, contact_id: str, placement: str, **extra: Any) -> dict[str, Any]:
    body = {"contact_id": contact_id, "placement": placement, "api_key": "pk_web", **extra}
    response = api.post("/v1/decide", json=body, headers={"Origin": SHOP})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    # What differs between any two contacts, stored data or not.
    return {k: v for k, v in answer.items() if k not in ("decision_id", "contact_id")}


def test_without_its_token_a_contact_answers_like_a_stranger(api: TestClient) -> None:
    """Someone who knows only X's id learns nothing stored about X: not a profile field in a
    template, not the stored locale, not a segment, a behaviour count or revenue that would
    change eligibility, reasons or the message."""
    profile = {"first_name": "Maryam", "locale": "fa-IR", "city": "Tehran",
               "timezone": "Asia/Tehran", "consent": {"email": True}}  # fmt: skip
    assert api.put("/v1/contacts/x", json={"attributes": profile}, headers=ADMIN).status_code == 200
    history = {"events": [event("p1", "purchase", "x", value=6e7, currency="IRR"),
                          event("v1", "page_view", "x", properties={"page": "/a"})]}  # fmt: skip
    assert api.post("/v1/events", json=history, headers=ADMIN).json()["accepted"] == 2
    mine = contact_token(SECRET, "x")
    tokens: list[Any] = [
        None,
        "",
        "forged",
        mine.upper(),
        mine[:-1],
        contact_token(SECRET, "y"),
        contact_token(b"other-secret", "x"),
        "é" * 64,
        12,
        {"t": mine},
    ]
    for placement in ("greet", "vip", "buyers"):
        stranger = _answer(api, "never-seen", placement)
        for token in tokens:
            extra = {"contact_token": token} if token is not None else {}
            assert _answer(api, "x", placement, **extra) == stranger, (placement, token)
        # The request's own attributes are used, and the right token opens the profile.
        assert _answer(api, "x", placement, contact_token=mine) != stranger, placement
    asked = _answer(api, "x", "greet", attributes={"first_name": "Sam", "locale": "fa"})
    headline = asked["message"]["content"]["web"]["headline"]
    assert headline.startswith("سلام") and "Sam" in headline
    told = _answer(api, "x", "greet", contact_token=mine)["message"]
    assert "Maryam" in told["content"]["web"]["headline"] and told["locale"] == "fa"


def test_without_its_token_a_contact_s_learned_send_time_stays_hidden(
    api: TestClient, clock: Clock
) -> None:
    """When X engages with email is stored behaviour: an in-app placement that learns send
    times must not hand X's best hour to a page that only names X."""
    learned = {"channels": ["in_app"], "policy": {"type": "rule", "message": "m"},
               "send_time": {"type": "learned", "within_hours": 168},
               "messages": [{"key": "m", "content": {"in_app": {"t": "Hi"}}}]}  # fmt: skip
    assert api.put("/v1/placements/app", json=learned, headers=ADMIN).status_code == 201
    address = {"attributes": {"email": "x@example.org", "consent": {"email": True}}}
    assert api.put("/v1/contacts/x", json=address, headers=ADMIN).status_code == 200
    start = datetime(2026, 11, 4, 20, 0, tzinfo=UTC).timestamp()  # a Wednesday, 20:00 UTC
    for week in range(2):  # two emails at that hour, both clicked
        clock.now = start + week * 7 * 86_400
        sent = api.post("/v1/decide", json={"contact_id": "x", "placement": "mail"},
                        headers=ADMIN).json()  # fmt: skip
        clicked = [event(f"{kind}{week}", kind, "x", sent["decision_id"])
                   for kind in ("delivered", "click")]  # fmt: skip
        assert api.post("/v1/events", json={"events": clicked}, headers=ADMIN).json()["accepted"]
    clock.now = datetime(2026, 11, 30, 9, 0, tzinfo=UTC).timestamp()  # a Monday
    told = _answer(api, "x", "app", contact_token=contact_token(SECRET, "x"))
    assert told["send_at"]["utc"] == "2026-12-02T20:00:00Z"  # what X's own page may use
    assert _answer(api, "x", "app") == _answer(api, "never-seen", "app")


def test_a_browser_key_is_bound_to_its_origins_and_its_one_limit(api: TestClient) -> None:
    decision = {"contact_id": "x", "placement": "hero", "api_key": "pk_web"}
    beacon = {"events": [event("e1", "click", "x")], "api_key": "pk_web"}
    for path, body in (("/v1/decide", decision), ("/v1/events", beacon)):
        for origin in (
            "null",
            "https://evil.example",
            SHOP + ".evil.example",
            "http://shop.example",
        ):
            refused = api.post(path, json=body, headers={"Origin": origin})
            assert refused.status_code == 403, (path, origin)
            assert "access-control-allow-origin" not in refused.headers
        asked = {"Origin": "null", "Access-Control-Request-Method": "POST"}
        assert api.options(path, headers=asked).status_code == 403
        # No Origin at all (a server, curl): nothing a browser could be tricked into.
        assert api.post(path, json=body).status_code == 200
    # One bucket per key, whether the key comes in a header or in the body.
    statuses = [
        api.post("/v1/decide", json=decision if n % 2 else {**decision, "api_key": None},
                 headers={} if n % 2 else BROWSER).status_code
        for n in range(101)
    ]  # fmt: skip
    assert statuses.count(429) >= 1 and set(statuses) == {200, 429}


def test_a_browser_key_cannot_stop_messages_to_anyone(api: TestClient) -> None:
    """Whoever reads the page has the key: events that suppress a contact's channels are
    refused from it, each on its own, while the page's own events go through. A server key
    with the events scope may send them."""
    kinds = ["unsubscribed", "bounced", "complained", "stop"]
    batch = [event(f"s-{kind}", kind, "x") for kind in kinds]
    batch.append(event("pv-1", "page_view", "x", properties={"page": "/"}))
    for sent in ({"json": {"events": batch}, "headers": {**BROWSER, "Origin": SHOP}},
                 {"json": {"events": batch, "api_key": "pk_web"}}):  # fmt: skip
        answer = api.post("/v1/events", **sent)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["accepted"] + body["duplicate"] == 1
        assert [(r["index"], r["reason"], r["field"]) for r in body["rejected"]] == [
            (i, "forbidden", "type") for i in range(len(kinds))
        ]
    contact = api.get("/v1/contacts/x", headers=ADMIN).json()
    assert not contact["behaviour"].get("suppressed")
    collector = {"X-API-Key": "collector"}
    assert api.post("/v1/events", json={"events": batch}, headers=collector).json()["accepted"] == 4
    contact = api.get("/v1/contacts/x", headers=ADMIN).json()
    assert set(contact["behaviour"]["suppressed"]) == {"email", "sms", "push", "web_push"}
