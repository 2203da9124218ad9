"""Small validators that collect every problem with the path of the bad field."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from decide.errors import Problem

KEY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
KEY_RULE = (
    "must be 1-64 characters of letters, digits, '_', '.', '-', starting with a letter or digit"
)
# Event types as events carry them; a configured event name that does not match never arrives.
EVENT_TYPE_PATTERN = re.compile(r"^[a-z][a-z0-9_.:-]{0,63}$")
EVENT_TYPE_RULE = "must be a lowercase event name like 'click' or 'trial_started'"
_MISSING: Any = object()


class Checks:
    """Accumulates problems so one response names every bad field."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def fail(self, path: str, reason: str) -> None:
        self.problems.append(Problem(path, reason))

    def ok(self) -> bool:
        return not self.problems

    def mapping(self, value: Any, path: str) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.fail(path, f"must be an object, got {type_name(value)}")
            return None
        return value

    def unknown_fields(self, doc: dict[str, Any], known: set[str], path: str = "") -> None:
        for name in doc:
            if name not in known:
                self.fail(join(path, name), "unknown field")

    def _field(
        self, doc: dict[str, Any], name: str, path: str, default: Any
    ) -> tuple[bool, Any, str]:
        """(present, value, path of the field); a missing required field is recorded here.
        A default of None makes the field optional."""
        value = doc.get(name, default)
        where = join(path, name)
        if value is _MISSING:
            self.fail(where, "is required")
            return False, None, where
        return not (value is None and default is None), value, where

    def string(
        self,
        doc: dict[str, Any],
        name: str,
        path: str,
        *,
        default: Any = _MISSING,
        pattern: re.Pattern[str] | None = None,
        rule: str = "",
        max_len: int = 256,
        choices: tuple[str, ...] | None = None,
    ) -> str | None:
        present, value, where = self._field(doc, name, path, default)
        if not present:
            return None
        if (problem := string_problem(value)) is not None:
            self.fail(where, problem)
            return None
        if len(value) > max_len:
            self.fail(where, f"must be at most {max_len} characters")
            return None
        if choices is not None and value not in choices:
            self.fail(where, f"must be one of {', '.join(choices)}; got {value!r}")
            return None
        if pattern is not None and not pattern.match(value):
            self.fail(where, rule or f"must match {pattern.pattern}")
            return None
        return value

    def key(self, doc: dict[str, Any], name: str, path: str, **kw: Any) -> str | None:
        return self.string(doc, name, path, pattern=KEY_PATTERN, rule=KEY_RULE, max_len=64, **kw)

    def number(
        self,
        doc: dict[str, Any],
        name: str,
        path: str,
        *,
        default: Any = _MISSING,
        low: float | None = None,
        high: float | None = None,
        integer: bool = False,
    ) -> float | None:
        present, value, where = self._field(doc, name, path, default)
        if not present:
            return None
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            self.fail(where, f"must be a number, got {type_name(value)}")
            return None
        if integer and not float(value).is_integer():
            self.fail(where, "must be a whole number")
            return None
        if (low is not None and value < low) or (high is not None and value > high):
            self.fail(where, f"must be between {low} and {high}; got {value}")
            return None
        return value

    def boolean(self, doc: dict[str, Any], name: str, path: str, *, default: bool) -> bool:
        value = doc.get(name, default)
        if not isinstance(value, bool):
            self.fail(join(path, name), f"must be true or false, got {type_name(value)}")
            return default
        return value

    def string_list(
        self, doc: dict[str, Any], name: str, path: str, *, default: Any = _MISSING
    ) -> list[str] | None:
        value = doc.get(name, default)
        where = join(path, name)
        if value is _MISSING:
            self.fail(where, "is required")
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.fail(where, "must be a list of non-empty strings")
            return None
        if len(set(value)) != len(value):
            self.fail(where, "must not repeat a value")
            return None
        return value


def string_problem(value: Any) -> str | None:
    """Why `value` is not a non-empty string, or None when it is one."""
    if not isinstance(value, str):
        return f"must be a non-empty string, got {type_name(value)}"
    return None if value else "must not be empty"


def join(path: str, name: str | int) -> str:
    if isinstance(name, int):
        return f"{path}[{name}]"
    return f"{path}.{name}" if path else name


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {
        bool: "boolean",
        int: "number",
        float: "number",
        str: "string",
        list: "array",
        dict: "object",
    }.get(type(value), type(value).__name__)


def parse_time(c: Checks, value: Any, path: str) -> datetime | None:
    if not isinstance(value, str):
        c.fail(
            path,
            f"must be an ISO 8601 time with a zone (2026-11-24T18:02:11Z), got {type_name(value)}",
        )
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        c.fail(path, f"is not an ISO 8601 time: {value!r}")
        return None
    if moment.tzinfo is None:
        c.fail(path, "must carry a time zone (Z or +03:30)")
        return None
    return moment.astimezone(UTC)


def parse_timezone(c: Checks, value: Any, path: str) -> ZoneInfo | None:
    if not isinstance(value, str) or not value:
        c.fail(path, "must be an IANA time zone name like Asia/Tehran")
        return None
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        c.fail(path, f"is not a known IANA time zone: {value!r}")
        return None
