"""Shared test helpers: load configuration through HTTP, read counters from the real store."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from decide.config.files import demo_config_path, read_config_file
from decide.store import keys
from decide.store.connection import sync_client


def load_demo(api: TestClient) -> None:
    for kind, key, doc in read_config_file(demo_config_path()):
        response = api.put(f"/v1/{kind}/{key}", json=doc)
        assert response.status_code in (200, 201), response.text


def arm_stats(url: str, placement: str) -> dict[str, float]:
    raw = sync_client(url).hgetall(keys.arm_stats(placement))
    return {k.decode(): float(v) for k, v in raw.items()}


def decide(
    api: TestClient, contact_id: str, placement: str = "homepage_hero", **extra: Any
) -> dict[str, Any]:
    response = api.post(
        "/v1/decide", json={"contact_id": contact_id, "placement": placement, **extra}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def event(
    event_id: str, kind: str, contact_id: str, decision_id: str | None = None, **extra: Any
) -> dict[str, Any]:
    out = {"event_id": event_id, "type": kind, "contact_id": contact_id, **extra}
    if decision_id is not None:
        out["decision_id"] = decision_id
    return out


WEB_RULE = {
    "channels": ["web"],
    "policy": {"type": "rule", "message": "hello", "reward": {"event": "click", "window_hours": 1}},
    "messages": [
        {
            "key": "hello",
            "content": {"web": {"headline": "Hi {{ contact.first_name | default: 'there' }}"}},
        }
    ],
}

EMAIL_RULE = {
    "channels": ["email", "sms"],
    "policy": {"type": "rule", "message": "note"},
    "messages": [
        {
            "key": "note",
            "content": {
                "email": {"subject": "Hello {{ contact.first_name }}"},
                "sms": {"text": "Hello"},
            },
        }
    ],
}
