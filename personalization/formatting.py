"""Format dates, numbers, money and ICU plural/select messages for a locale, through ICU."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import TypeAlias
from zoneinfo import ZoneInfo

from icu4py.messageformat import MessageFormat

from personalization.locales import normalize_locale

__all__ = [
    "CALENDARS",
    "STYLES",
    "FormatError",
    "MonthDay",
    "format_currency",
    "format_date",
    "format_datetime",
    "format_message",
    "format_number",
    "is_time_zone",
    "parse_moment",
    "to_number",
]

STYLES = ("short", "medium", "long", "full")
# ICU names; "gregory" (the BCP 47 spelling) is accepted as "gregorian".
CALENDARS = ("gregorian", "persian", "hebrew", "islamic", "islamic-civil", "islamic-umalqura")
# Calendars a language uses unless told otherwise. ICU already defaults `fa` to Persian;
# saying so keeps the rule ours, not a CLDR detail. Hebrew users mostly read Gregorian
# dates, so `he` stays Gregorian and the Hebrew calendar is an explicit option.
_DEFAULT_CALENDAR = {"fa": "persian"}

# Date and time together come from skeletons, so ICU picks each locale's own glue
# ("November 25, 2026 at 10:30 PM" in English); `j` is the locale's hour cycle.
_DATETIME_SKELETONS = {
    "short": "yMdjmm",
    "medium": "yMMMdjmm",
    "long": "yMMMMdjmmz",
    "full": "yMMMMEEEEdjmmzzzz",
}
# A day without a year has no weekday, so "full" reads like "long".
_MONTH_DAY_SKELETONS = {"short": "Md", "medium": "MMMd", "long": "MMMMd", "full": "MMMMd"}

_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_MONTH_DAY_RE = re.compile(r"--([0-9]{2})-([0-9]{2})")
_CURRENCY_RE = re.compile(r"[A-Za-z]{3}")
# BCP 47 -u- keys ICU honours for formatting, as ICU keyword names.
_UNICODE_KEYS = {"ca": "calendar", "nu": "numbers", "hc": "hours"}
_MAX_DECIMALS = 20
# ICU reports pattern mistakes by error code; these are the ones authors make.
_ICU_ERRORS = {
    "U_DEFAULT_KEYWORD_MISSING": "an 'other' case is required",
    "U_PATTERN_SYNTAX_ERROR": "unbalanced braces or a misplaced comma",
    "U_NUMBER_SKELETON_SYNTAX_ERROR": "invalid number skeleton",
    "U_ILLEGAL_ARGUMENT_ERROR": "unknown argument type",
}

MessageArgument: TypeAlias = int | float | str | Decimal | date | datetime


class FormatError(ValueError):
    """A value or option cannot be formatted; the message names it and says why."""


@dataclass(frozen=True)
class MonthDay:
    """A yearly date without a year, such as a birthday stored as `--11-25`."""

    month: int
    day: int


def parse_moment(value: object) -> datetime | date | MonthDay:
    """Return `value` as an aware datetime (an instant), a date (a day) or a MonthDay.

    Accepts datetime and date objects, ISO 8601 strings ("2026-11-25",
    "2026-11-25T18:00:00Z", "--11-25") and epoch seconds. Naive datetimes are UTC.
    """
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return value
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(float(value), UTC)
        except (OverflowError, OSError, ValueError) as err:
            raise FormatError(f"{value!r} is out of range for epoch seconds") from err
    if not isinstance(value, str):
        raise FormatError(f"expected a date, datetime, ISO string or epoch seconds, got {value!r}")
    text = value.strip()
    try:
        if month_day := _MONTH_DAY_RE.fullmatch(text):
            month, day = int(month_day[1]), int(month_day[2])
            date(2000, month, day)  # a leap year, so --02-29 is valid
            return MonthDay(month, day)
        if _DATE_RE.fullmatch(text):
            return date.fromisoformat(text)
        moment = datetime.fromisoformat(text)
    except ValueError as err:
        raise FormatError(f"{value!r} is not an ISO 8601 date or datetime") from err
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError):  # ZoneInfoNotFoundError is a KeyError
        return None


def is_time_zone(name: str) -> bool:
    """Return True if `name` is an IANA time zone such as "Asia/Tehran"."""
    return _zone(name) is not None


def _time_zone(name: object) -> ZoneInfo:
    zone = _zone(name) if isinstance(name, str) else None
    if zone is None:
        raise FormatError(f"{name!r} is not a time zone like Asia/Tehran")
    return zone


@lru_cache(maxsize=1024)
def _icu_locale(tag: str, calendar: str | None, tz: str) -> str:
    normalized = normalize_locale(tag)
    if normalized is None:
        raise FormatError(f"{tag!r} is not a locale tag like fa-IR")
    if calendar is not None and calendar not in CALENDARS and calendar != "gregory":
        raise FormatError(f"unknown calendar {calendar!r}, expected one of {', '.join(CALENDARS)}")
    _time_zone(tz)
    # ICU reads either a BCP 47 tag or "base@key=value;…", never both, so the -u-
    # keys are moved into ICU keywords next to the time zone.
    subtags = normalized.split("-")
    base: list[str] = []
    keywords: dict[str, str] = {}
    extension: str | None = None
    key: str | None = None
    for subtag in subtags:
        if len(subtag) == 1:
            extension = subtag
        elif extension is None:
            base.append(subtag)
        elif extension == "u" and len(subtag) == 2:
            key = _UNICODE_KEYS.get(subtag)
        elif key is not None and key not in keywords:
            keywords[key] = subtag
    chosen = calendar or keywords.get("calendar") or _DEFAULT_CALENDAR.get(base[0])
    if chosen:
        keywords["calendar"] = "gregorian" if chosen == "gregory" else chosen
    # ICU would otherwise use the host's zone: explicit UTC keeps output host-independent.
    keywords["timezone"] = tz
    return "_".join(base) + "@" + ";".join(f"{k}={v}" for k, v in sorted(keywords.items()))


# About 40 KB per date formatter: bounded, and dates share one per (locale, calendar,
# style) whatever the zone, since format_date converts to the local day itself.
@lru_cache(maxsize=1024)
def _formatter(pattern: str, locale: str, calendar: str | None, tz: str) -> MessageFormat:
    icu_locale = _icu_locale(locale, calendar, tz)
    try:
        return MessageFormat(pattern, icu_locale)
    except ValueError as err:
        reason = next((text for code, text in _ICU_ERRORS.items() if code in str(err)), str(err))
        raise FormatError(f"{pattern!r} is not a valid ICU message pattern: {reason}") from err


def _format(
    pattern: str,
    locale: str,
    arguments: dict[str, MessageArgument],
    *,
    calendar: str | None = None,
    tz: str = "UTC",
) -> str:
    # Checked before the cache lookup, which needs hashable keys.
    if not isinstance(calendar, str | None):
        raise FormatError(f"unknown calendar {calendar!r}, expected one of {', '.join(CALENDARS)}")
    if not isinstance(tz, str):
        raise FormatError(f"{tz!r} is not a time zone like Asia/Tehran")
    formatter = _formatter(pattern, locale, calendar, tz)
    try:
        return formatter.format(arguments)
    except (RuntimeError, TypeError, ValueError) as err:
        raise FormatError(f"cannot format {arguments!r} with {pattern!r}: {err}") from err


def _style(style: object) -> str:
    if not isinstance(style, str) or style not in STYLES:
        raise FormatError(f"unknown style {style!r}, expected one of {', '.join(STYLES)}")
    return style


def _at_midnight_utc(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def format_date(
    value: object,
    locale: str,
    style: str = "medium",
    *,
    tz: str | None = None,
    calendar: str | None = None,
) -> str:
    """Format the date of `value` in `locale`'s calendar ("fa" -> ۴ آذر ۱۴۰۵).

    An instant shows its date in `tz` (default UTC); a date is a calendar day and
    ignores `tz`. A MonthDay has no year to convert between calendars, so it is
    shown as the Gregorian month and day it names.
    """
    pattern_style = _style(style)
    moment = parse_moment(value)
    if isinstance(moment, MonthDay):
        pattern = "{d, date, ::" + _MONTH_DAY_SKELETONS[pattern_style] + "}"
        day = datetime(2000, moment.month, moment.day, tzinfo=UTC)
        return _format(pattern, locale, {"d": day}, calendar="gregorian")
    if isinstance(moment, datetime):
        moment = moment.astimezone(UTC if tz is None else _time_zone(tz)).date()
    pattern = "{d, date, " + pattern_style + "}"
    return _format(pattern, locale, {"d": _at_midnight_utc(moment)}, calendar=calendar)


def format_datetime(
    value: object,
    locale: str,
    style: str = "medium",
    *,
    tz: str | None = None,
    calendar: str | None = None,
) -> str:
    """Format the date and time of `value` as seen in `tz` (default UTC).

    A date or MonthDay has no time of day, so it is formatted as `format_date` would.
    """
    pattern_style = _style(style)
    moment = parse_moment(value)
    if not isinstance(moment, datetime):
        return format_date(value, locale, pattern_style, tz=tz, calendar=calendar)
    pattern = "{d, date, ::" + _DATETIME_SKELETONS[pattern_style] + "}"
    return _format(pattern, locale, {"d": moment}, calendar=calendar, tz=tz or "UTC")


def to_number(value: object) -> int | float | Decimal:
    """Return `value` as a finite number; numeric strings are read exactly, as decimals."""
    if isinstance(value, bool):
        raise FormatError(f"expected a number, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float | Decimal):
        number = value
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise FormatError(f"{value!r} is not a number") from None
    else:
        raise FormatError(f"expected a number, got {type(value).__name__}")
    if not math.isfinite(number):
        raise FormatError(f"{value!r} is not a finite number")
    return number


def format_number(value: object, locale: str, decimals: int | None = None) -> str:
    """Format a number with `locale`'s digits and separators (Persian digits for "fa").

    `decimals` fixes the number of fraction digits; by default up to 3 are shown.
    Numeric strings are read exactly (as decimals).
    """
    if decimals is None:
        pattern = "{n, number}"
    elif isinstance(decimals, bool) or not isinstance(decimals, int):
        raise FormatError(f"decimals must be a whole number, got {decimals!r}")
    elif not 0 <= decimals <= _MAX_DECIMALS:
        raise FormatError(f"decimals must be between 0 and {_MAX_DECIMALS}, got {decimals}")
    elif decimals == 0:
        pattern = "{n, number, ::precision-integer}"
    else:
        pattern = "{n, number, ::." + "0" * decimals + "}"
    return _format(pattern, locale, {"n": to_number(value)})


def format_currency(value: object, currency: str, locale: str) -> str:
    """Format an amount of an ISO 4217 `currency` the way `locale` writes money.

    The currency's own minor units apply (IRR has none, USD two).
    """
    if not isinstance(currency, str) or not _CURRENCY_RE.fullmatch(currency):
        raise FormatError(f"{currency!r} is not an ISO 4217 currency code like USD")
    pattern = "{n, number, ::currency/" + currency.upper() + "}"
    return _format(pattern, locale, {"n": to_number(value)})


def _argument(value: object) -> MessageArgument:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return _at_midnight_utc(value)
    if isinstance(value, int | float | str | Decimal):
        return value
    raise FormatError(f"message arguments must be numbers, strings or dates, got {value!r}")


def format_message(
    pattern: str, locale: str, arguments: Mapping[str, object], *, tz: str | None = None
) -> str:
    """Format an ICU MessageFormat `pattern`, e.g. "{n, plural, one {# item} other {# items}}".

    Plural categories follow `locale` (Russian: one, few, many, other). Numbers
    stay numbers; `plural` needs a number and `select` a string.
    """
    if not isinstance(pattern, str):
        raise FormatError(f"expected an ICU message pattern, got {pattern!r}")
    values = {name: _argument(value) for name, value in arguments.items()}
    return _format(pattern, locale, values, tz=tz or "UTC")
