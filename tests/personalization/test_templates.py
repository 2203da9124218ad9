"""Tests for compiling, validating and rendering per-channel, per-locale message content."""

# Expected strings are real Persian, Hebrew and Russian text, not look-alike Latin.
# ruff: noqa: RUF001

from __future__ import annotations

import dataclasses
import html
from collections.abc import Mapping
from typing import Any

import liquid
import pytest
from liquid.exceptions import LiquidError

from personalization.templates import (
    CompiledContent,
    ContentError,
    RenderError,
    behaviour_fields_used,
    channel_locale,
    channels_of,
    compile_content,
    contact_fields_used,
    context_fields_used,
    render_channel,
)

PATH = "messages[1].content"
PERSIAN = "سلام {{ contact.first_name | default: 'دوست عزیز' }}"
FSI, PDI = "\u2068", "\u2069"


def isolated(text: str) -> str:
    return f"{FSI}{text}{PDI}"


def compile_ok(content: Mapping[str, Any], context_fields: tuple[str, ...] = ()) -> CompiledContent:
    return compile_content(content, path=PATH, context_fields=context_fields)


def problems_of(
    content: Mapping[str, Any], context_fields: tuple[str, ...] = ()
) -> list[tuple[str, str]]:
    with pytest.raises(ContentError) as caught:
        compile_content(content, path=PATH, context_fields=context_fields)
    return caught.value.problems


def render(
    content: Mapping[str, Any],
    channel: str,
    *,
    locale: str | None = None,
    contact: Mapping[str, Any] | None = None,
    context: Mapping[str, Any] | None = None,
    behaviour: Mapping[str, Any] | None = None,
    context_fields: tuple[str, ...] = (),
) -> dict[str, str]:
    data = {"contact": contact or {}, "behaviour": behaviour or {}, "context": context or {}}
    return render_channel(compile_ok(content, context_fields), channel, locale=locale, data=data)


def rendered_href(value: str, template: str = '<a href="{{ contact.site }}">go</a>') -> str:
    return render({"web": {"html": template}}, "web", contact={"site": value})["html"]


# --- compile: structure ------------------------------------------------------------


def test_compiles_all_channels_and_reports_them() -> None:
    content = {channel: {"text": "hi"} for channel in ("email", "sms", "push", "web_push")}
    content |= {"in_app": {"title": "t"}, "web": {"html": "<p>x</p>"}}
    compiled = compile_ok(content)
    assert channels_of(compiled) == frozenset(content)
    assert context_fields_used(compiled) == set()


def test_every_problem_is_reported_once_with_exact_paths() -> None:
    content = {
        "fax": {"text": "hi"},
        "email": {
            "subject": {"en": "Hi", "fa": "{% if %}", "": "x", "he": 7},
            "preheader": {},
            "text": 42,
            "html": '<a href="javascript:alert(1)">{{ shop.name }}</a>',
        },
        "sms": {"text": "{{ context.cart_url }}"},
        "push": {},
    }
    paths = [path for path, _ in problems_of(content)]
    assert paths == [
        f"{PATH}.fax",
        f"{PATH}.email.subject.fa",
        f"{PATH}.email.subject.",
        f"{PATH}.email.subject.he",
        f"{PATH}.email.preheader",
        f"{PATH}.email.text",
        f"{PATH}.email.html",
        f"{PATH}.email.html",
        f"{PATH}.sms.text",
        f"{PATH}.push",
    ]


def test_content_error_is_a_value_error_listing_problems() -> None:
    with pytest.raises(ValueError, match=r"messages\[1\]\.content\.fax: unknown channel 'fax'"):
        compile_ok({"fax": {"text": "hi"}})


@pytest.mark.parametrize("content", [{}, [], "hello"])
def test_content_must_be_a_non_empty_map(content: Any) -> None:
    assert problems_of(content) == [(PATH, "expected a non-empty map of channel to fields")]


@pytest.mark.parametrize("value", [42, None, ["a"], 1.5])
def test_field_must_be_string_or_locale_map(value: object) -> None:
    [(path, message)] = problems_of({"email": {"subject": value}})
    assert path == f"{PATH}.email.subject"
    assert message.startswith("expected a template string or a map of locale to template")


def test_empty_locale_map_is_rejected() -> None:
    [(path, message)] = problems_of({"push": {"title": {}}})
    assert (path, message) == (
        f"{PATH}.push.title",
        "expected a template string or a map of locale to template, got an empty map",
    )


@pytest.mark.parametrize("key", ["english", "persian", "e", "fa IR", "*", "فارسی"])
def test_bad_locale_key_is_rejected(key: str) -> None:
    [(path, message)] = problems_of({"sms": {"text": {"en": "hi", key: "x"}}})
    assert path == f"{PATH}.sms.text.{key}"
    assert "is not a locale tag" in message


