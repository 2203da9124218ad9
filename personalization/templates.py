"""Validate and compile per-channel, per-locale Liquid message content, then render it per send."""

from __future__ import annotations

import html
import inspect
import re
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from io import StringIO
from types import MappingProxyType
from typing import Any, ClassVar, TextIO

from liquid import BoundTemplate, Environment, RenderContext, is_undefined
from liquid.ast import Node
from liquid.builtin.expressions import (
    Filter,
    FilteredExpression,
    KeywordArgument,
    Literal,
    TernaryFilteredExpression,
)
from liquid.builtin.output import Output, OutputNode
from liquid.builtin.tags.capture_tag import CaptureNode
from liquid.builtin.tags.echo_tag import EchoNode, EchoTag
from liquid.exceptions import LiquidError
from liquid.expression import Expression
from liquid.stringify import to_liquid_string
from liquid.token import Token

from personalization.formatting import (
    FormatError,
    format_currency,
    format_date,
    format_datetime,
    format_message,
    format_number,
    is_time_zone,
    to_number,
)
from personalization.locales import is_rtl, locale_chain, normalize_locale

CHANNELS = frozenset({"email", "sms", "push", "web_push", "in_app", "web"})
ROOTS = ("contact", "behaviour", "context")
# Relative URLs (no scheme) are allowed too: "/path", "page", "#anchor", "?q", "//host".
SAFE_URL_SCHEMES = frozenset({"http", "https", "mailto", "tel"})

# Scanning all output instead of parsed tags cannot be fooled by HTML parser quirks; the
# price is that look-alike text ("src=a:b" in prose) may be rewritten too. Names only
# count after a character that can end the previous token in a tag, so a query such as
# "?src=a:b" inside a URL is left alone.
_URL_ATTR_RE = re.compile(
    r"""(?<=[\t\n\f\r /"'])(?P<name>(?:xlink:)?href|src|action|formaction|background|poster"""
    r"""|data|cite)[\t\n\f\r ]*=[\t\n\f\r ]*"""
    r"""(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<uq>[^\t\n\f\r >"']*))""",
    re.IGNORECASE,
)
# Browsers skip leading controls and drop tabs/newlines anywhere in a URL; removing
# every control and space before the allow-list check is stricter still.
_URL_NOISE_RE = re.compile(r"[\x00-\x20\x7f]+")
# Tags that print (echo, cycle, and echo inside liquid) are outputs for the HTML checks.
_LIQUID_OUTPUT_RE = re.compile(r"\{\{.*?\}\}|\{%-?\s*(?:echo|cycle|liquid)\b.*?%\}", re.DOTALL)
_LIQUID_TAG_RE = re.compile(r"\{%.*?%\}", re.DOTALL)
_LIQUID_MARKUP_RE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)
# Stands in for an output statement while checking where in the HTML it sits.
_TOKEN = "\ue000"
_START_TAG_RE = re.compile(r"<[A-Za-z\ue000](?:\"[^\"]*\"|'[^']*'|[^'\">])*")
_QUOTED_RE = re.compile(r"\"[^\"]*\"|'[^']*'")

# First Strong Isolate ... Pop Directional Isolate: a Latin name, number or email inside
# Persian or Hebrew text keeps its own direction and cannot reorder the words around it.
_FSI, _PDI = "\u2068", "\u2069"
# HTML where isolates would corrupt markup instead of ordering text: raw-text elements,
# comments and tags (so attribute values and their URLs stay valid).
_NOT_TEXT_RE = re.compile(
    r"<(script|style)\b.*?</\1\s*>|<!--.*?-->"
    r"|</?[A-Za-z\ue000](?:\"[^\"]*\"|'[^']*'|[^'\">])*>?",
    re.DOTALL | re.IGNORECASE,
)
# Linkifiers in SMS and mail apps would take a closing isolate into the URL.
_URL_START_RE = re.compile(r"[a-z][a-z0-9+.-]*://|www\.|mailto:|tel:|sms:", re.IGNORECASE)
_WORD_RE = re.compile(r"\S+")
_UNPRINTED_TAG_RE = re.compile(r"\{%-?\s*(?:end)?(?:capture|assign|comment|doc|#)")
# Liquid ends an output at the first "}}", even inside a string such as an ICU pattern.
_BRACES_IN_STRING_RE = re.compile(r"\{\{[^\"'}]*(?:\"[^\"]*\}\}|'[^']*\}\})")
_BRACES_HINT = '; a "}}" inside a quoted argument ends the {{ }}: write "} }"'


