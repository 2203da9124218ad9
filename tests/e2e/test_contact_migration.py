"""A store written by the previous version (six keys per contact) keeps deciding the same
after `decide migrate` folds it into the one-hash layout: behaviour, send-time histogram,
caps and reservations, engagement counted once per send, and attribution touches."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

import pytest

from decide.cli import main
from decide.store import keys
from decide.tokens import Decision
from personalization.behaviour import behaviour_view, parse_behaviour
from tests.conftest import Clock, Store
from tests.helpers import decide, event

NOON = datetime(2026, 11, 25, 12, 0, tzinfo=UTC).timestamp()
DAY = 86_400
ADDRESS = {"email": "m@example.org", "phone": "+989121234567"}  # sms is suppressed
SLOT = 2 * 24 + 15  # Wednesday 15:00 local
PLACEMENT = {
    "channels": ["email", "sms"],
    "policy": {"type": "rule", "message": "digest"},
    "messages": [
        {"key": "digest", "content": {"email": {"subject": "News"}, "sms": {"text": "News"}}},
    ],
    "frequency_caps": [{"channel": "email", "max": 3, "days": 7}],
}
OLD_BEHAVIOUR = {
    "n:delivered": "2", "last:delivered": str(int(NOON - DAY + 5)), "n:open": "1",
    "last:open": str(int(NOON - 2 * DAY + 600)), "last_seen": str(int(NOON - DAY + 5)),
    "first_seen": str(int(NOON - 30 * DAY)), "ch:email:d": "2", "ch:email:e": "1",
    "n:page_view": "4", "last:page_view": str(int(NOON - 3 * DAY)),
    "views": "page:/pricing\x1fpage:/", "cart": f"2|59.0|{int(NOON - 3 * DAY)}",
    "rev:EUR": "12.5", "sup:sms": str(int(NOON - 5 * DAY)),
}  # fmt: skip


def _events(api: Any, *items: dict[str, Any]) -> None:
    response = api.post("/v1/events", json={"events": list(items)})
    assert response.status_code == 200 and not response.json()["rejected"], response.text


def _excluded(api: Any) -> dict[str, str]:
    answer = decide(api, "old-1", "digest", attributes=ADDRESS)
    assert answer["message"] is None, answer
    excluded: dict[str, str] = answer["excluded_channels"]
    return excluded


def _token(api: Any, nonce: str, send_at: float) -> str:
    decision = Decision(
        "digest", "old-1", "digest", "email", int(send_at), 1.0, 1, int(send_at - DAY),
        int(send_at + 3 * DAY), nonce, "click", 2 * DAY, False, False, slot=SLOT,
    )  # fmt: skip
    signed: str = api.app.state.runtime.signing().sign(decision)
    return signed


def _write_old_layout(store: Store, nonces: list[str]) -> None:
    """What the previous version's scripts left: two sends delivered, one reserved."""
    c, old = store.client(), "old-1"
    sent, delivered, reserved = nonces
    c.hset(keys.legacy_part(old, "beh"), mapping=OLD_BEHAVIOUR)
    slots = bytearray(168)
    slots[SLOT] = 2 << 4 | 1
    c.set(keys.legacy_part(old, "slots"), bytes(slots))
    c.zadd(keys.legacy_part(old, "sends"), {
        f"{sent}|email": NOON - 2 * DAY, f"{delivered}|email": NOON - DAY,
        f"{reserved}|email": NOON + 3600,
    })  # fmt: skip
    c.hset(keys.legacy_part(old, "pending"), reserved, f"{int(NOON + 3600 + 6 * 3600)}|email")
    c.hset(keys.legacy_part(old, "sd"), delivered, f"{int(NOON + 2 * DAY)}|{int(NOON - DAY + 5)}|0")
    c.lpush(keys.legacy_part(old, "touches"), f"digest|digest|email|{int(NOON - DAY + 5)}")


def test_the_old_layout_decides_the_same_after_migrating(
    api: Any, store: Store, clock: Clock, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    clock.now = NOON
    assert api.put("/v1/placements/digest", json=PLACEMENT).status_code == 201
    nonces = [secrets.token_urlsafe(9) for _ in range(3)]
    _write_old_layout(store, nonces)
    monkeypatch.setenv("REDIS_URL", store.url)
    assert main(["migrate"]) == 0
    assert "1 contacts moved" in capsys.readouterr().out
    left = [k for k in store.client().scan_iter(match="{c:old-1}:*") if not k.endswith(b":b")]
    assert left == []

    contact = api.get("/v1/contacts/old-1").json()
    assert contact["behaviour"] == behaviour_view(parse_behaviour(OLD_BEHAVIOUR), now=clock.now)
    assert contact["send_time"]["slots"][0] | {"label": None} == {
        "slot": SLOT, "label": None, "sends": 2, "engaged": 1}  # fmt: skip
    assert sorted(s["at"] for s in contact["sends"]) == [NOON - 2 * DAY, NOON - DAY, NOON + 3600]

    # Caps: three email sends in 7 days (one a pending reservation), so email is full.
    assert _excluded(api)["email"] == "frequency_cap"

    # The delivered send's first click counts once; its send is not counted again.
    click = _token(api, nonces[1], NOON - DAY)
    _events(api, event("k1", "click", "old-1", click), event("k2", "click", "old-1", click))
    channels = api.get("/v1/contacts/old-1").json()["behaviour"]["channels"]
    assert channels["email"] == {"delivered": 2, "engaged": 2}

    # The reservation is confirmed by its delivery: counted now, and still holding the cap.
    _events(api, event("d3", "delivered", "old-1", _token(api, nonces[2], NOON + 3600)))
    clock.advance(8 * 3600)
    assert _excluded(api)["email"] == "frequency_cap"
    slots = api.get("/v1/contacts/old-1").json()["send_time"]["slots"]
    assert [(s["slot"], s["sends"], s["engaged"]) for s in slots] == [(SLOT, 3, 2)]

    # The old touch and the new one are both credited by a conversion.
    _events(api, event("buy", "purchase", "old-1", value=10.0, currency="EUR"))
    models = api.get("/v1/placements/digest/attribution").json()["models"]
    assert [r["conversions"] for r in models["linear"]] == [1.0]  # two touches, one message

    # Idempotent: a second run finds nothing to fold.
    assert main(["migrate"]) == 0 and "already migrated" in capsys.readouterr().out
    assert main(["migrate", "--force"]) == 0 and "0 contacts" in capsys.readouterr().out