def test_locale_keys_that_differ_only_in_case_are_duplicates() -> None:
    [(path, message)] = problems_of({"sms": {"text": {"fa": "a", "FA": "b"}}})
    assert (path, message) == (f"{PATH}.sms.text.FA", "'FA' repeats locale 'fa'")


def test_non_string_translation_is_rejected() -> None:
    [(path, message)] = problems_of({"sms": {"text": {"en": "hi", "ru": ["Привет"]}}})
    assert (path, message) == (f"{PATH}.sms.text.ru", "expected a template, got list")


@pytest.mark.parametrize(
    "source",
    ["{% if %}x{% endif %}", "{{ contact.name ", "{% for x in %}{% endfor %}", "{% if a %}x"],
)
def test_unparseable_template_is_rejected_with_liquids_message(source: str) -> None:
    with pytest.raises(LiquidError) as liquid_error:
        liquid.parse(source)
    [(path, message)] = problems_of({"email": {"subject": {"en": "ok", "fa": source}}})
    assert path == f"{PATH}.email.subject.fa"
    assert message.startswith("template does not parse: ")
    assert str(liquid_error.value.message) in message


@pytest.mark.parametrize("tag", ["{% include 'footer' %}", "{% render 'footer' %}"])
def test_partials_are_rejected_at_compile_time(tag: str) -> None:
    [(_, message)] = problems_of({"email": {"text": tag}})
    assert "template does not parse" in message


def test_unknown_filter_is_rejected_at_compile_time() -> None:
    [(_, message)] = problems_of({"sms": {"text": "{{ contact.name | shout }}"}})
    assert message == "unknown filter 'shout'"


# --- compile: variable roots and context fields ------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "{{ shop.name }}",
        "{% if user.vip %}VIP{% endif %}",
        "{% for p in products %}{{ p }}{% endfor %}",
        "{{ contact.name | default: profile.nickname }}",
        "{{ behavior.last_seen }}",
    ],
)
def test_only_contact_behaviour_and_context_roots_are_allowed(source: str) -> None:
    [(_, message)] = problems_of({"sms": {"text": source}})
    assert message.startswith("unknown variable ")
    assert message.endswith("use contact.*, behaviour.* or context.*")


def test_locals_and_loop_variables_are_not_roots() -> None:
    source = (
        "{% assign greeting = 'Hi' %}{% capture who %}{{ contact.name }}{% endcapture %}"
        "{% for item in behaviour.viewed %}{{ item.title }}{{ forloop.index }}{% endfor %}"
        "{{ greeting }} {{ who }}"
    )
    compile_ok({"sms": {"text": source}})


def test_undeclared_context_field_is_rejected() -> None:
    [(path, message)] = problems_of(
        {"email": {"html": '<a href="{{ context.cart_url }}">cart</a>'}}, ("page",)
    )
    assert path == f"{PATH}.email.html"
    assert message == "context field 'cart_url' is not declared in the placement's context_fields"


@pytest.mark.parametrize(
    "source",
    [
        "{% if context.cart_url %}x{% endif %}",
        "{% for i in behaviour.items limit: context.cart_url %}{{ i }}{% endfor %}",
        "{{ contact.name | default: context.cart_url }}",
        "{{ contact[context.cart_url] }}",
        "{% case contact.tier %}{% when context.cart_url %}x{% endcase %}",
    ],
)
def test_context_fields_are_found_in_tags_and_filter_arguments(source: str) -> None:
    [(_, message)] = problems_of({"sms": {"text": source}})
    assert "'cart_url' is not declared" in message
    compiled = compile_ok({"sms": {"text": source}}, ("cart_url",))
    assert context_fields_used(compiled) == {"cart_url"}


@pytest.mark.parametrize(
    "source", ["{{ context }}", "{{ context[0] }}", "{{ context[contact.k] }}"]
)
def test_context_must_be_read_by_field_name(source: str) -> None:
    [(_, message)] = problems_of({"sms": {"text": source}}, ("k",))
    assert "must name a context field" in message


def test_context_fields_used_collects_across_channels() -> None:
    content = {
        "sms": {"text": "{{ context.city }}"},
        "push": {"title": {"fa": "{{ context.day }}"}},
    }
    compiled = compile_ok(content, ("city", "day", "unused"))
    assert context_fields_used(compiled) == {"city", "day"}


# --- HTML escaping ----------------------------------------------------------------


@pytest.mark.parametrize("field", ["html", "body_html", "footer_html"])
def test_html_fields_are_autoescaped(field: str) -> None:
    out = render(
        {"email": {field: "<p>Hi {{ contact.first_name }}</p>"}},
        "email",
        contact={"first_name": "<script>alert(1)</script>"},
    )
    assert out[field] == "<p>Hi &lt;script&gt;alert(1)&lt;/script&gt;</p>"


