"""Keep HTML message content safe: no Liquid output inside tags, only allow-listed URL schemes."""

from __future__ import annotations

import html
import re

__all__ = ["OUTPUT_MARK", "SAFE_URL_SCHEMES", "html_problems", "scrub_urls"]

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
# Stands in for an output statement while checking where in the HTML it sits.
OUTPUT_MARK = "\ue000"
_START_TAG_RE = re.compile(r"<[A-Za-z\ue000](?:\"[^\"]*\"|'[^']*'|[^'\">])*")
_QUOTED_RE = re.compile(r"\"[^\"]*\"|'[^']*'")
# Values the browser runs (event handlers) or parses as a document (srcdoc): escaping
# keeps data inside the quotes, where it is still code.
_CODE_ATTR_RE = re.compile(
    r"""(?<=[\t\n\f\r /"'])(?:on[a-z]+|srcdoc)[\t\n\f\r ]*=[\t\n\f\r ]*("[^"]*"|'[^']*')""",
    re.IGNORECASE,
)


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


def scrub_urls(rendered: str) -> str:
    """Replace every URL attribute value with an unsafe scheme in rendered HTML by "#"."""
    parts: list[str] = []
    last = 0
    for match in _URL_ATTR_RE.finditer(rendered):
        value, start, end = _attr_value(match)
        if not _url_is_safe(value):
            # Only the value is replaced, keeping its quotes, so the markup stays well formed.
            parts += (rendered[last:start], "#")
            last = end
    return "".join([*parts, rendered[last:]]) if parts else rendered


def html_problems(source: str) -> list[str]:
    """Problems in an HTML template's source: output where escaping cannot help, unsafe URLs."""
    found: list[str] = []
    marked = _LIQUID_TAG_RE.sub("", _LIQUID_OUTPUT_RE.sub(OUTPUT_MARK, source))
    # Escaping cannot stop data in a tag name, attribute name or unquoted value from
    # adding attributes such as onerror=, so output there is refused outright.
    if any(OUTPUT_MARK in _QUOTED_RE.sub("", tag[0]) for tag in _START_TAG_RE.finditer(marked)):
        found.append("{{ }} inside an HTML tag must be within a quoted attribute value")
    if any(
        OUTPUT_MARK in value
        for tag in _START_TAG_RE.finditer(marked)
        for value in _CODE_ATTR_RE.findall(tag[0])
    ):
        found.append(
            "{{ }} inside an event handler or srcdoc attribute would run contact data as code"
        )
    # Marks are removed so they can neither hide nor fake a literal scheme; URLs that
    # only become unsafe once outputs render are scrubbed at render time.
    for match in _URL_ATTR_RE.finditer(marked.replace(OUTPUT_MARK, "")):
        value = _attr_value(match)[0]
        if not _url_is_safe(value):
            found.append(
                f"unsafe URL {value!r} in {match.group('name')!r}: only http(s), mailto:, "
                "tel: and relative URLs are allowed"
            )
    return found
