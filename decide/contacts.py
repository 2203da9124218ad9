"""Contact profiles: the attributes decide keeps per contact, validated by type.

A profile is stored as one Redis hash of JSON values, flattened one level for `consent` and
`custom` (`consent.email`, `custom.plan`), so a PATCH is field writes and deletes — never a
read-modify-write — and a profile of ten fields stays a compact listpack.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson

from decide.config.checks import (
    KEY_PATTERN,
    Checks,
    join,
    parse_timezone,
    string_problem,
    type_name,
)
from personalization import channels as channel_model
from personalization.locales import normalize_locale

# The channels that message a person, in the placements' order; each takes a consent flag.
OUTBOUND = tuple(c for c in channel_model.CHANNELS if c in channel_model.OUTBOUND)
CONSENT_CHANNELS = channel_model.CHANNELS
STAGES = ("subscriber", "lead", "mql", "sql", "opportunity", "customer", "evangelist")
NESTED = ("consent", "custom")  # maps kept as one hash field per entry

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")
_PHONE = re.compile(r"^\+[1-9][0-9]{6,14}$")  # E.164
_BIRTHDAY = re.compile(r"^(?:[0-9]{4}|--)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
MAX_CUSTOM = 50
MAX_TEXT = 1000


def _text(c: Checks, value: Any, path: str, max_len: int = 200) -> None:
    if (problem := string_problem(value)) is not None:
        c.fail(path, problem)
    elif len(value) > max_len:
        c.fail(path, f"must be at most {max_len} characters")


def _pattern(pattern: re.Pattern[str], rule: str) -> Any:
    def check(c: Checks, value: Any, path: str) -> None:
        if not isinstance(value, str) or not pattern.match(value):
            c.fail(path, rule)

    return check


def _locale(c: Checks, value: Any, path: str) -> None:
    if not isinstance(value, str) or normalize_locale(value) is None:
        c.fail(path, "must be a locale tag like 'fa-IR', 'he' or 'en-US'")


def _timezone(c: Checks, value: Any, path: str) -> None:
    parse_timezone(c, value, path)


def _stage(c: Checks, value: Any, path: str) -> None:
    if value not in STAGES:
        c.fail(path, f"must be one of {', '.join(STAGES)}")


def _tokens(c: Checks, value: Any, path: str) -> None:
    if (
        not isinstance(value, list)
        or len(value) > 10
        or not all(isinstance(t, str) and 0 < len(t) <= 4096 for t in value)
    ):
        c.fail(path, "must be a list of at most 10 device tokens (non-empty strings)")


def _flag(c: Checks, value: Any, path: str) -> None:
    if not isinstance(value, bool):
        c.fail(path, f"must be true or false, got {type_name(value)}")


# The standard attributes: the only top-level `contact.*` names templates may read, besides
# `contact_id`, `segments` (computed) and `custom.*` (anything the customer adds).
STANDARD: dict[str, Any] = {
    "first_name": _text,
    "last_name": _text,
    "email": _pattern(_EMAIL, "must be an email address like sara@example.com"),
    "phone": _pattern(_PHONE, "must be an E.164 phone number like +989121234567"),
    "locale": _locale,
    "timezone": _timezone,
    "birthday": _pattern(_BIRTHDAY, "must be a date YYYY-MM-DD (or --MM-DD without a year)"),
    "lifecycle_stage": _stage,
    "city": _text,
    "country": _pattern(_COUNTRY, "must be an ISO 3166 alpha-2 code like IR or IL"),
    "push_tokens": _tokens,
    "web_push": _flag,
    "consent": None,  # checked per channel below
    "custom": None,
}
# Names a template may read under `contact.`: stored or computed.
TEMPLATE_FIELDS = frozenset({*STANDARD, "contact_id", "segments", "lead_score"})


def _custom_value(c: Checks, value: Any, path: str) -> None:
    scalar = (str, int, float, bool)
    if isinstance(value, str) and len(value) > MAX_TEXT:
        c.fail(path, f"must be at most {MAX_TEXT} characters")
    elif isinstance(value, list):
        if len(value) > 100 or not all(isinstance(v, scalar) for v in value):
            c.fail(path, "must be a list of at most 100 strings, numbers or booleans")
    elif not isinstance(value, scalar):
        c.fail(path, f"must be a string, number, boolean or list of them, got {type_name(value)}")


def validate_attributes(
    doc: Mapping[str, Any], path: str = "attributes", *, patch: bool = False
) -> list[Any]:
    """Every problem in a profile (or, with `patch`, a merge patch where null deletes)."""
    c = Checks()
    for name, value in doc.items():
        where = join(path, name)
        if name not in STANDARD:
            c.fail(where, f"unknown attribute; custom attributes go under {join(path, 'custom')}")
        elif value is None and patch:
            continue
        elif name in NESTED:
            _check_nested(c, name, value, where, patch)
        else:
            STANDARD[name](c, value, where)
    return c.problems


def _check_nested(c: Checks, name: str, value: Any, where: str, patch: bool) -> None:
    if not isinstance(value, dict):
        c.fail(where, f"must be an object, got {type_name(value)}")
        return
    if name == "custom" and len(value) > MAX_CUSTOM:
        c.fail(where, f"at most {MAX_CUSTOM} custom attributes")
    for key, item in value.items():
        inner = join(where, key)
        if name == "consent":
            if key not in CONSENT_CHANNELS:
                c.fail(inner, f"unknown channel; one of {', '.join(CONSENT_CHANNELS)}")
            elif not (item is None and patch):
                _flag(c, item, inner)
        elif not KEY_PATTERN.match(key):
            c.fail(inner, "custom attribute names are 1-64 letters, digits, '_', '.', '-'")
        elif not (item is None and patch):
            _custom_value(c, item, inner)


def flatten(doc: Mapping[str, Any]) -> tuple[dict[str, bytes], list[str]]:
    """Hash fields to set (JSON values) and to delete (a null in a merge patch). A nested
    map set to null deletes all its fields: returned as the prefix `consent.`."""
    sets: dict[str, bytes] = {}
    deletes: list[str] = []
    for name, value in doc.items():
        if name in NESTED and isinstance(value, dict):
            for key, item in value.items():
                field = f"{name}.{key}"
                if item is None:
                    deletes.append(field)
                else:
                    sets[field] = orjson.dumps(item)
        elif value is None:
            deletes.append(name + "." if name in NESTED else name)
        else:
            sets[name] = orjson.dumps(value)
    return sets, deletes


def consent_given(doc: Mapping[str, Any]) -> list[str]:
    """Channels this write consents to: their suppression ends (DESIGN.md: until consent is
    given again)."""
    consent = doc.get("consent")
    if not isinstance(consent, dict):
        return []
    return [channel for channel, given in consent.items() if given is True]


def unflatten(stored: Mapping[bytes, bytes]) -> dict[str, Any]:
    """The profile as attributes again; a field that is not JSON is skipped, not fatal."""
    out: dict[str, Any] = {}
    for raw_field, raw_value in stored.items():
        field = raw_field.decode()
        try:
            value = orjson.loads(raw_value)
        except orjson.JSONDecodeError:
            continue
        head, dot, key = field.partition(".")
        if dot and head in NESTED:
            out.setdefault(head, {})[key] = value
        else:
            out[field] = value
    return out


def merged_attributes(stored: Mapping[str, Any], request: Mapping[str, Any]) -> dict[str, Any]:
    """Request attributes override the stored profile for this decision only; nested maps
    (consent, custom) merge one level deep, so a request can add one consent flag."""
    out = dict(stored)
    for name, value in request.items():
        if name in NESTED and isinstance(value, dict) and isinstance(out.get(name), dict):
            out[name] = {**out[name], **value}
        else:
            out[name] = value
    return out