@dataclass(frozen=True)
class _Reader:
    """Who a render is for: the locale the message is shown in and the contact's time zone."""

    locale: str
    timezone: str | None
    rtl: bool


@lru_cache(maxsize=1024)
def _reader(locale: str, timezone: str | None) -> _Reader:
    return _Reader(locale, timezone, is_rtl(locale))


_DEFAULT_READER = _reader("en", None)


class _MessageContext(RenderContext):
    """A render context that hands its reader to the formatting filters and outputs."""

    __slots__ = ("reader",)

    def __init__(
        self,
        template: BoundTemplate,
        *,
        globals: Mapping[str, object] | None = None,
        reader: _Reader = _DEFAULT_READER,
        **kwargs: Any,
    ) -> None:
        super().__init__(template, globals=globals, **kwargs)
        self.reader = reader


def _reader_of(context: RenderContext) -> _Reader:
    return context.reader if isinstance(context, _MessageContext) else _DEFAULT_READER


class _OutputNode(OutputNode):
    """An output statement that wraps its value in isolates inside right-to-left text."""

    __slots__ = ("isolate",)

    def __init__(self, token: Token, expression: Expression) -> None:
        super().__init__(token, expression)
        # Cleared at compile time where isolates would corrupt markup, a URL or a capture.
        self.isolate = True

    def _isolated(self, text: str, context: RenderContext) -> str:
        # Empty output stays empty, so `default:` and blank checks behave as before.
        if not text or not self.isolate or not _reader_of(context).rtl:
            return text
        return text if _URL_START_RE.match(text) else f"{_FSI}{text}{_PDI}"

    def render_to_output(self, context: RenderContext, buffer: TextIO) -> int:
        text = to_liquid_string(self.expression.evaluate(context), context.autoescape)
        return buffer.write(self._isolated(text, context))

    async def render_to_output_async(self, context: RenderContext, buffer: TextIO) -> int:
        value = await self.expression.evaluate_async(context)
        return buffer.write(self._isolated(to_liquid_string(value, context.autoescape), context))


class _EchoNode(_OutputNode, EchoNode):
    __slots__ = ()


class _Output(Output):
    node_class = _OutputNode


class _Echo(EchoTag):
    node_class = _EchoNode


def _defined(value: object) -> object:
    return None if is_undefined(value) else value


@dataclass(frozen=True)
class _FormatFilter:
    """A locale-aware Liquid filter around `apply`, which raises FormatError on bad input."""

    apply: Callable[..., str]
    # A value `apply` accepts, to try literal arguments at compile time.
    probe: object
    with_context: ClassVar[bool] = True

    def __call__(
        self, value: object, *args: object, context: RenderContext, **kwargs: object
    ) -> str:
        if value is None or is_undefined(value):
            return ""
        named = {name: _defined(arg) for name, arg in kwargs.items()}
        try:
            return self.apply(value, *map(_defined, args), reader=_reader_of(context), **named)
        except FormatError:
            # Only contact data can fail here (literal arguments were tried at compile
            # time): one bad birthday must not stop a send, and "" lets `default:` apply.
            return ""

    def problems(self, item: Filter) -> list[str]:
        positional = [arg.value for arg in item.args if not isinstance(arg, KeywordArgument)]
        named = {arg.name: arg.value for arg in item.args if isinstance(arg, KeywordArgument)}
        if reserved := sorted({"context", "reader"} & named.keys()):
            return [f"{item.name}: unexpected argument {reserved[0]!r}"]
        try:
            inspect.signature(self.apply).bind(
                self.probe, *positional, reader=_DEFAULT_READER, **named
            )
        except TypeError as err:
            return [f"{item.name}: {err}"]
        if not all(isinstance(arg, Literal) for arg in [*positional, *named.values()]):
            return []
        try:
            self.apply(
                self.probe,
                *[arg.value for arg in positional if isinstance(arg, Literal)],
                reader=_DEFAULT_READER,
                **{name: arg.value for name, arg in named.items() if isinstance(arg, Literal)},
            )
        except FormatError as err:
            return [f"{item.name}: {err}"]
        return []


def _date(
    value: object, style: Any = "medium", *, calendar: Any = None, tz: Any = None, reader: _Reader
) -> str:
    return format_date(value, reader.locale, style, tz=tz or reader.timezone, calendar=calendar)


