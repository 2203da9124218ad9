"""Outbound safety through HTTP against a real store, off the happy path: consent, suppression,
caps, quiet hours and no-repeat must hold on every route a decision can take — a batch as a
single decision, a fallback as a primary, a merged contact as the two it was."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.conftest import Store
from tests.helpers import decide

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
