# ruff: noqa: RUF001  (Persian, Hebrew and Russian text on purpose)
"""Content in the contact's language through HTTP, with adversarial data: locale tags as
devices send them, right-to-left text around Latin values, unsafe URLs from contact data,
plain-text channels, local dates and plurals, and a template that fails for one contact."""

from __future__ import annotations

from typing import Any

from tests.conftest import Store
from tests.helpers import decide

FSI, PDI = "\u2068", "\u2069"


def put_placement(api: Any, key: str, content: dict[str, Any], **extra: Any) -> None:
    channels = sorted(content)
    doc = {
        "channels": channels,
        "policy": {"type": "rule", "message": "m"},
        "messages": [{"key": "m", "content": content}],
        **extra,
    }
    response = api.put(f"/v1/placements/{key}", json=doc)
    assert response.status_code == 201, response.text


def web(api: Any, placement: str, contact: str = "c", **extra: Any) -> dict[str, Any]:
    message: dict[str, Any] = decide(api, contact, placement, **extra)["message"]
    return message


HELLO = {"web": {"t": {"en": "Hi {{ contact.first_name }}", "fa": "سلام {{ contact.first_name }}",
                       "he": "שלום {{ contact.first_name }}", "ru": "Привет {{ contact.first_name }}",
                       "zh-Hant": "你好 {{ contact.first_name }}",
                       "sr-Latn": "Zdravo {{ contact.first_name }}"}}}  # fmt: skip


def test_locale_tags_as_devices_send_them(api, store: Store) -> None:
    put_placement(api, "hello", HELLO)
    for tag, expected, direction in (
        ("fa-IR", f"سلام {FSI}Ann{PDI}", "rtl"), ("fa_IR", f"سلام {FSI}Ann{PDI}", "rtl"),
        ("FA-ir", f"سلام {FSI}Ann{PDI}", "rtl"), ("he-IL", f"שלום {FSI}Ann{PDI}", "rtl"),
        ("iw", f"שלום {FSI}Ann{PDI}", "rtl"), ("iw-IL", f"שלום {FSI}Ann{PDI}", "rtl"),
        ("ru-RU", "Привет Ann", "ltr"), ("zh-Hant-TW", "你好 Ann", "ltr"),
        ("sr-Latn-RS", "Zdravo Ann", "ltr"), ("de-DE", "Hi Ann", "ltr"),
    ):  # fmt: skip
        message = web(api, "hello", attributes={"first_name": "Ann", "locale": tag})
        assert (message["content"]["web"]["t"], message["direction"]) == (expected, direction), tag
    bad = api.post("/v1/decide", json={"contact_id": "c", "placement": "hello",
                                       "attributes": {"locale": ""}})  # fmt: skip
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["field"] == "attributes.locale"


def test_request_locale_wins_over_the_stored_one(api, store: Store) -> None:
    put_placement(api, "hello", HELLO)
    api.put("/v1/contacts/c", json={"attributes": {"first_name": "Ann", "locale": "ru"}})
    assert web(api, "hello")["content"]["web"]["t"] == "Привет Ann"
    assert web(api, "hello", attributes={"locale": "he"})["content"]["web"]["t"] == (
        f"שלום {FSI}Ann{PDI}"
    )
    assert web(api, "hello")["content"]["web"]["t"] == "Привет Ann"  # not stored


def test_a_message_whose_default_is_not_english(api, store: Store) -> None:
    content = {"web": {"t": {"fa": "سلام {{ contact.first_name }}", "ru": "Привет"}}}
    put_placement(api, "p", content, default_locale="fa")
    message = web(api, "p", attributes={"locale": "en-US", "first_name": "Ann"})
    assert message["content"]["web"]["t"] == f"سلام {FSI}Ann{PDI}"
    assert (message["locale"], message["direction"]) == ("fa", "rtl")
