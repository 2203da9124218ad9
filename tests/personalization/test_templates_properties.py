"""Properties of rendering: any contact data renders (or fails as RenderError), is escaped in
HTML fields, and leaves right-to-left isolates balanced."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from personalization.templates import RenderError, compile_content, render_channel

FAST = settings(max_examples=150, deadline=None, derandomize=True)

values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(["<script>x</script>", "<b>", "&amp;", "javascript:x", "علی", "1e400"])
    | st.sampled_from(["\u2069", "x\u2068", "\u202e"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)
attributes = st.fixed_dictionaries(
    {},
    optional={
        "first_name": values,
        "locale": values | st.sampled_from(["fa-IR", "en", "ar", "he", "xx-invalid"]),
        "timezone": values | st.sampled_from(["Asia/Tehran", "Nope/Zone"]),
        "birthday": values | st.sampled_from(["1990-03-21", "--03-21"]),
        "custom": st.dictionaries(st.sampled_from(["n", "plan"]), values),
    },
)
TEMPLATES = {
    "text": (
        "سلام {{ contact.first_name }}، {{ contact.custom.plan | default: 'x' }} "
        "{{ contact.custom.n | format_number }} {{ contact.birthday | format_date: 'long' }} "
        "{{ contact.custom.n | plural: 'one {# item} other {# items}' }} "
        "{% for i in (1..contact.custom.n) %}.{% endfor %}"
    ),
    "html": (
        "<p dir='auto'>سلام {{ contact.first_name }}</p>"
        "<a href='https://example.com/{{ contact.custom.plan | url_encode }}'>"
        "{{ contact.custom.plan }}</a>"
    ),
}
CONTENT = compile_content(
    {"email": {"subject": {"fa": TEMPLATES["text"], "en": "Hi {{ contact.first_name }}"},
               "html": TEMPLATES["html"]}},
    path="content",
    context_fields=[],
)  # fmt: skip


def _render(contact: dict[str, Any]) -> dict[str, str] | None:
    try:
        return render_channel(
            CONTENT, "email", locale="fa-IR", data={"contact": contact, "behaviour": {}}
        )
    except RenderError:
        return None  # a limit or a bad value, named by field: what callers turn into a 422


@FAST
@given(attributes)
def test_any_contact_data_renders_or_fails_as_a_render_error(contact: dict[str, Any]) -> None:
    _render(contact)  # anything else propagating is a bug


@FAST
@given(attributes)
def test_contact_data_never_opens_a_tag_in_html(contact: dict[str, Any]) -> None:
    rendered = _render(contact)
    if rendered is None:
        return
    stripped = rendered["html"]
    for markup in ("<p dir='auto'>", "</p>", "<a href='https://example.com/", "'>", "</a>"):
        stripped = stripped.replace(markup, "")
    assert "<" not in stripped, rendered["html"]


@FAST
@given(attributes)
def test_isolates_are_balanced(contact: dict[str, Any]) -> None:
    rendered = _render(contact)
    if rendered is None:
        return
    for text in rendered.values():
        depth = 0
        for char in text:
            depth += {"\u2068": 1, "\u2069": -1}.get(char, 0)
            assert depth >= 0, text
        assert depth == 0, text


def test_bidi_controls_in_a_value_cannot_escape_its_isolate() -> None:
    rendered = _render({"first_name": "\u2069\u202eevil"})
    assert rendered is not None
    assert rendered["subject"].startswith("سلام \u2068evil\u2069")


def test_bidi_controls_are_dropped_where_no_isolate_is_added() -> None:
    # The link's text is not isolated (it follows a URL with no space), yet an override in
    # the value must not reorder what follows it.
    rendered = _render({"custom": {"plan": "\u202eevil\u2069"}})
    assert rendered is not None
    assert "\u202e" not in rendered["html"] and "\u2069" not in rendered["html"]


markupless = (
    st.lists(st.sampled_from([*"ab {}%-<>&\"'\n\r\u2067\u2069", "علی", "&amp;", "{ {", "%}"]))
    .map("".join)
    .filter(lambda s: "{{" not in s and "{%" not in s)
)


@FAST
@given(source=markupless)
def test_text_without_markup_renders_exactly_as_liquid_renders_it(source: str) -> None:
    """Such fields skip Liquid at render time: that must not change a single character."""
    compiled = compile_content({"sms": {"text": source}}, path="c", context_fields=[])
    liquid = compiled.channels["sms"].fields[0].plain
    assert liquid is not None and liquid.static is not None
    rendered = render_channel(compiled, "sms", locale="fa", data={"contact": {}, "behaviour": {}})
    assert rendered["text"] == liquid.static == liquid.template.render()
    assert rendered["text"].replace("\n", "") == source.replace("\r", "").replace("\n", "")