@pytest.mark.parametrize("field", ["subject", "text", "title", "body", "preheader"])
def test_non_html_fields_are_never_escaped(field: str) -> None:
    out = render(
        {"email": {field: "{{ contact.first_name }} <3"}},
        "email",
        contact={"first_name": "Tom & Jerry's <b>"},
    )
    assert out[field] == "Tom & Jerry's <b> <3"


def test_safe_filter_cannot_bypass_html_escaping() -> None:
    [(_, message)] = problems_of({"email": {"html": "{{ contact.bio | safe }}"}})
    assert message == "unknown filter 'safe'"


# --- URL safety in HTML -----------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        '<a href="javascript:alert(1)">x</a>',
        "<a HREF='JavaScript:alert(1)'>x</a>",
        "<iframe src=javascript:alert(1)></iframe>",
        '<a href=" java\tscript:alert(1)">x</a>',
        '<a href="&#106;avascript:alert(1)">x</a>',
        '<a href="javascript&colon;alert(1)">x</a>',
        '<a href="data:text/html,<script>alert(1)</script>">x</a>',
        '<a href="vbscript:msgbox(1)">x</a>',
        '<form action="javascript:alert(1)"></form>',
        '<a href="java{{ "" }}script:alert(1)">{{ contact.name }}</a>',
    ],
)
def test_literal_unsafe_url_is_a_compile_error(source: str) -> None:
    [(path, message)] = problems_of({"email": {"html": source}})
    assert path == f"{PATH}.email.html"
    assert message.startswith("unsafe URL ")
    assert message.endswith("only http(s), mailto:, tel: and relative URLs are allowed")


@pytest.mark.parametrize(
    "value",
    [
        "javascript:alert(1)",
        " JaVaScRiPt:alert(1)",
        "\tjava\nscript:alert(1)",
        "\x01javascript:alert(1)",
        "javascript\t:alert(1)",
        "JAVASCRIPT:alert(1)",
        "vbscript:msgbox(1)",
        "data:text/html;base64,PHNjcmlwdD4=",
    ],
)
def test_url_that_becomes_unsafe_at_render_time_is_replaced(value: str) -> None:
    assert rendered_href(value) == '<a href="#">go</a>'
    assert rendered_href(value, "<a href='{{ contact.site }}'>go</a>") == "<a href='#'>go</a>"
    assert rendered_href(value, '<img src="{{ contact.site }}">') == '<img src="#">'


def test_unsafe_url_assembled_from_outputs_is_replaced() -> None:
    # Compile time sees only ":alert(1)", a relative URL; the rendered scheme is caught.
    template = "<a href=\"{{ 'javascript' }}:alert(1)\">{{ contact.name }}</a>"
    assert render({"web": {"html": template}}, "web") == {"html": '<a href="#"></a>'}


def test_literal_unsafe_url_inside_a_branch_is_a_compile_error() -> None:
    template = '<a href="{% if contact.vip %}javascript{% endif %}:alert(1)">go</a>'
    [(_, message)] = problems_of({"web": {"html": template}})
    assert message.startswith("unsafe URL 'javascript:alert(1)' in 'href'")


@pytest.mark.parametrize(
    "source",
    [
        "<img src={{ contact.site }}>",
        '<img src="x" {{ contact.attributes }}>',
        "<a title=x{{ contact.name }}>go</a>",
        "<{{ contact.tag }} src=x>",
        '<a href="/x"\n   data-id={{ contact.id }}>go</a>',
    ],
)
def test_output_in_a_tag_outside_quoted_values_is_rejected(source: str) -> None:
    # Escaping leaves spaces and "=" alone, so data here could add onerror= and the like.
    [(_, message)] = problems_of({"web": {"html": source}})
    assert message == "{{ }} inside an HTML tag must be within a quoted attribute value"


@pytest.mark.parametrize(
    "source",
    [
        '<img src="/x.png" onerror="{{ contact.name }}">',
        '<a href="#" ONCLICK=\'track("{{ contact.name }}")\'>go</a>',
        '<body onload = "{% echo contact.name %}">',
        '<iframe srcdoc="<p>{{ contact.name }}</p>"></iframe>',
    ],
)
def test_output_in_an_attribute_that_runs_code_is_rejected(source: str) -> None:
    # Escaping keeps data inside the quotes, but there it is still JavaScript (on*) or
    # HTML the browser parses again (srcdoc): a name like alert(1) would run.
    [(_, message)] = problems_of({"web": {"html": source}})
    assert message.startswith("{{ }} inside an event handler or srcdoc attribute")


def test_output_in_quoted_values_text_and_tag_conditionals_is_allowed() -> None:
    source = (
        "<td {% if contact.vip %}class=\"vip\"{% endif %} title='{{ contact.name }}'>"
        "{{ contact.name }} > 3 = {{ contact.n }}</td>"
    )
    out = render({"email": {"html": source}}, "email", contact={"vip": True, "name": 'A"B', "n": 4})
    assert out == {"html": "<td class=\"vip\" title='A&#34;B'>A&#34;B > 3 = 4</td>"}


