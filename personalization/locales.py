"""Locale tag normalisation, fallback chains and text direction for localised message content."""

from __future__ import annotations

import functools
import re
from collections.abc import Collection

__all__ = ["is_rtl", "locale_chain", "normalize_locale", "pick_locale"]

# Loose BCP 47 shape: an ISO 639 language code, then 1-8 character subtags. Longer
# language subtags are legal but unused, and usually a mistake like "english".
_TAG_RE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*")
_ALPHA_RE = re.compile(r"[A-Za-z]+")
# Most tags already arrive canonical ("fa", "fa-IR"); recognising them skips the rebuild.
_CANONICAL_RE = re.compile(r"[a-z]{2,3}(?:-[A-Z]{2})?")

# Language codes ISO 639 withdrew that devices still send: Java's Locale (Android before
# API 33, older JVMs) reports Hebrew as "iw", Indonesian as "in" and Yiddish as "ji".
_REPLACED_LANGUAGES = {"iw": "he", "in": "id", "ji": "yi", "jw": "jv", "mo": "ro"}

_RTL_LANGUAGES = frozenset({"fa", "he", "ar", "ur", "ps", "yi", "dv", "ckb", "sd", "ug"})
_RTL_SCRIPTS = frozenset({"Arab", "Hebr", "Thaa", "Syrc", "Nkoo", "Adlm", "Rohg", "Mand"})


def normalize_locale(tag: str) -> str | None:
    """Return `tag` in canonical BCP 47 form ("fa_ir" -> "fa-IR", "iw" -> "he"), or None
    if malformed."""
    if _CANONICAL_RE.fullmatch(tag) and tag.partition("-")[0] not in _REPLACED_LANGUAGES:
        return tag
    # POSIX locales ("fa_IR.UTF-8", "sr_RS@latin") arrive from device settings; the
    # codeset and modifier say nothing about the language we should pick.
    candidate = tag.strip().split(".", 1)[0].split("@", 1)[0].replace("_", "-")
    if not _TAG_RE.fullmatch(candidate):
        return None
    language, *rest = candidate.split("-")
    language = language.lower()
    parts = [_REPLACED_LANGUAGES.get(language, language)]
    in_extension = False
    for subtag in rest:
        # RFC 5646 casing applies only before the first singleton; extension and
        # private-use subtags are conventionally lowercase.
        if len(subtag) == 1:
            in_extension = True
            parts.append(subtag.lower())
        elif in_extension:
            parts.append(subtag.lower())
        elif len(subtag) == 2 and _ALPHA_RE.fullmatch(subtag):
            parts.append(subtag.upper())
        elif len(subtag) == 4 and _ALPHA_RE.fullmatch(subtag):
            parts.append(subtag.title())
        else:
            parts.append(subtag.lower())
    return "-".join(parts)


def _truncations(tag: str) -> list[str]:
    parts = tag.split("-")
    out = []
    for end in range(len(parts), 0, -1):
        # RFC 4647 lookup: never stop on a dangling singleton such as "en-US-u".
        if len(parts[end - 1]) == 1:
            continue
        out.append("-".join(parts[:end]))
    return out


@functools.lru_cache(maxsize=1024)  # per render, twice, on a handful of distinct locales
def locale_chain(requested: str | None, default: str) -> tuple[str, ...]:
    """Return the lookup order for `requested`, most specific first, ending with `default`.

    ("zh-Hant-TW", "en") -> ("zh-Hant-TW", "zh-Hant", "zh", "en"). A malformed or
    missing `requested` is ignored (it comes from contact data); `default` is expanded
    the same way ("en-US" adds "en") and must be well formed.
    """
    normalized_default = normalize_locale(default)
    if normalized_default is None:
        raise ValueError(f"default locale {default!r} is not a valid locale tag")
    chain: list[str] = []
    normalized = normalize_locale(requested) if requested else None
    for tag in (normalized, normalized_default):
        if tag is None:
            continue
        for candidate in _truncations(tag):
            if candidate not in chain:
                chain.append(candidate)
    return tuple(chain)


def pick_locale(available: Collection[str], requested: str | None, default: str) -> str | None:
    """Return the entry of `available` that best serves `requested`, as spelled in `available`.

    Walks `locale_chain(requested, default)` matching case-insensitively (and "_" as
    "-"); if nothing matches, returns the alphabetically first available locale so the
    choice never depends on set iteration order; None only when `available` is empty.
    """
    if not available:
        return None
    ordered = sorted(available)
    by_key: dict[str, str] = {}
    for name in ordered:
        # Keys that are not valid tags can still match verbatim (case-insensitively).
        key = (normalize_locale(name) or name).lower()
        by_key.setdefault(key, name)
    for candidate in locale_chain(requested, default):
        hit = by_key.get(candidate.lower())
        if hit is not None:
            return hit
    return ordered[0]


def is_rtl(locale: str) -> bool:
    """Return True if text in `locale` is written right to left.

    An explicit script subtag decides ("sd-Deva" is LTR, "az-Arab" is RTL); otherwise
    the language subtag does. Malformed tags are treated as LTR.
    """
    normalized = normalize_locale(locale)
    if normalized is None:
        return False
    language, *rest = normalized.split("-")
    for subtag in rest:
        if len(subtag) == 1:
            break
        if len(subtag) == 4 and _ALPHA_RE.fullmatch(subtag):
            return subtag in _RTL_SCRIPTS
    return language in _RTL_LANGUAGES
