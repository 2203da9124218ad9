"""Validate and compile per-channel, per-locale Liquid message content, then render it per send."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar

from liquid import BoundTemplate, Environment, RenderContext
from liquid.ast import Node
from liquid.builtin.tags.capture_tag import CaptureNode
from liquid.exceptions import LiquidError
from liquid.output import LimitedStringIO

from personalization.formatting import is_time_zone
from personalization.html_safety import SAFE_URL_SCHEMES, html_problems, scrub_urls
from personalization.isolation import IsolatingEcho, IsolatingOutput, mark_isolation
from personalization.liquid_filters import (
    FORMAT_FILTERS,
    MessageContext,
    Reader,
    format_filter_problems,
    reader_for,
)
from personalization.locales import locale_chain, normalize_locale
from personalization.simple_templates import SimpleTemplate, simple_template

__all__ = [
    "CHANNELS",
    "ROOTS",
    "SAFE_URL_SCHEMES",
    "CompiledContent",
    "ContentError",
    "RenderError",
    "behaviour_fields_used",
    "channel_locale",
    "channels_of",
    "compile_content",
    "contact_fields_used",
    "context_fields_used",
    "is_html_field",
    "render_channel",
]

CHANNELS = frozenset({"email", "sms", "push", "web_push", "in_app", "web"})
ROOTS = ("contact", "behaviour", "context")
# Liquid ends an output at the first "}}", even inside a string such as an ICU pattern.
_BRACES_IN_STRING_RE = re.compile(r"\{\{[^\"'}]*(?:\"[^\"]*\}\}|'[^']*\}\})")
_BRACES_HINT = '; a "}}" inside a quoted argument ends the {{ }}: write "} }"'


# Bounds on what one template may be and do, so content cannot stall or bloat a send:
# a range bound or an appended string can come from contact data.
MAX_TEMPLATE_CHARS = 50_000
MAX_OUTPUT_BYTES = 200_000  # UTF-8 bytes per field; Gmail clips a message past ~100 KB
MAX_LOCALS_BYTES = 200_000  # assign/capture: stops a quadratic `append` loop early


class _MessageEnvironment(Environment):
    """Liquid configured for message content: strict parsing, lenient undefined values."""

    loop_iteration_limit: ClassVar[int | None] = 10_000
    output_stream_limit: ClassVar[int | None] = MAX_OUTPUT_BYTES
    local_namespace_limit: ClassVar[int | None] = MAX_LOCALS_BYTES

    def setup_tags_and_filters(self, *, extra: bool = False) -> None:
        super().setup_tags_and_filters(extra=extra)
        # Content has no template loader, so partials could only ever fail at send time.
        del self.tags["include"], self.tags["render"]
        if self.autoescape:
            # `safe` would let contact data into HTML unescaped.
            del self.filters["safe"]
        self.add_tag(IsolatingOutput)
        self.add_tag(IsolatingEcho)
        self.filters.update(FORMAT_FILTERS)


# Shared, effectively immutable configuration: one environment per escaping mode.
_TEXT_ENV = _MessageEnvironment()
_HTML_ENV = _MessageEnvironment(autoescape=True)


class ContentError(ValueError):
    """Message content failed validation; `problems` lists every (path, message)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        listing = "\n".join(f"  {path}: {message}" for path, message in problems)
        super().__init__(f"{len(problems)} problem(s) in message content:\n{listing}")