def test_entity_obfuscated_scheme_is_replaced() -> None:
    template = "<a href=\"{{ contact.site }}{{ '&#58;' }}alert(1)\">go</a>"
    assert rendered_href("javascript", template) == '<a href="#">go</a>'
    template = "<a href=\"{{ '&#x6A;' }}{{ contact.site }}\">go</a>"
    assert rendered_href("avascript:alert(1)", template) == '<a href="#">go</a>'


def test_escaped_entities_from_data_stay_inert() -> None:
    # Data cannot smuggle character references: its "&" is escaped, so no scheme forms.
    out = rendered_href("&#106;avascript:alert(1)")
    assert out == '<a href="&amp;#106;avascript:alert(1)">go</a>'
    assert not html.unescape(out).startswith('<a href="javascript')


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://shop.example/cart?a=1&b=2", "https://shop.example/cart?a=1&amp;b=2"),
        ("HTTP://shop.example/", "HTTP://shop.example/"),
        ("/cart", "/cart"),
        ("cart.html", "cart.html"),
        ("#top", "#top"),
        ("?q=1:2", "?q=1:2"),
        ("//cdn.example/x.png", "//cdn.example/x.png"),
        ("mailto:support@shop.example", "mailto:support@shop.example"),
        ("tel:+982112345678", "tel:+982112345678"),
        ("", ""),
    ],
)
def test_safe_urls_are_kept(value: str, expected: str) -> None:
    assert rendered_href(value) == f'<a href="{expected}">go</a>'


def test_url_like_text_in_a_query_string_is_left_alone() -> None:
    template = '<a href="https://x.example/?src=utm:mail&href=a:b">{{ contact.name }}</a>'
    expected = template.replace("{{ contact.name }}", "")
    assert render({"web": {"html": template}}, "web") == {"html": expected}


def test_static_html_with_safe_urls_renders_verbatim() -> None:
    source = '<a href="https://shop.example/">Shop</a> <img src="/logo.png">'
    assert render({"email": {"html": source}}, "email")["html"] == source


# --- undefined values, defaults and render errors -----------------------------------


def test_undefined_variables_render_empty() -> None:
    source = "[{{ contact.first_name }}|{{ behaviour.last.title }}|{{ context.page }}]"
    source += "{% for p in behaviour.viewed %}{{ p }}{% endfor %}"
    out = render({"sms": {"text": source}}, "sms", context_fields=("page",))
    assert out == {"text": "[||]"}


def test_default_filter_in_english_and_persian() -> None:
    content = {
        "push": {"title": {"en": "Hi {{ contact.first_name | default: 'there' }}", "fa": PERSIAN}}
    }
    assert render(content, "push", locale="en") == {"title": "Hi there"}
    # Persian is right to left, so every non-empty output is isolated, defaults included.
    assert render(content, "push", locale="fa-IR") == {"title": f"سلام {isolated('دوست عزیز')}"}
    assert render(content, "push", locale="fa", contact={"first_name": "مریم"}) == {
        "title": f"سلام {isolated('مریم')}"
    }


def test_render_error_names_the_field_path() -> None:
    content = {"email": {"subject": {"en": "ok", "fa": "{{ contact.total | divided_by: 0 }}"}}}
    compiled = compile_ok(content)
    data = {"contact": {"total": 10}}
    with pytest.raises(RenderError) as caught:
        render_channel(compiled, "email", locale="fa", data=data)
    assert caught.value.path == f"{PATH}.email.subject.fa"
    assert str(caught.value).startswith(f"{PATH}.email.subject.fa: divided_by")
    assert isinstance(caught.value.__cause__, LiquidError)


def test_runaway_loop_is_a_render_error() -> None:
    compiled = compile_ok({"sms": {"text": "{% for i in (1..contact.n) %}.{% endfor %}"}})
    with pytest.raises(RenderError, match="loop iteration limit"):
        render_channel(compiled, "sms", locale=None, data={"contact": {"n": 10**9}})


def test_absent_channel_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        render_channel(compile_ok({"sms": {"text": "hi"}}), "email", locale=None, data={})


# --- locale choice and RTL text -----------------------------------------------------

GREETING = {
    "email": {
        "subject": {"en": "Hello", "fa": "سلام", "he": "שלום", "ru": "Привет"},
        "text": {"en": "Bye", "fa": "خداحافظ", "he": "להתראות", "ru": "Пока"},
        "footer": "© Shop",
    }
}


@pytest.mark.parametrize(
    ("locale", "subject", "text"),
    [
        ("fa-IR", "سلام", "خداحافظ"),
        ("HE_il", "שלום", "להתראות"),
        ("ru", "Привет", "Пока"),
        ("de-DE", "Hello", "Bye"),
        (None, "Hello", "Bye"),
        ("not a locale", "Hello", "Bye"),
    ],
)
def test_locale_is_picked_from_contact_locale(locale: str | None, subject: str, text: str) -> None:
    assert render(GREETING, "email", locale=locale) == {
        "subject": subject,
        "text": text,
        "footer": "© Shop",
    }


