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


GREETINGS = {"en": "Hi", "fa": "سلام", "he": "שלום", "ru": "Привет", "zh-Hant": "你好",
             "sr-Latn": "Zdravo"}  # fmt: skip
HELLO = {"web": {"t": {tag: f"{word} {{{{ contact.first_name }}}}"
                       for tag, word in GREETINGS.items()}}}  # fmt: skip


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


def test_urls_from_contact_data_in_html(api, store: Store) -> None:
    link = (
        "<p>سلام {{ contact.first_name }}</p>"
        '<a href="{{ contact.custom.site }}">{{ contact.custom.site }}</a>'
    )
    put_placement(api, "link", {"web": {"html": link}})
    for site in ("javascript:alert(1)", "JAVASCRIPT:alert(1)", " \t\x01javascript:alert(1)",
                 "data:text/html,<script>alert(1)</script>", "java\nscript:alert(1)"):  # fmt: skip
        html = web(api, "link", attributes={"locale": "fa", "custom": {"site": site}})
        assert '<a href="#">' in html["content"]["web"]["html"], site
    site = "https://x.example/?a=1&b=2"
    html = web(api, "link", attributes={"locale": "fa", "first_name": 'A"<b>',
                                        "custom": {"site": site}})  # fmt: skip
    # Escaped, and no isolate inside the attribute or in front of a URL a mail app linkifies.
    assert html["content"]["web"]["html"] == (
        f"<p>سلام {FSI}A&#34;&lt;b&gt;{PDI}</p>"
        '<a href="https://x.example/?a=1&amp;b=2">https://x.example/?a=1&amp;b=2</a>'
    )


def test_contact_data_cannot_reach_an_attribute_that_runs_code(api, store: Store) -> None:
    for html in ('<img src="/p.png" onerror="{{ contact.first_name }}">',
                 '<iframe srcdoc="{{ contact.first_name }}"></iframe>'):  # fmt: skip
        doc = {"channels": ["web"], "policy": {"type": "rule", "message": "m"},
               "messages": [{"key": "m", "content": {"web": {"html": html}}}]}  # fmt: skip
        response = api.put("/v1/placements/x", json=doc)
        assert response.status_code == 422, html
        assert "event handler or srcdoc" in response.text
    assert api.get("/v1/placements/x").status_code == 404


def test_plain_text_channels_are_never_escaped(api, store: Store) -> None:
    content = {"email": {"subject": "{{ contact.first_name }} & co <news>",
                         "html": "<p>{{ contact.first_name }} &amp; co</p>"},
               "sms": {"text": "R&D: {{ contact.first_name }} \"quoted\" <b>"},
               "push": {"title": "{{ contact.first_name }} & co", "body": "a < b"}}  # fmt: skip
    put_placement(api, "plain", content)
    attributes = {
        "first_name": "Tom & Jerry's <3",
        "consent": {"email": True, "sms": True},
        "email": "t@example.org",
        "phone": "+989121234567",
        "push_tokens": ["tok"],
    }
    api.put("/v1/contacts/c", json={"attributes": attributes})
    content = decide(api, "c", "plain", channels=["email", "sms", "push"])["message"]["content"]
    assert content == {
        "email": {"subject": "Tom & Jerry's <3 & co <news>",
                  "html": "<p>Tom &amp; Jerry&#39;s &lt;3 &amp; co</p>"},
        "sms": {"text": 'R&D: Tom & Jerry\'s <3 "quoted" <b>'},
        "push": {"title": "Tom & Jerry's <3 & co", "body": "a < b"},
    }  # fmt: skip


def test_values_keep_their_own_direction(api, store: Store) -> None:
    content = {"sms": {"text": {
        "fa": "سلام {{ contact.first_name }}، {{ contact.custom.n }} پیام؛ {{ contact.email }}",
        "he": "שלום {{ contact.first_name }}: {{ contact.custom.n }}",
        "en": "Hi {{ contact.first_name }} {{ contact.custom.n }} new",
    }}}  # fmt: skip
    put_placement(api, "bidi", content)

    def text(locale: str, name: str, n: object) -> str:
        attributes = {"locale": locale, "first_name": name, "email": "ann@example.org",
                      "custom": {"n": n}, "phone": "+989121234567"}  # fmt: skip
        body = decide(api, "c", "bidi", attributes=attributes)
        return str(body["message"]["content"]["sms"]["text"])

    assert text("fa-IR", "Ann", 3) == (
        f"سلام {FSI}Ann{PDI}، {FSI}3{PDI} پیام؛ {FSI}ann@example.org{PDI}"
    )
    assert text("he", "مریم", "۱۲") == f"שלום {FSI}مریم{PDI}: {FSI}۱۲{PDI}"
    # Left-to-right text isolates only a right-to-left value: "Hi 3 مریم new" otherwise.
    assert text("en", "مریم", 3) == f"Hi {FSI}مریم{PDI} 3 new"
    assert text("en", "Ann", 3) == "Hi Ann 3 new"


def test_in_a_batch_only_the_contact_whose_data_breaks_the_template_fails(
    api, store: Store
) -> None:
    put_placement(api, "loop", {"web": {"t": "{% for i in (1..contact.custom.n) %}x{% endfor %}"}})
    contacts = [{"contact_id": "ok", "attributes": {"custom": {"n": 2}}},
                {"contact_id": "huge", "attributes": {"custom": {"n": 10**6}}}]  # fmt: skip
    response = api.post("/v1/decide/batch", json={"placement": "loop", "contacts": contacts})
    assert response.status_code == 200, response.text
    ok, huge = response.json()["decisions"]
    assert ok["message"]["content"]["web"]["t"] == "xx"
    assert (huge["contact_id"], huge["status"], huge["error"]["code"]) == (
        "huge",
        422,
        "render_failed",
    )
    assert huge["error"]["details"][0]["field"] == "messages[0].content.web.t"