def _datetime(
    value: object, style: Any = "medium", *, calendar: Any = None, tz: Any = None, reader: _Reader
) -> str:
    zone = tz or reader.timezone
    return format_datetime(value, reader.locale, style, tz=zone, calendar=calendar)


def _number(value: object, decimals: Any = None, *, reader: _Reader) -> str:
    return format_number(value, reader.locale, decimals)


def _currency(value: object, currency: Any, *, reader: _Reader) -> str:
    return format_currency(value, currency, reader.locale)


def _message(
    kind: str, pattern: Any, n: object, reader: _Reader, arguments: dict[str, object]
) -> str:
    if not isinstance(pattern, str):
        raise FormatError(f"expected ICU {kind} cases, got {pattern!r}")
    # Cases alone ("one {# item} other {# items}") spare authors the closing "}}" that
    # would end the {{ }} early; a whole pattern starts with "{".
    if not pattern.lstrip().startswith("{"):
        pattern = f"{{n, {kind}, {pattern}}}"
    values = {name: "" if arg is None else arg for name, arg in arguments.items()}
    return format_message(pattern, reader.locale, values | {"n": n}, tz=reader.timezone)


def _plural(value: object, cases: Any, *, reader: _Reader, **arguments: object) -> str:
    return _message("plural", cases, to_number(value), reader, arguments)


def _select(value: object, cases: Any, *, reader: _Reader, **arguments: object) -> str:
    key = str(value).lower() if isinstance(value, bool) else str(value)
    return _message("select", cases, key, reader, arguments)


# Each reads the render's locale; `plural` and `select` take ICU cases (or a pattern) over `n`.
_FORMAT_FILTERS = {
    "format_date": _FormatFilter(_date, 0),
    "format_datetime": _FormatFilter(_datetime, 0),
    "format_number": _FormatFilter(_number, 1),
    "format_currency": _FormatFilter(_currency, 1),
    "plural": _FormatFilter(_plural, 1),
    "select": _FormatFilter(_select, "other"),
}


class _MessageEnvironment(Environment):
    """Liquid configured for message content: strict parsing, lenient undefined values."""

    # A range bound can come from contact data; a runaway loop must not stall sending.
    loop_iteration_limit: ClassVar[int | None] = 10_000

    def setup_tags_and_filters(self, *, extra: bool = False) -> None:
        super().setup_tags_and_filters(extra=extra)
        # Content has no template loader, so partials could only ever fail at send time.
        del self.tags["include"], self.tags["render"]
        if self.autoescape:
            # `safe` would let contact data into HTML unescaped.
            del self.filters["safe"]
        self.add_tag(_Output)
        self.add_tag(_Echo)
        self.filters.update(_FORMAT_FILTERS)


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


def _url_is_safe(raw: str) -> bool:
    # Fast path: without ":" or a character reference there is no scheme to check.
    if raw.startswith(("https://", "http://")) or (":" not in raw and "&" not in raw):
        return True
    url = _URL_NOISE_RE.sub("", html.unescape(raw))
    scheme, colon, _ = url.partition(":")
    # No colon, or one after "/", "?" or "#" or at the very start, means a relative URL.
    if not colon or not scheme or any(char in scheme for char in "/?#"):
        return True
    return scheme.lower() in SAFE_URL_SCHEMES


def _attr_value(match: re.Match[str]) -> tuple[str, int, int]:
    group = match.lastgroup or "uq"
    return match.group(group) or "", match.start(group), match.end(group)


def _scrub_urls(rendered: str) -> str:
    parts: list[str] = []
    last = 0
    for match in _URL_ATTR_RE.finditer(rendered):
        value, start, end = _attr_value(match)
        if not _url_is_safe(value):
            # Only the value is replaced, keeping its quotes, so the markup stays well formed.
            parts += (rendered[last:start], "#")
            last = end
    return "".join([*parts, rendered[last:]]) if parts else rendered


def _html_problems(source: str) -> list[str]:
    found: list[str] = []
    marked = _LIQUID_TAG_RE.sub("", _LIQUID_OUTPUT_RE.sub(_TOKEN, source))
    # Escaping cannot stop data in a tag name, attribute name or unquoted value from
    # adding attributes such as onerror=, so output there is refused outright.
    if any(_TOKEN in _QUOTED_RE.sub("", tag[0]) for tag in _START_TAG_RE.finditer(marked)):
        found.append("{{ }} inside an HTML tag must be within a quoted attribute value")
    # Tokens are removed so they can neither hide nor fake a literal scheme; URLs that
    # only become unsafe once tokens render are scrubbed at render time.
    for match in _URL_ATTR_RE.finditer(marked.replace(_TOKEN, "")):
        value = _attr_value(match)[0]
        if not _url_is_safe(value):
            found.append(
                f"unsafe URL {value!r} in {match.group('name')!r}: only http(s), mailto:, "
                "tel: and relative URLs are allowed"
            )
    return found