def test_channel_keeps_one_language_when_fields_differ() -> None:
    content = {
        "push": {"title": {"en": "Hi", "fa": "سلام", "he": "שלום"}, "body": {"en": "B", "he": "ב"}}
    }
    # "fa" is not offered by every field, so the default keeps the push in one language.
    assert render(content, "push", locale="fa") == {"title": "Hi", "body": "B"}
    assert render(content, "push", locale="he") == {"title": "שלום", "body": "ב"}


def test_fields_without_a_shared_locale_fall_back_per_field() -> None:
    content = {"push": {"title": {"fa": "سلام"}, "body": {"ru": "Привет"}}}
    assert render(content, "push", locale="ru") == {"title": "سلام", "body": "Привет"}
    assert channel_locale(compile_ok(content), "push", locale="ru") is None


def test_missing_default_falls_back_to_first_locale_alphabetically() -> None:
    content = {"sms": {"text": {"ru": "Привет", "he": "שלום"}}}
    assert render(content, "sms", locale="de") == {"text": "שלום"}


def test_default_locale_is_configurable() -> None:
    compiled = compile_content(
        {"sms": {"text": {"en": "Hi", "fa": "سلام"}}},
        path=PATH,
        context_fields=(),
        default_locale="fa",
    )
    assert render_channel(compiled, "sms", locale="de", data={}) == {"text": "سلام"}
    assert channel_locale(compiled, "sms", locale="de") == "fa"
    assert channel_locale(compiled, "sms", locale="en-US") == "en"


def test_invalid_default_locale_is_rejected() -> None:
    with pytest.raises(ValueError, match="default_locale"):
        compile_content({"sms": {"text": "x"}}, path=PATH, context_fields=(), default_locale="?")


@pytest.mark.parametrize("field", ["text", "html"])
def test_rtl_and_cyrillic_text_round_trips_exactly(field: str) -> None:
    persian = "\u200fسلام {{ contact.first_name }}، می\u200cخواهید؟\u200f"
    hebrew = "\u200fשלום {{ contact.first_name }}!\u200e"
    russian = "Привет, {{ contact.first_name }}! Ёжик «в тумане»."
    content = {"in_app": {field: {"fa": persian, "he": hebrew, "ru": russian}}}
    names = {"fa": "مریم\u200cسادات", "he": "נועה", "ru": "Юлия"}
    for locale, source in content["in_app"][field].items():
        out = render(content, "in_app", locale=locale, contact={"first_name": names[locale]})
        name = names[locale] if locale == "ru" else isolated(names[locale])
        assert out[field] == source.replace("{{ contact.first_name }}", name)


# --- compiled content --------------------------------------------------------------


def test_compiled_content_is_immutable() -> None:
    compiled = compile_ok({"sms": {"text": "hi"}})
    with pytest.raises(dataclasses.FrozenInstanceError):
        compiled.default_locale = "fa"  # type: ignore[misc]
    with pytest.raises(TypeError):
        compiled.channels["email"] = compiled.channels["sms"]  # type: ignore[index]


def test_rendering_never_reparses(monkeypatch: pytest.MonkeyPatch) -> None:
    compiled = compile_ok({"sms": {"text": {"en": "Hi {{ contact.first_name }}", "fa": PERSIAN}}})

    def fail(*_: object, **__: object) -> None:
        raise AssertionError("template parsed at render time")

    monkeypatch.setattr(liquid.Environment, "from_string", fail)
    expected = {"text": f"سلام {isolated('دوست عزیز')}"}
    assert render_channel(compiled, "sms", locale="fa", data={}) == expected


# --- locale formatting filters ------------------------------------------------------

