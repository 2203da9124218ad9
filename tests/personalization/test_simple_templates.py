"""Templates of text and `{{ root.a.b | default: 'x' }}` skip Liquid at render time: for any
data, that path must give Liquid's output (or its RenderError) to the character."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from personalization import templates
from personalization.html_safety import scrub_urls
from personalization.liquid_filters import reader_for
from personalization.templates import ContentError, RenderError, compile_content, render_channel
from tests.personalization.test_templates_properties import values

PARITY = settings(max_examples=300, deadline=None, derandomize=True)
# Keys that the generated paths and data share, with Liquid's special `size`, `first`, `last`.
KEYS = ["first_name", "plan", "n", "size", "first", "last", "0", "a b"]
LOCALES = ["fa", "ar", "he", "en", "ru", "xx-invalid"]

data_values = st.recursive(
    values | st.sampled_from(["\ud800", "a\r", "\nb", "\r\nx\r", "https://x.example/a", "x" * 60]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner),
    max_leaves=8,
)
data = st.dictionaries(
    st.sampled_from(templates.ROOTS),
    data_values | st.dictionaries(st.sampled_from(KEYS), data_values),
)


def _segment(key: str) -> str:
    return f".{key}" if key.isidentifier() else f"[{key!r}]"


paths = st.builds(
    lambda root, keys: root + "".join(map(_segment, keys)),
    st.sampled_from(templates.ROOTS),
    st.lists(st.sampled_from(KEYS), max_size=3),
)
literals = st.lists(
    st.sampled_from([*"ab <>&-", "علی", "\u202e", "\r", "https://"]), max_size=4
).map("".join)
outputs = st.builds(
    lambda path, default, quote, trim: (
        ("{{- " if trim else "{{ ")
        + path
        + ("" if default is None else f" | default: {quote}{default}{quote}")
        + (" -}}" if trim else " }}")
    ),
    paths,
    st.none() | literals,
    st.sampled_from(["'", '"']),
    st.booleans(),
)
texts = st.lists(
    st.sampled_from(
        [*"ab <>&\n\r\t.", "سلام", "&amp;", "<b>", "</b>", "https://x.example/", "\u2067"]
    ),
    max_size=6,
).map("".join)
sources = st.builds(
    lambda first, rest: first + "".join(output + text for output, text in rest),
    texts,
    st.lists(st.tuples(outputs, texts), min_size=1, max_size=3),
)


def _compile(source: str, field: str) -> templates._Template:
    content = {"web": {field: source}}
    try:
        compiled = compile_content(content, path="c", context_fields=KEYS)
    except ContentError:
        assume(False)  # e.g. HTML the field check rejects: not what this test is about
        raise
    template = compiled.channels["web"].fields[0].plain
    assert template is not None
    return template


def _liquid(template: templates._Template, data: dict[str, Any], locale: str) -> str | None:
    try:
        return templates._render_liquid(template, data, reader_for(locale, None))
    except RenderError as err:
        assert err.path == template.path
        return None


def _fast(template: templates._Template, data: dict[str, Any], locale: str) -> str | None:
    assert template.simple is not None, "expected the fast path"
    try:
        text = template.simple.render(
            data, rtl=reader_for(locale, None).rtl, limit=templates.MAX_OUTPUT_BYTES
        )
    except Exception:  # _render then lets Liquid raise: compared below
        return None
    if text is None:
        return None
    return scrub_urls(text) if template.scrub_urls else text


@PARITY
@given(
    source=sources,
    field=st.sampled_from(["headline", "html"]),
    locale=st.sampled_from(LOCALES),
    data=data,
)
def test_simple_templates_render_as_liquid_renders_them(
    source: str, field: str, locale: str, data: dict[str, Any]
) -> None:
    template = _compile(source, field)
    expected = _liquid(template, data, locale)
    # None from the fast path means "let Liquid fail": only right if Liquid does fail.
    assert _fast(template, data, locale) == expected
    # And through the public entry point, errors included.
    try:
        rendered = render_channel(
            compile_content({"web": {field: source}}, path="c", context_fields=KEYS),
            "web",
            locale=locale,
            data=data,
        )[field]
    except RenderError:
        rendered = None
    assert rendered == expected


@settings(max_examples=100, deadline=None, derandomize=True)
@given(source=sources, field=st.sampled_from(["headline", "html"]), data=data)
def test_the_output_limit_fails_both_paths_alike(
    source: str, field: str, data: dict[str, Any]
) -> None:
    template = _compile(source, field)
    with mock.patch.object(templates, "MAX_OUTPUT_BYTES", 40):
        assert _fast(template, data, "fa") == _liquid(template, data, "fa")


def test_a_too_long_output_is_a_render_error_naming_the_field() -> None:
    compiled = compile_content(
        {"web": {"headline": "Hi {{ contact.first_name }}"}}, path="c", context_fields=[]
    )
    assert compiled.channels["web"].fields[0].plain.simple is not None  # type: ignore[union-attr]
    name = "é" * (templates.MAX_OUTPUT_BYTES // 2)
    with pytest.raises(RenderError) as raised:
        render_channel(compiled, "web", locale="en", data={"contact": {"first_name": name}})
    assert raised.value.path == "c.web.headline"
    assert "limit" in raised.value.message


@pytest.mark.parametrize(
    "source",
    [
        "{{ contact.first_name | upcase }}",
        "{{ contact.first_name | default: context.plan }}",
        "{{ contact.first_name | default: 'x', allow_false: true }}",
        "{{ contact.first_name | default: 1 }}",
        "{{ contact.first_name | default: 'x' | default: 'y' }}",
        "{{ contact.first_name | default }}",
        "{{ contact.items[0] }}",
        "{{ contact[context.plan] }}",
        "{{ 'literal' }}",
        "{% if contact.plan %}x{% endif %}",
        "{% echo contact.plan %}",
        "{% assign x = contact.plan %}{{ x }}",
        "{{ contact.n | format_number }}",
    ],
)
def test_other_templates_keep_the_liquid_path(source: str) -> None:
    compiled = compile_content({"web": {"headline": source}}, path="c", context_fields=["plan"])
    template = compiled.channels["web"].fields[0].plain
    assert template is not None and template.simple is None


@pytest.mark.parametrize(
    "source",
    [
        "Hi {{ contact.first_name }}",
        "{{ contact.first_name | default: 'there' }}, {{- behaviour.n -}} !",
        '<a href="https://x.example/{{ context.plan }}">{{ contact["a b"].size }}</a>',
        "{{ contact }}",
        "{% raw %}{{ contact.plan }}{% endraw %} {{ contact.plan }}",  # raw is plain text
    ],
)
def test_simple_templates_take_the_fast_path(source: str) -> None:
    compiled = compile_content({"web": {"html": source}}, path="c", context_fields=["plan"])
    template = compiled.channels["web"].fields[0].plain
    assert template is not None and template.simple is not None


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ("a\r{{ contact.x }}", "\nb"),
        ("{{ contact.x }}\nb", "a\r"),
        ("\r\n{{ contact.x }}\r", "\r\n"),
    ],
)
def test_newlines_are_translated_per_write_as_in_liquids_buffer(source: str, value: str) -> None:
    # The buffer translates "\r" at the end of one write before it sees the next write's "\n".
    template = _compile(source, "headline")
    data = {"contact": {"x": value}}
    assert _fast(template, data, "en") == _liquid(template, data, "en")
    assert "\r" not in (_fast(template, data, "en") or "\r")
