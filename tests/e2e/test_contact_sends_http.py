"""Per-send state in the contact's one hash, through HTTP: a send counted once whatever events
arrive for it, its first human engagement counted once at the slot of the send, machine opens
told apart, and the population priors fed exactly once from the event script's replies."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from decide.store import keys
from tests.conftest import Clock, Store
from tests.helpers import decide, event

NOON = datetime(2026, 11, 25, 12, 0, tzinfo=UTC).timestamp()
EMAIL = {
    "channels": ["email"],
    "policy": {"type": "rule", "message": "digest"},
    "messages": [{"key": "digest", "content": {"email": {"subject": "News"}}}],
    "send_time": {"type": "learned", "within_hours": 24},
}


def _events(api: Any, *items: dict[str, Any]) -> None:
    response = api.post("/v1/events", json={"events": list(items)})
    assert response.status_code == 200 and not response.json()["rejected"], response.text


def _at(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat()


def test_a_send_and_its_engagement_count_once(api: Any, store: Store, clock: Clock) -> None:
    clock.now = NOON
    assert api.put("/v1/placements/n", json=EMAIL).status_code == 201
    first = decide(api, "ann", "n", attributes={"email": "a@example.org", "timezone": "UTC"})
    sent = datetime.fromisoformat(first["send_at"]["utc"]).timestamp()
    clock.now = sent + 7200
    token = first["decision_id"]
    _events(
        api,
        event("d1", "delivered", "ann", token, timestamp=_at(sent)),
        event("d1-again", "delivered", "ann", token, timestamp=_at(sent + 1)),
        event("o1", "open", "ann", token, timestamp=_at(sent + 3)),  # a mail client's prefetch
        event("o2", "open", "ann", token, timestamp=_at(sent + 3600)),  # a person
        event("k1", "click", "ann", token, timestamp=_at(sent + 3700)),  # same send: no more
    )
    # A second send whose `delivered` was lost: its click still counts the send, once.
    second = decide(api, "ann", "n", attributes={"email": "a@example.org", "timezone": "UTC"})
    _events(api, event("k2", "click", "ann", second["decision_id"]),
            event("k3", "click", "ann", second["decision_id"]))  # fmt: skip

    contact = api.get("/v1/contacts/ann").json()
    behaviour = contact["behaviour"]
    assert behaviour["channels"]["email"] == {"delivered": 2, "engaged": 2}
    assert behaviour["counts"]["machine_open"] == 1
    assert behaviour["counts"]["delivered"] == 2 and behaviour["counts"]["click"] == 3
    assert contact["send_time"]["sends"] == 2 and contact["send_time"]["engaged"] == 2
    slots = {s["slot"]: (s["sends"], s["engaged"]) for s in contact["send_time"]["slots"]}
    assert sum(s for s, _ in slots.values()) == 2
    # The population priors got each send and engagement once, from the scripts' replies.
    channels = store.client().hgetall(keys.POPULATION_CHANNELS)
    assert channels == {b"email:d": b"2", b"email:e": b"2"}
    assert len(contact["sends"]) == 0  # no caps: nothing reserved