RU_CASES = "one {# товар} few {# товара} many {# товаров} other {# товара}"
FORMATTED = {
    "sms": {
        "text": {
            locale: (
                "{{ contact.birthday | format_date: 'long' }}"
                "|{{ context.now | format_date: 'full' }}"
                "|{{ behaviour.revenue | format_number }}"
                "|{{ context.price | format_currency: 'IRR' }}"
                f"|{{{{ behaviour.cart_items | plural: '{RU_CASES}' }}}}"
            )
            for locale in ("en", "fa", "he", "ru")
        }
    }
}
FORMATTED_DATA = {
    "contact": {"birthday": "2026-11-25"},
    "context": {"now": "2026-11-25T12:00:00Z", "price": 1250000},
    "behaviour": {"revenue": 1234.5, "cart_items": 21},
}


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        (
            "en-US",
            [
                "November 25, 2026",
                "Wednesday, November 25, 2026",
                "1,234.5",
                "IRR\xa01,250,000",
                "21 товара",  # English plural rules: 21 is "other"
            ],
        ),
        (
            "fa-IR",
            [
                "۴ آذر ۱۴۰۵",
                "۱۴۰۵ آذر ۴, چهارشنبه",
                "۱٬۲۳۴٫۵",
                "\u200eریال\xa0۱٬۲۵۰٬۰۰۰",
                "۲۱ товара",
            ],
        ),
        (
            "he",
            [
                "25 בנובמבר 2026",
                "יום רביעי, 25 בנובמבר 2026",
                "1,234.5",
                "\u200f1,250,000\xa0\u200fIRR",
                "21 товара",
            ],
        ),
        (
            "ru",
            [
                "25 ноября 2026\u202fг.",
                "среда, 25 ноября 2026\u202fг.",
                "1\xa0234,5",
                "1\xa0250\xa0000\xa0IRR",
                "21 товар",
            ],
        ),
    ],
)
def test_format_filters_use_the_chosen_locale(locale: str, expected: list[str]) -> None:
    compiled = compile_ok(FORMATTED, ("now", "price"))
    [text] = render_channel(compiled, "sms", locale=locale, data=FORMATTED_DATA).values()
    rtl = locale in ("fa-IR", "he")
    assert text.split("|") == [isolated(part) if rtl else part for part in expected]


def test_russian_plurals_in_a_template() -> None:
    content = {"push": {"body": f"В корзине {{{{ behaviour.n | plural: '{RU_CASES}' }}}}"}}
    compiled = compile_ok(content)
    rendered = [
        render_channel(compiled, "push", locale="ru", data={"behaviour": {"n": n}})["body"]
        for n in (1, 2, 5, 21, 11, "3")
    ]
    assert rendered == [
        f"В корзине {text}"
        for text in ("1 товар", "2 товара", "5 товаров", "21 товар", "11 товаров", "3 товара")
    ]


def test_plural_takes_a_whole_pattern_and_named_arguments() -> None:
    source = (
        '{{ behaviour.n | plural: "{n, plural, one {{name}: # item} other {{name}: # items} }",'
        " name: contact.first_name }}"
    )
    out = render(
        {"sms": {"text": source}}, "sms", contact={"first_name": "Sara"}, behaviour={"n": 3}
    )
    assert out == {"text": "Sara: 3 items"}


def test_select_filter() -> None:
    source = "{{ contact.custom.tier | select: 'gold {Золотой клиент} other {Клиент}' }}"
    assert render({"sms": {"text": source}}, "sms", contact={"custom": {"tier": "gold"}}) == {
        "text": "Золотой клиент"
    }
    assert render({"sms": {"text": source}}, "sms", contact={"custom": {"tier": 7}}) == {
        "text": "Клиент"
    }


def test_hebrew_calendar_and_time_zone_options() -> None:
    source = "{{ context.now | format_date: 'long', calendar: 'hebrew' }}"
    source += "|{{ context.now | format_datetime: 'short', tz: 'Asia/Jerusalem' }}"
    out = render(
        {"sms": {"text": {"he": source}}},
        "sms",
        locale="he",
        context={"now": "2026-11-25T22:30:00Z"},
        context_fields=("now",),
    )
    assert out == {"text": f"{isolated('ט״ו בכסלו תשפ״ז')}|{isolated('26.11.2026, 0:30')}"}


def test_dates_show_in_the_contacts_time_zone() -> None:
    content = {"sms": {"text": "{{ context.now | format_datetime: 'medium' }}"}}
    late = {"now": "2026-11-25T22:30:00Z"}

    def at(zone: object) -> str:
        return render(
            content,
            "sms",
            locale="en-US",
            contact={"timezone": zone},
            context=late,
            context_fields=("now",),
        )["text"]

    assert at("Asia/Tehran") == "Nov 26, 2026, 2:00\u202fAM"
    # An unknown zone is not an error: the message still goes out, in UTC.
    assert at("Mars/Base") == at(None) == "Nov 25, 2026, 10:30\u202fPM"


def test_plain_fields_format_in_the_contacts_locale() -> None:
    content = {"sms": {"text": "{{ behaviour.revenue | format_number }}"}}
    assert render(content, "sms", locale="ru", behaviour={"revenue": 1234.5}) == {
        "text": "1\xa0234,5"
    }
    assert render(content, "sms", locale="fa_IR", behaviour={"revenue": 1234.5}) == {
        "text": isolated("۱٬۲۳۴٫۵")
    }
    # No (valid) contact locale: the message's default.
    assert render(content, "sms", locale="?", behaviour={"revenue": 1234.5}) == {"text": "1,234.5"}


