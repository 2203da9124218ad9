"""Isolate Liquid output inside right-to-left text, except where isolates would break it."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TextIO

from liquid import RenderContext
from liquid.ast import Node
from liquid.builtin.output import Output, OutputNode
from liquid.builtin.tags.echo_tag import EchoNode, EchoTag
from liquid.expression import Expression
from liquid.stringify import to_liquid_string
from liquid.token import Token

from personalization.html_safety import OUTPUT_MARK
from personalization.liquid_filters import reader_of

__all__ = ["IsolatingEcho", "IsolatingOutput", "isolated", "mark_isolation"]

# First Strong Isolate ... Pop Directional Isolate: a Latin name, number or email inside
# Persian or Hebrew text keeps its own direction and cannot reorder the words around it.
_FSI, _PDI = "\u2068", "\u2069"
# Embeddings, overrides and isolates inside a value would close our isolate early or
# swallow its end (UAX #9 pairs a PDI with the nearest open isolate): dropped from values.
_BIDI_CONTROLS_RE = re.compile("[\u202a-\u202e\u2066-\u2069]")
# HTML where isolates would corrupt markup instead of ordering text: raw-text elements,
# comments and tags (so attribute values and their URLs stay valid).
_NOT_TEXT_RE = re.compile(
    r"<(script|style)\b.*?</\1\s*>|<!--.*?-->"
    r"|</?[A-Za-z\ue000](?:\"[^\"]*\"|'[^']*'|[^'\">])*>?",
    re.DOTALL | re.IGNORECASE,
)
# Right-to-left letters (Hebrew, Arabic, Syriac, Thaana, N'Ko... and their presentation
# forms): a value holding any also needs an isolate in left-to-right text, where digits or
# punctuation after it would otherwise join its run ("Hi مریم 3" shows as "Hi 3 مریم").
_RTL_CHAR_RE = re.compile(
    "[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefe\U00010800-\U00010fff\U0001e800-\U0001efff]"
)
# Linkifiers in SMS and mail apps would take a closing isolate into the URL.
_URL_START_RE = re.compile(r"[a-z][a-z0-9+.-]*://|www\.|mailto:|tel:|sms:", re.IGNORECASE)
_WORD_RE = re.compile(r"\S+")
_LIQUID_MARKUP_RE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)
_UNPRINTED_TAG_RE = re.compile(r"\{%-?\s*(?:end)?(?:capture|assign|comment|doc|#)")


def isolated(text: str, *, isolate: bool, rtl: bool) -> str:
    """An output's text as written: bidi controls dropped, isolated where `isolate` and the
    text around it (`rtl`) or the value itself is right to left."""
    # Always, isolated or not: a value's own override or stray isolate would reorder the
    # template's text around it (a link's text, a left-to-right subject alike).
    text = _BIDI_CONTROLS_RE.sub("", text)
    # Empty output stays empty, so `default:` and blank checks behave as before.
    if not text or not isolate or _URL_START_RE.match(text):
        return text
    if not rtl and (text.isascii() or not _RTL_CHAR_RE.search(text)):
        return text
    return f"{_FSI}{text}{_PDI}"


class _OutputNode(OutputNode):
    """An output statement that wraps its value in isolates inside right-to-left text."""

    __slots__ = ("isolate",)

    def __init__(self, token: Token, expression: Expression) -> None:
        super().__init__(token, expression)
        # Cleared at compile time where isolates would corrupt markup, a URL or a capture.
        self.isolate = True

    def _isolated(self, text: str, context: RenderContext) -> str:
        return isolated(text, isolate=self.isolate, rtl=reader_of(context).rtl)

    def render_to_output(self, context: RenderContext, buffer: TextIO) -> int:
        text = to_liquid_string(self.expression.evaluate(context), context.autoescape)
        return buffer.write(self._isolated(text, context))

    async def render_to_output_async(self, context: RenderContext, buffer: TextIO) -> int:
        value = await self.expression.evaluate_async(context)
        return buffer.write(self._isolated(to_liquid_string(value, context.autoescape), context))


class _EchoNode(_OutputNode, EchoNode):
    __slots__ = ()


class IsolatingOutput(Output):
    node_class = _OutputNode


class IsolatingEcho(EchoTag):
    node_class = _EchoNode


def _mask(markup: re.Match[str]) -> str:
    # Same-length filler keeps positions; a URL may run on through {% if %} but not
    # past a capture or assign, whose text is not printed there.
    filler = " " if _UNPRINTED_TAG_RE.match(markup[0]) else OUTPUT_MARK
    return filler * len(markup[0])


def _not_isolated_spans(source: str, *, as_html: bool) -> list[tuple[int, int]]:
    masked = _LIQUID_MARKUP_RE.sub(_mask, source)
    spans = [word.span() for word in _WORD_RE.finditer(masked) if _URL_START_RE.search(word[0])]
    if as_html:
        spans += [match.span() for match in _NOT_TEXT_RE.finditer(masked)]
    return spans


def mark_isolation(nodes: Iterable[tuple[Node, bool]], source: str, *, as_html: bool) -> None:
    """Clear `isolate` on outputs in markup, in URLs and in captures (a variable, not text).

    `nodes` are the template's nodes, each with whether it renders inside `{% capture %}`.
    """
    spans = _not_isolated_spans(source, as_html=as_html)
    for node, captured in nodes:
        if isinstance(node, _OutputNode):
            start = node.token.start_index
            node.isolate = not captured and not any(a <= start < b for a, b in spans)
