"""Render the common template shape, text and `{{ root.a.b | default: 'x' }}`, without Liquid.

Most message content is text around a few outputs of contact fields. Liquid renders those
through a render context, an expression tree and filter dispatch per field per send; this
renders them from a flat plan decided once at compile time, with Liquid's own path lookup,
`default` filter and stringification, and isolation.py's isolates, so the output is the
same to the character. Anything else (another filter, a tag, an index, a variable key)
keeps the Liquid path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from io import IncrementalNewlineDecoder
from typing import Any

from liquid import BoundTemplate, RenderContext, Undefined
from liquid.builtin.content import ContentNode
from liquid.builtin.expressions import FilteredExpression, Path, PositionalArgument, StringLiteral
from liquid.stringify import to_liquid_string

from personalization.isolation import _OutputNode, isolated

__all__ = ["SimpleTemplate", "simple_template"]


@dataclass(frozen=True, eq=False, slots=True)
class _Output:
    root: str
    segments: tuple[str, ...]
    # The `default:` literal as Liquid evaluates it (Markup under autoescape), if any.
    default: object | None
    isolate: bool
    # What Liquid resolves a missing path to (the environment's lax Undefined).
    undefined: Undefined


@dataclass(frozen=True, eq=False, slots=True)
class SimpleTemplate:
    """A template of text and simple outputs, rendered as Liquid would render it."""

    parts: tuple[str | _Output, ...]
    autoescape: bool
    # Liquid's own item getter (`size`, `first`, `last`, strings), bound to the environment.
    get_item: Callable[[Any, Any], Any]
    default_filter: Callable[..., Any]

    def _value(self, output: _Output, data: Mapping[str, Any]) -> object:
        # RenderContext.get: a missing root, key or index is Undefined; other errors raise.
        try:
            obj = data[output.root]
        except (KeyError, TypeError, IndexError):
            return output.undefined
        get_item = self.get_item
        for segment in output.segments:
            try:
                obj = get_item(obj, segment)
            except (KeyError, TypeError, IndexError):
                return output.undefined
        return obj

    def render(self, data: Mapping[str, Any], *, rtl: bool, limit: int) -> str | None:
        """Return the output, or None where Liquid would fail: let Liquid raise its own error.

        `limit` is the output buffer's bound in UTF-8 bytes.
        """
        pieces: list[str] = []
        autoescape = self.autoescape
        for part in self.parts:
            if isinstance(part, str):
                pieces.append(part)
                continue
            value = self._value(part, data)
            if part.default is not None:
                value = self.default_filter(value, part.default)
            text = to_liquid_string(value, autoescape)
            pieces.append(isolated(text, isolate=part.isolate, rtl=rtl))
        raw = "".join(pieces)
        # LimitedStringIO counts each write's UTF-8 bytes before newline translation;
        # encoding also fails, as there, on a lone surrogate.
        try:
            if len(raw) * 4 > limit and len(raw.encode("utf-8")) > limit:
                return None
            if not raw.isascii():
                raw.encode("utf-8")
        except UnicodeEncodeError:
            return None
        if "\r" not in raw:
            return raw
        # The buffer translates newlines per write (newline=None): "\r" ending one write
        # and "\n" starting the next are two newlines, so translate piece by piece.
        return "".join(_translate_newlines(piece) for piece in pieces)


def _translate_newlines(text: str) -> str:
    return IncrementalNewlineDecoder(None, translate=True).decode(text, final=True)


def _default_literal(expression: FilteredExpression, context: RenderContext) -> object | None:
    """The `default:` argument if the filters are exactly one `default` with a string literal."""
    filters = expression.filters or []
    if not filters:
        return None
    if len(filters) != 1 or filters[0].name != "default" or len(filters[0].args) != 1:
        raise _NotSimple
    (argument,) = filters[0].args
    if type(argument) is not PositionalArgument or type(argument.value) is not StringLiteral:
        raise _NotSimple
    return argument.value.evaluate(context)


class _NotSimple(Exception):
    pass


def _output(node: _OutputNode, context: RenderContext) -> _Output:
    expression = node.expression
    if type(expression) is not FilteredExpression or type(expression.left) is not Path:
        raise _NotSimple
    path = expression.left.path
    if not all(isinstance(segment, str) for segment in path):
        raise _NotSimple  # an integer index or a nested path as key
    root, *segments = path
    assert isinstance(root, str)
    default = _default_literal(expression, context)
    undefined = context.env.undefined(root, token=expression.left.token)
    return _Output(root, tuple(map(str, segments)), default, node.isolate, undefined)


def simple_template(template: BoundTemplate, roots: tuple[str, ...]) -> SimpleTemplate | None:
    """A plan for `template` if it is only text and simple outputs under `roots`, else None.

    Call after isolation is marked: each output's `isolate` flag is read here.
    """
    env = template.env
    default_filter = env.filters.get("default")
    if (
        env.undefined is not Undefined  # strict or debug undefined values print or raise
        or default_filter is None
        or getattr(default_filter, "with_context", False)
        or getattr(default_filter, "with_environment", False)
    ):
        return None
    context = RenderContext(template)
    parts: list[str | _Output] = []
    try:
        for node in template.nodes:
            if type(node) is ContentNode:
                parts.append(node.text)
            elif type(node) is _OutputNode:
                output = _output(node, context)
                if output.root not in roots:
                    return None
                parts.append(output)
            else:
                return None
    except _NotSimple:
        return None
    return SimpleTemplate(tuple(parts), context.autoescape, context.get_item, default_filter)