def test_translation_locale_wins_over_the_contacts() -> None:
    content = {
        "email": {
            "subject": {
                "en": "{{ behaviour.n | format_number }}",
                "ru": "{{ behaviour.n | format_number }}",
            },
            "footer": "{{ behaviour.n | format_number }}",
        }
    }
    # German is not offered: the English translation is sent, formatted as English.
    out = render(content, "email", locale="de-DE", behaviour={"n": 1234.5})
    assert out == {"subject": "1,234.5", "footer": "1,234.5"}
    out = render(content, "email", locale="ru-RU", behaviour={"n": 1234.5})
    assert out == {"subject": "1\xa0234,5", "footer": "1\xa0234,5"}


@pytest.mark.parametrize("value", ["not a date", "2026-02-30", [1, 2], {"y": 2026}, True, "", None])
def test_unformattable_data_renders_empty_so_default_applies(value: object) -> None:
    source = "[{{ contact.birthday | format_date: 'long' }}]"
    source += "[{{ contact.birthday | format_date: 'long' | default: 'soon' }}]"
    assert render({"sms": {"text": source}}, "sms", contact={"birthday": value}) == {
        "text": "[][soon]"
    }


def test_missing_values_and_arguments_from_data() -> None:
    source = (
        "[{{ contact.nothing | format_number }}]"
        "[{{ context.price | format_currency: context.currency }}]"
        "[{{ context.now | format_date: 'long', tz: contact.timezone }}]"
    )
    out = render(
        {"sms": {"text": source}},
        "sms",
        context={"price": 5, "currency": "not money", "now": "2026-11-25"},
        context_fields=("price", "currency", "now"),
    )
    assert out == {"text": "[][][November 25, 2026]"}


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{ contact.b | format_date: 'huge' }}", "format_date: unknown style 'huge'"),
        ("{{ contact.b | format_date: 'long', calendar: 'mayan' }}", "unknown calendar 'mayan'"),
        ("{{ contact.b | format_datetime: tz: 'Mars/Base' }}", "'Mars/Base' is not a time zone"),
        (
            "{{ contact.b | format_date: 'long', zone: 'UTC' }}",
            "unexpected keyword argument 'zone'",
        ),
        ("{{ contact.b | format_number: 2, 3 }}", "format_number: too many positional arguments"),
        ("{{ contact.b | format_number: 99 }}", "decimals must be between 0 and 20"),
        ("{{ contact.b | format_currency }}", "missing a required argument: 'currency'"),
        ("{{ contact.b | format_currency: 'dollars' }}", "'dollars' is not an ISO 4217"),
        (
            "{{ contact.b | plural: 'one {# x}' }}",
            "plural: '{n, plural, one {# x}}' is not a valid",
        ),
        (
            "{{ contact.b | plural: 'one {x} other {y}', context: 1 }}",
            "unexpected argument 'context'",
        ),
        ("{% assign d = contact.b | format_date: 'huge' %}", "unknown style 'huge'"),
        ("{% echo contact.b | format_date: 'huge' %}", "unknown style 'huge'"),
    ],
)
def test_bad_literal_filter_arguments_fail_at_compile_time(source: str, message: str) -> None:
    [(_, problem)] = problems_of({"sms": {"text": source}})
    assert message in problem


def test_closing_braces_inside_a_pattern_get_a_hint() -> None:
    source = '{{ contact.n | plural: "{n, plural, one {# x} other {# y}}" }}'
    [(_, problem)] = problems_of({"sms": {"text": source}})
    assert problem.startswith("template does not parse")
    assert problem.endswith('a "}}" inside a quoted argument ends the {{ }}: write "} }"')


# --- right-to-left isolates -----------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "rtl"), [("fa", True), ("he-IL", True), ("en", False), ("ru", False)]
)
def test_outputs_are_isolated_in_right_to_left_text_only(locale: str, rtl: bool) -> None:
    content = {"sms": {"text": "{{ contact.first_name }} <{{ contact.email }}>: {{ behaviour.n }}"}}
    out = render(
        content,
        "sms",
        locale=locale,
        contact={"first_name": "Sara Ahmadi", "email": "sara@example.com"},
        behaviour={"n": 42},
    )
    wrap = isolated if rtl else str
    assert out == {"text": f"{wrap('Sara Ahmadi')} <{wrap('sara@example.com')}>: {wrap('42')}"}


@pytest.mark.parametrize("field", ["text", "html"])
def test_right_to_left_values_are_isolated_in_left_to_right_text(field: str) -> None:
    # Unisolated, "3" after an Arabic-script name takes its direction (UAX #9 W2) and the
    # line shows as "Hi 3 مریم, new": the name and number swap places.
    source = "Hi {{ contact.first_name }} {{ behaviour.n }} new, {{ contact.last_name }}"
    contact = {"first_name": "مریم", "last_name": "Levi"}
    out = render({"sms": {field: source}}, "sms", locale="en", contact=contact, behaviour={"n": 3})
    assert out == {field: f"Hi {isolated('مریم')} 3 new, Levi"}