def _walk(template: BoundTemplate) -> Iterator[tuple[Node, bool]]:
    """Yield every node of `template`, and whether it renders inside `{% capture %}`."""
    static = RenderContext(template)
    pending = [(node, False) for node in template.nodes]
    while pending:
        node, captured = pending.pop()
        yield node, captured
        inner = captured or isinstance(node, CaptureNode)
        pending.extend((child, inner) for child in node.children(static, include_partials=False))


def _filters_in(expression: Expression) -> Iterator[Filter]:
    if isinstance(expression, FilteredExpression):
        yield from expression.filters or ()
    elif isinstance(expression, TernaryFilteredExpression):
        # Its children() skip the left-hand expression's own filters.
        yield from expression.left.filters or ()
        yield from expression.filters or ()
        yield from expression.tail_filters or ()
    for child in expression.children():
        yield from _filters_in(child)


def _format_filter_problems(template: BoundTemplate) -> list[str]:
    found: list[str] = []
    for node, _ in _walk(template):
        for expression in node.expressions():
            for item in _filters_in(expression):
                if checked := _FORMAT_FILTERS.get(item.name):
                    found.extend(checked.problems(item))
    return found


def _mask(markup: re.Match[str]) -> str:
    # Same-length filler keeps positions; a URL may run on through {% if %} but not
    # past a capture or assign, whose text is not printed there.
    filler = " " if _UNPRINTED_TAG_RE.match(markup[0]) else _TOKEN
    return filler * len(markup[0])


def _not_isolated_spans(source: str, *, as_html: bool) -> list[tuple[int, int]]:
    masked = _LIQUID_MARKUP_RE.sub(_mask, source)
    spans = [word.span() for word in _WORD_RE.finditer(masked) if _URL_START_RE.search(word[0])]
    if as_html:
        spans += [match.span() for match in _NOT_TEXT_RE.finditer(masked)]
    return spans


def _mark_isolation(template: BoundTemplate, source: str, *, as_html: bool) -> None:
    """Clear `isolate` on outputs in markup, in URLs and in captures (a variable, not text)."""
    spans = _not_isolated_spans(source, as_html=as_html)
    for node, captured in _walk(template):
        if isinstance(node, _OutputNode):
            start = node.token.start_index
            node.isolate = not captured and not any(a <= start < b for a, b in spans)


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
        try:
            template = (_HTML_ENV if as_html else _TEXT_ENV).from_string(source)
        except LiquidError as err:
            hint = _BRACES_HINT if _BRACES_IN_STRING_RE.search(source) else ""
            self.problems.append((path, f"template does not parse: {_describe(err)}{hint}"))
            return None
        found = self._check_variables(template) + _format_filter_problems(template)
        found += _html_problems(source) if as_html else []
        self.problems.extend((path, message) for message in dict.fromkeys(found))
        if found:
            return None
        _mark_isolation(template, source, as_html=as_html)
        scrub = as_html and ("{{" in source or "{%" in source)
        return _Template(path, template, scrub)

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


def _render(compiled: _Template, data: Mapping[str, Any], reader: _Reader) -> str:
    template = compiled.template
    buffer = StringIO()
    try:
        template.render_with_context(_MessageContext(template, globals=data, reader=reader), buffer)
    except Exception as err:
        # Callers get one exception type naming the field, whatever failed inside Liquid.
        message = err.message if isinstance(err, LiquidError) else f"{_kind(err)}: {err}"
        raise RenderError(compiled.path, str(message)) from err
    text = buffer.getvalue()
    return _scrub_urls(text) if compiled.scrub_urls else text


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
        rendered[item.name] = _render(template, data, _reader(field_locale, timezone))
    return rendered


def _contact_timezone(data: Mapping[str, Any]) -> str | None:
    contact = data.get("contact")
    zone = contact.get("timezone") if isinstance(contact, Mapping) else None
    return zone if isinstance(zone, str) and is_time_zone(zone) else None
