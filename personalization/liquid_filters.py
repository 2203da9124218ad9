"""Locale-aware Liquid formatting filters, and the render context that tells them the reader."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar

from liquid import BoundTemplate, RenderContext, is_undefined
from liquid.ast import Node
from liquid.builtin.expressions import (
    Filter,
    FilteredExpression,
    KeywordArgument,
    Literal,
    TernaryFilteredExpression,
)
from liquid.expression import Expression

from personalization.formatting import (
    FormatError,
    format_currency,
    format_date,
    format_datetime,
    format_message,
    format_number,
    to_number,
)
from personalization.locales import is_rtl

__all__ = [
    "FORMAT_FILTERS",
    "MessageContext",
    "Reader",
    "format_filter_problems",
    "reader_for",
    "reader_of",
]


@dataclass(frozen=True)
class Reader:
    """Who a render is for: the locale the message is shown in and the contact's time zone."""

    locale: str
    timezone: str | None
    rtl: bool


@lru_cache(maxsize=1024)
def reader_for(locale: str, timezone: str | None) -> Reader:
    return Reader(locale, timezone, is_rtl(locale))


_DEFAULT_READER = reader_for("en", None)


class MessageContext(RenderContext):
    """A render context that hands its reader to the formatting filters and outputs."""

    __slots__ = ("reader",)

    def __init__(
        self,
        template: BoundTemplate,
        *,
        globals: Mapping[str, object] | None = None,
        reader: Reader = _DEFAULT_READER,
        **kwargs: Any,
    ) -> None:
        super().__init__(template, globals=globals, **kwargs)
        self.reader = reader


def reader_of(context: RenderContext) -> Reader:
    return context.reader if isinstance(context, MessageContext) else _DEFAULT_READER


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
            return self.apply(value, *map(_defined, args), reader=reader_of(context), **named)
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
    value: object, style: Any = "medium", *, calendar: Any = None, tz: Any = None, reader: Reader
) -> str:
    return format_date(value, reader.locale, style, tz=tz or reader.timezone, calendar=calendar)


def _datetime(
    value: object, style: Any = "medium", *, calendar: Any = None, tz: Any = None, reader: Reader
) -> str:
    zone = tz or reader.timezone
    return format_datetime(value, reader.locale, style, tz=zone, calendar=calendar)


def _number(value: object, decimals: Any = None, *, reader: Reader) -> str:
    return format_number(value, reader.locale, decimals)


def _currency(value: object, currency: Any, *, reader: Reader) -> str:
    return format_currency(value, currency, reader.locale)


def _message(
    kind: str, pattern: Any, n: object, reader: Reader, arguments: dict[str, object]
) -> str:
    if not isinstance(pattern, str):
        raise FormatError(f"expected ICU {kind} cases, got {pattern!r}")
    # Cases alone ("one {# item} other {# items}") spare authors the closing "}}" that
    # would end the {{ }} early; a whole pattern starts with "{".
    if not pattern.lstrip().startswith("{"):
        pattern = f"{{n, {kind}, {pattern}}}"
    values = {name: "" if arg is None else arg for name, arg in arguments.items()}
    return format_message(pattern, reader.locale, values | {"n": n}, tz=reader.timezone)


def _plural(value: object, cases: Any, *, reader: Reader, **arguments: object) -> str:
    return _message("plural", cases, to_number(value), reader, arguments)


def _select(value: object, cases: Any, *, reader: Reader, **arguments: object) -> str:
    key = str(value).lower() if isinstance(value, bool) else str(value)
    return _message("select", cases, key, reader, arguments)


# Each reads the render's locale; `plural` and `select` take ICU cases (or a pattern) over `n`.
FORMAT_FILTERS = {
    "format_date": _FormatFilter(_date, 0),
    "format_datetime": _FormatFilter(_datetime, 0),
    "format_number": _FormatFilter(_number, 1),
    "format_currency": _FormatFilter(_currency, 1),
    "plural": _FormatFilter(_plural, 1),
    "select": _FormatFilter(_select, "other"),
}


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


def format_filter_problems(nodes: Iterable[Node]) -> list[str]:
    """Problems in the formatting filters used by `nodes`: bad arguments, bad literal values."""
    found: list[str] = []
    for node in nodes:
        for expression in node.expressions():
            for item in _filters_in(expression):
                if checked := FORMAT_FILTERS.get(item.name):
                    found.extend(checked.problems(item))
    return found