def test_empty_values_are_never_isolated() -> None:
    source = (
        "سلام{{ contact.first_name }}!{{ contact.last_name | default: '' }}{% echo contact.x %}"
    )
    assert render({"sms": {"text": source}}, "sms", locale="fa") == {"text": "سلام!"}


def test_html_text_is_isolated_but_attributes_urls_and_raw_text_are_not() -> None:
    source = (
        "<p title=\"{{ contact.first_name }}\" class='{{ contact.first_name }}'>"
        "سلام {{ contact.first_name }}</p>"
        '<a href="{{ context.url }}?who={{ contact.first_name }}"><img src="{{ context.url }}"></a>'
        "<style>p { color: {{ contact.color }}; }</style><!-- {{ contact.first_name }} -->"
        "<script>var n = '{{ contact.first_name }}';</script>{% echo contact.first_name %}"
    )
    out = render(
        {"email": {"html": {"fa": source}}},
        "email",
        locale="fa",
        contact={"first_name": "Sara", "color": "red"},
        context={"url": "https://shop.example/x"},
        context_fields=("url",),
    )
    assert out == {
        "html": (
            "<p title=\"Sara\" class='Sara'>"
            f"سلام {isolated('Sara')}</p>"
            '<a href="https://shop.example/x?who=Sara"><img src="https://shop.example/x"></a>'
            "<style>p { color: red; }</style><!-- Sara -->"
            f"<script>var n = 'Sara';</script>{isolated('Sara')}"
        )
    }


def test_urls_in_text_are_not_isolated() -> None:
    # Linkifiers would take the closing isolate into the link.
    source = (
        "سبد: {{ context.url }} — https://shop.example/c?id={{ contact.id }}&n={{ contact.n }}"
        " www.shop.example/{{ contact.id }} {{ contact.id }}"
        " https://shop.example/?t={% if contact.n %}vip{% endif %}&id={{ contact.id }}"
    )
    out = render(
        {"sms": {"text": source}},
        "sms",
        locale="fa",
        contact={"id": "c-7", "n": 2},
        context={"url": "https://shop.example/cart"},
        context_fields=("url",),
    )
    assert out == {
        "text": (
            "سبد: https://shop.example/cart — https://shop.example/c?id=c-7&n=2"
            f" www.shop.example/c-7 {isolated('c-7')}"
            " https://shop.example/?t=vip&id=c-7"
        )
    }


def test_captured_output_is_a_value_not_text() -> None:
    source = (
        "{% capture link %}https://shop.example/?n={{ contact.first_name }}{% endcapture %}"
        "{% capture name %}{{ contact.first_name }}{% endcapture %}"
        "{% if name == 'Sara' %}{{ name | size }}{% endif %}"
    )
    out = render({"sms": {"text": source}}, "sms", locale="he", contact={"first_name": "Sara"})
    assert out == {"text": isolated("4")}


def test_isolates_follow_the_chosen_translation() -> None:
    content = {
        "push": {
            "title": {"en": "Hi {{ contact.first_name }}", "fa": "سلام {{ contact.first_name }}"}
        }
    }
    # The contact reads Hebrew, but no Hebrew translation exists: the English one is LTR.
    assert render(content, "push", locale="he", contact={"first_name": "Noa"}) == {
        "title": "Hi Noa"
    }


def test_echo_inside_an_html_tag_is_rejected() -> None:
    # Like {{ }}, an echo there could add attributes such as onerror=.
    for source in ('<img src="x" {% echo contact.attrs %}>', "<img {% cycle contact.a, 'b' %}>"):
        [(_, message)] = problems_of({"web": {"html": source}})
        assert message == "{{ }} inside an HTML tag must be within a quoted attribute value"


# --- fields read by templates ----------------------------------------------------------


def test_contact_and_behaviour_fields_used() -> None:
    content = {
        "email": {
            "subject": {"en": "Hi {{ contact.first_name }}", "fa": "{{ contact.custom.plan }}"},
            "html": (
                "{% if contact.vip %}{% for o in contact.orders %}{{ o.id }}{% endfor %}{% endif %}"
                "{{ behaviour.cart_items | plural: 'one {# x} other {# y}', a: contact.nickname }}"
                "{{ contact[context.key] }}{{ behaviour.last_viewed.title }}"
            ),
        },
        "sms": {"text": "{{ contact.birthday | format_date: 'long', tz: contact.timezone }}"},
    }
    compiled = compile_ok(content, ("key",))
    assert contact_fields_used(compiled) == {
        "first_name",
        "custom",
        "vip",
        "orders",
        "nickname",
        "birthday",
        "timezone",
    }
    assert behaviour_fields_used(compiled) == {"cart_items", "last_viewed"}
    assert context_fields_used(compiled) == {"key"}


def test_no_fields_used() -> None:
    compiled = compile_ok({"sms": {"text": "hi"}})
    assert contact_fields_used(compiled) == behaviour_fields_used(compiled) == set()