class RenderError(Exception):
    """A template failed while rendering; `path` names the field (and locale) that failed."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}")


@dataclass(frozen=True, eq=False)
class _Template:
    path: str
    template: BoundTemplate
    # HTML with Liquid markup; static HTML was fully URL-checked at compile time.
    scrub_urls: bool
    # The output when the source holds no Liquid markup: served without a render context.
    static: str | None = None
    # Text and plain outputs only: rendered from a flat plan, to the same characters.
    simple: SimpleTemplate | None = None


@dataclass(frozen=True, eq=False)
class _Field:
    name: str
    plain: _Template | None
    by_locale: Mapping[str, _Template]


@dataclass(frozen=True, eq=False)
class _Channel:
    fields: tuple[_Field, ...]
    localised: bool
    # Locales offered by every localised field: choosing among these keeps a
    # message in one language rather than mixing languages per field.
    locales: frozenset[str]


@dataclass(frozen=True, eq=False)
class CompiledContent:
    """Parsed templates per channel, field and locale, ready to render."""

    channels: Mapping[str, _Channel]
    default_locale: str
    context_fields: frozenset[str]
    contact_fields: frozenset[str] = frozenset()
    behaviour_fields: frozenset[str] = frozenset()


def is_html_field(name: str) -> bool:
    """Return True for fields rendered as HTML (autoescaped, URL-checked): `html`, `*_html`."""
    lowered = name.lower()
    return lowered == "html" or lowered.endswith("_html")


def _kind(value: object) -> str:
    return type(value).__name__


def _describe(err: LiquidError) -> str:
    try:
        where = err.context()
    except ValueError:
        where = None
    suffix = f" (line {where[0]}, column {where[1]})" if where else ""
    return f"{err.message}{suffix}"


def _walk(template: BoundTemplate) -> Iterator[tuple[Node, bool]]:
    """Yield every node of `template`, and whether it renders inside `{% capture %}`."""
    static = RenderContext(template)
    pending = [(node, False) for node in template.nodes]
    while pending:
        node, captured = pending.pop()
        yield node, captured
        inner = captured or isinstance(node, CaptureNode)
        pending.extend((child, inner) for child in node.children(static, include_partials=False))


@dataclass(frozen=True)
class _Compiler:
    """Collects every problem (instead of stopping at the first) while compiling content."""

    declared: frozenset[str]
    problems: list[tuple[str, str]] = field(default_factory=list)
    # Top-level field names read under each root, e.g. {"contact": {"first_name"}}.
    read: dict[str, set[str]] = field(default_factory=lambda: {root: set() for root in ROOTS})

    def _check_variables(self, template: BoundTemplate) -> list[str]:
        found: list[str] = []
        analysis = template.analyze(include_partials=False)
        known = template.env.filters
        found.extend(f"unknown filter {name!r}" for name in analysis.filters if name not in known)
        # `globals` omits names bound by assign/capture/for, so loop items are not roots.
        for root, variables in analysis.globals.items():
            if root not in ROOTS:
                found.append(f"unknown variable {root!r}: use contact.*, behaviour.* or context.*")
                continue
            for variable in variables:
                name = variable.segments[1] if len(variable.segments) > 1 else None
                if root != "context":
                    # contact[expr] reads a field only known at send time; it is not listed.
                    if isinstance(name, str):
                        self.read[root].add(name)
                elif not isinstance(name, str):
                    found.append(f"'{variable}' must name a context field, e.g. context.cart_url")
                elif name not in self.declared:
                    found.append(
                        f"context field {name!r} is not declared in the placement's context_fields"
                    )
                else:
                    self.read["context"].add(name)
        return found

    def compile_template(self, source: str, path: str, *, as_html: bool) -> _Template | None:
        if len(source) > MAX_TEMPLATE_CHARS:
            self.problems.append((path, f"must be at most {MAX_TEMPLATE_CHARS} characters"))
            return None
        try:
            template = (_HTML_ENV if as_html else _TEXT_ENV).from_string(source)
        except LiquidError as err:
            hint = _BRACES_HINT if _BRACES_IN_STRING_RE.search(source) else ""
            self.problems.append((path, f"template does not parse: {_describe(err)}{hint}"))
            return None
        found = self._check_variables(template)
        found += format_filter_problems(node for node, _ in _walk(template))
        found += html_problems(source) if as_html else []
        self.problems.extend((path, message) for message in dict.fromkeys(found))
        if found:
            return None
        mark_isolation(_walk(template), source, as_html=as_html)
        markup = "{{" in source or "{%" in source
        # Without markup the output never depends on data: render it once, here (Liquid's
        # own rendering, so e.g. its newline handling is kept).
        static = None if markup else template.render()
        simple = simple_template(template, ROOTS) if markup else None
        return _Template(path, template, as_html and markup, static, simple)

    def compile_field(self, name: str, value: object, path: str) -> _Field | None:
        as_html = is_html_field(name)
        if isinstance(value, str):
            plain = self.compile_template(value, path, as_html=as_html)
            return None if plain is None else _Field(name, plain, MappingProxyType({}))
        if not isinstance(value, Mapping) or not value:
            got = "an empty map" if isinstance(value, Mapping) else _kind(value)
            self.problems.append(
                (path, f"expected a template string or a map of locale to template, got {got}")
            )
            return None
        by_locale: dict[str, _Template] = {}
        spelled: dict[str, object] = {}
        for key, source in value.items():
            locale_path = f"{path}.{key}"
            locale = normalize_locale(key) if isinstance(key, str) else None
            if locale is None:
                self.problems.append((locale_path, f"{key!r} is not a locale tag like fa or fa-IR"))
            elif locale in spelled:
                self.problems.append((locale_path, f"{key!r} repeats locale {spelled[locale]!r}"))
            elif not isinstance(source, str):
                self.problems.append((locale_path, f"expected a template, got {_kind(source)}"))
            elif compiled := self.compile_template(source, locale_path, as_html=as_html):
                by_locale[locale] = compiled
            if locale is not None:
                spelled.setdefault(locale, key)
        return _Field(name, None, MappingProxyType(by_locale))

    def compile_channel(self, channel: object, fields: object, path: str) -> _Channel | None:
        if channel not in CHANNELS:
            expected = ", ".join(sorted(CHANNELS))
            self.problems.append((path, f"unknown channel {channel!r}, expected one of {expected}"))
            return None
        if not isinstance(fields, Mapping) or not fields:
            self.problems.append((path, "expected a non-empty map of field to template"))
            return None
        compiled: list[_Field] = []
        for name, value in fields.items():
            if not isinstance(name, str) or not name:
                self.problems.append((f"{path}.{name}", "field name must be a non-empty string"))
            elif compiled_field := self.compile_field(name, value, f"{path}.{name}"):
                compiled.append(compiled_field)
        localised = [frozenset(item.by_locale) for item in compiled if item.plain is None]
        common = frozenset.intersection(*localised) if localised else frozenset()
        return _Channel(tuple(compiled), bool(localised), common)


def compile_content(
    content: Mapping[str, Any],
    *,
    path: str,
    context_fields: Collection[str],
    default_locale: str = "en",
) -> CompiledContent:
    """Parse and validate `{channel: {field: template | {locale: template}}}` content.

    Raises one ContentError listing every problem, each under an exact path below
    `path` (e.g. "messages[1].content.email.subject.fa"), so nothing fails at send time.
    """
    default = normalize_locale(default_locale)
    if default is None:
        raise ValueError(f"default_locale {default_locale!r} is not a valid locale tag")
    if not isinstance(content, Mapping) or not content:
        raise ContentError([(path, "expected a non-empty map of channel to fields")])
    compiler = _Compiler(frozenset(context_fields))
    channels: dict[str, _Channel] = {}
    for channel, fields in content.items():
        if compiled := compiler.compile_channel(channel, fields, f"{path}.{channel}"):
            channels[channel] = compiled
    if compiler.problems:
        raise ContentError(compiler.problems)
    read = {root: frozenset(names) for root, names in compiler.read.items()}
    return CompiledContent(
        MappingProxyType(channels),
        default,
        context_fields=read["context"],
        contact_fields=read["contact"],
        behaviour_fields=read["behaviour"],
    )


def channels_of(compiled: CompiledContent) -> frozenset[str]:
    """Return the channels this content can be sent on."""
    return frozenset(compiled.channels)


def context_fields_used(compiled: CompiledContent) -> set[str]:
    """Return the `context.*` fields the templates read (all declared, by construction)."""
    return set(compiled.context_fields)


def contact_fields_used(compiled: CompiledContent) -> set[str]:
    """Return the top-level `contact.*` fields the templates read ("custom" for custom.*).

    Fields read through a computed key (`contact[context.key]`) cannot be listed.
    """
    return set(compiled.contact_fields)


def behaviour_fields_used(compiled: CompiledContent) -> set[str]:
    """Return the top-level `behaviour.*` fields the templates read."""
    return set(compiled.behaviour_fields)


def _choose(locales: Collection[str], chain: tuple[str, ...]) -> str:
    # Same result as `pick_locale`, minus re-normalising keys that compile already normalised.
    for candidate in chain:
        if candidate in locales:
            return candidate
    return min(locales)


def channel_locale(compiled: CompiledContent, channel: str, *, locale: str | None) -> str | None:
    """Return the locale `render_channel` picks for the channel's fields, for use with `is_rtl`.

    None when no field is localised or localised fields share no locale. Raises KeyError
    for an absent channel.
    """
    locales = compiled.channels[channel].locales
    return _choose(locales, locale_chain(locale, compiled.default_locale)) if locales else None


def _render(compiled: _Template, data: Mapping[str, Any], reader: Reader) -> str:
    if compiled.static is not None:
        return compiled.static
    if compiled.simple is not None:
        try:
            text = compiled.simple.render(data, rtl=reader.rtl, limit=MAX_OUTPUT_BYTES)
        except Exception:  # Liquid raises its own error for this data, below
            text = None
        if text is not None:
            return scrub_urls(text) if compiled.scrub_urls else text
    return _render_liquid(compiled, data, reader)


def _render_liquid(compiled: _Template, data: Mapping[str, Any], reader: Reader) -> str:
    template = compiled.template
    buffer = LimitedStringIO(limit=MAX_OUTPUT_BYTES)  # Liquid only bounds its own buffers
    try:
        template.render_with_context(MessageContext(template, globals=data, reader=reader), buffer)
    except Exception as err:
        # Callers get one exception type naming the field, whatever failed inside Liquid.
        message = err.message if isinstance(err, LiquidError) else f"{_kind(err)}: {err}"
        raise RenderError(compiled.path, str(message)) from err
    text = buffer.getvalue()
    return scrub_urls(text) if compiled.scrub_urls else text


def render_channel(
    compiled: CompiledContent, channel: str, *, locale: str | None, data: Mapping[str, Any]
) -> dict[str, str]:
    """Render every field of `channel` for a contact whose locale is `locale`.

    `data` holds the `contact`, `behaviour` and `context` roots; missing values render
    empty. Formatting filters and right-to-left isolates follow the translation chosen
    (plain fields: the channel's choice, else the contact's locale, else the default);
    dates show in `contact.timezone` when it is valid, else UTC. Raises KeyError for an
    absent channel and RenderError if a template fails.
    """
    compiled_channel = compiled.channels[channel]
    chain = locale_chain(locale, compiled.default_locale) if compiled_channel.localised else ()
    common = compiled_channel.locales
    chosen = _choose(common, chain) if common else ""
    contact_locale = normalize_locale(locale) if isinstance(locale, str) else None
    plain_locale = chosen or contact_locale or compiled.default_locale
    timezone = _contact_timezone(data)
    rendered: dict[str, str] = {}
    for item in compiled_channel.fields:
        field_locale = plain_locale if item.plain else chosen
        template = item.plain or item.by_locale.get(chosen)
        if template is None:
            # Only reached when the channel's localised fields share no locale.
            field_locale = _choose(item.by_locale.keys(), chain)
            template = item.by_locale[field_locale]
        rendered[item.name] = _render(template, data, reader_for(field_locale, timezone))
    return rendered


def _contact_timezone(data: Mapping[str, Any]) -> str | None:
    contact = data.get("contact")
    zone = contact.get("timezone") if isinstance(contact, Mapping) else None
    return zone if isinstance(zone, str) and is_time_zone(zone) else None
