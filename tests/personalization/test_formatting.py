"""Tests for locale formatting through ICU: calendars, digits, money and plural rules."""

# Expected strings are real Persian, Hebrew and Russian text, not look-alike Latin.
# ruff: noqa: RUF001

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from personalization import formatting
from personalization.formatting import (
    STYLES,
    FormatError,
    MonthDay,
    format_currency,
    format_date,
    format_datetime,
    format_message,
    format_number,
    is_time_zone,
    parse_moment,
    to_number,
)

# 2026-11-25 is 4 Azar 1405 in the Solar Hijri calendar and 15 Kislev 5787 in the Hebrew one.
DAY = "2026-11-25"
NOON_UTC = 1795608000  # 2026-11-25T12:00:00Z
RU_ITEMS = "{n, plural, one {# товар} few {# товара} many {# товаров} other {# товара}}"
NBSP, NNBSP, LRM, RLM = "\xa0", "\u202f", "\u200e", "\u200f"


# --- dates and calendars ------------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("fa", ("۱۴۰۵/۹/۴", "۴ آذر ۱۴۰۵", "۴ آذر ۱۴۰۵", "۱۴۰۵ آذر ۴, چهارشنبه")),
        ("fa-IR", ("۱۴۰۵/۹/۴", "۴ آذر ۱۴۰۵", "۴ آذر ۱۴۰۵", "۱۴۰۵ آذر ۴, چهارشنبه")),
        ("he", ("25.11.2026", "25 בנוב׳ 2026", "25 בנובמבר 2026", "יום רביעי, 25 בנובמבר 2026")),
        (
            "ru",
            (
                "25.11.2026",
                f"25 нояб. 2026{NNBSP}г.",
                f"25 ноября 2026{NNBSP}г.",
                f"среда, 25 ноября 2026{NNBSP}г.",
            ),
        ),
        (
            "en-US",
            ("11/25/26", "Nov 25, 2026", "November 25, 2026", "Wednesday, November 25, 2026"),
        ),
    ],
)
def test_date_styles_per_locale(locale: str, expected: tuple[str, ...]) -> None:
    # Persian is Solar Hijri in Persian digits; Hebrew and the rest are Gregorian.
    assert tuple(format_date(DAY, locale, style) for style in STYLES) == expected


def test_default_style_is_medium() -> None:
    assert format_date(DAY, "fa") == "۴ آذر ۱۴۰۵"


def test_hebrew_calendar_is_an_explicit_option() -> None:
    assert format_date(DAY, "he", "long", calendar="hebrew") == "ט״ו בכסלו תשפ״ז"
    assert format_date(DAY, "he", "full", calendar="hebrew") == "יום רביעי, ט״ו בכסלו תשפ״ז"
    # A locale tag may ask for it too.
    assert format_date(DAY, "he-IL-u-ca-hebrew", "long") == "ט״ו בכסלו תשפ״ז"


def test_calendar_option_overrides_the_language_default() -> None:
    assert format_date(DAY, "fa", "long", calendar="gregorian") == "۲۵ نوامبر ۲۰۲۶"
    assert format_date(DAY, "fa-IR-u-ca-gregory", "long") == "۲۵ نوامبر ۲۰۲۶"
    assert format_date(DAY, "en-US", "long", calendar="persian") == "Azar 4, 1405 AP"


def test_numbering_system_from_the_locale_tag() -> None:
    assert format_date(DAY, "fa-u-nu-latn", "long") == "4 آذر 1405"


@pytest.mark.parametrize(
    "value",
    [
        DAY,
        f" {DAY} ",
        date(2026, 11, 25),
        datetime(2026, 11, 25, 12, tzinfo=UTC),
        datetime(2026, 11, 25, 12),  # naive means UTC
        "2026-11-25T12:00:00Z",
        "2026-11-25T15:30:00+03:30",
        NOON_UTC,
        float(NOON_UTC),
        Decimal(NOON_UTC),
    ],
)
def test_every_accepted_input_names_the_same_day(value: object) -> None:
    assert format_date(value, "fa-IR", "long") == "۴ آذر ۱۴۰۵"


def test_an_instant_shows_its_date_in_the_time_zone() -> None:
    late = "2026-11-25T22:30:00Z"  # already 26 November (5 Azar) in Tehran
    assert format_date(late, "fa", "long") == "۴ آذر ۱۴۰۵"
    assert format_date(late, "fa", "long", tz="Asia/Tehran") == "۵ آذر ۱۴۰۵"
    early = datetime(2026, 11, 25, 5, tzinfo=UTC)
    assert format_date(early, "en-US", "long", tz="America/Los_Angeles") == "November 24, 2026"
    offset = datetime(2026, 11, 25, 1, tzinfo=timezone(timedelta(hours=3)))
    assert format_date(offset, "en-US", "long") == "November 24, 2026"


def test_a_date_is_a_day_and_ignores_the_time_zone() -> None:
    assert format_date(DAY, "en-US", "long", tz="Pacific/Kiritimati") == "November 25, 2026"
    assert format_date(DAY, "en-US", "long", tz="Pacific/Pago_Pago") == "November 25, 2026"


def test_a_day_without_a_year_stays_gregorian() -> None:
    # Converting --11-25 to Solar Hijri needs a year, so it is not guessed.
    assert parse_moment("--11-25") == MonthDay(11, 25)
    assert format_date("--11-25", "en-US", "long") == "November 25"
    assert format_date("--11-25", "fa", "full") == "۲۵ نوامبر"
    assert format_date("--02-29", "ru", "short") == "29.02"


def test_datetime_styles_use_each_locales_glue_and_zone() -> None:
    moment = "2026-11-25T22:30:00Z"
    assert format_datetime(moment, "en-US", "full", tz="America/New_York") == (
        f"Wednesday, November 25, 2026 at 5:30{NNBSP}PM Eastern Standard Time"
    )
    assert format_datetime(moment, "fa-IR", "medium", tz="Asia/Tehran") == "۵ آذر ۱۴۰۵، ۲:۰۰"
    assert format_datetime(moment, "he", "short", tz="Asia/Jerusalem") == "26.11.2026, 0:30"
    assert format_datetime(moment, "ru", "long", tz="Europe/Moscow") == (
        f"26 ноября 2026{NNBSP}г. в 01:30 GMT+3"
    )
    assert format_datetime(moment, "en-US", "short") == f"11/25/2026, 10:30{NNBSP}PM"


def test_datetime_of_a_date_formats_the_date() -> None:
    assert format_datetime(DAY, "en-US", "long", tz="Asia/Tehran") == "November 25, 2026"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2026-13-01", "is not an ISO 8601 date or datetime"),
        ("next tuesday", "is not an ISO 8601 date or datetime"),
        ("", "is not an ISO 8601 date or datetime"),
        ("--02-30", "is not an ISO 8601 date or datetime"),
        (10**20, "out of range for epoch seconds"),
        (float("nan"), "out of range for epoch seconds"),
        (True, "expected a date"),
        (None, "expected a date"),
        ([2026, 11, 25], "expected a date"),
    ],
)
def test_bad_dates_are_format_errors(value: object, message: str) -> None:
    with pytest.raises(FormatError, match=message):
        format_date(value, "en")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"style": "huge"}, "unknown style 'huge'"),
        ({"style": 3}, "unknown style 3"),
        ({"calendar": "mayan"}, "unknown calendar 'mayan'"),
        ({"calendar": ["hebrew"]}, r"unknown calendar \['hebrew'\]"),
        ({"tz": "Mars/Olympus_Mons"}, "'Mars/Olympus_Mons' is not a time zone"),
        ({"tz": 7}, "7 is not a time zone"),
    ],
)
def test_bad_date_options_are_format_errors(options: dict[str, object], message: str) -> None:
    with pytest.raises(FormatError, match=message):
        format_date("2026-11-25T12:00:00Z", "en", **options)  # type: ignore[arg-type]
    with pytest.raises(FormatError, match=message):
        format_datetime("2026-11-25T12:00:00Z", "en", **options)  # type: ignore[arg-type]


def test_bad_locale_is_a_format_error() -> None:
    with pytest.raises(FormatError, match="'english!' is not a locale tag"):
        format_date(DAY, "english!")


def test_format_error_is_a_value_error() -> None:
    assert issubclass(FormatError, ValueError)


def test_time_zone_check() -> None:
    assert is_time_zone("Asia/Tehran")
    assert is_time_zone("UTC")
    assert not is_time_zone("Asia/Atlantis")
    assert not is_time_zone("../etc/passwd")
    assert not is_time_zone("")


# --- numbers and money -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("fa", "۱٬۲۳۴٬۵۶۷٫۸۹۱"),
        ("he", "1,234,567.891"),
        ("ru", f"1{NBSP}234{NBSP}567,891"),
        ("en-US", "1,234,567.891"),
        ("de-DE", "1.234.567,891"),
    ],
)
def test_numbers_use_the_locales_digits_and_separators(locale: str, expected: str) -> None:
    assert format_number(1234567.891, locale) == expected


def test_number_options_and_inputs() -> None:
    assert format_number(3, "en-US", 2) == "3.00"
    assert format_number(0.5, "ru", 2) == "0,50"
    assert format_number(3.7, "en-US", 0) == "4"
    assert format_number("12345678901234567890.25", "en-US") == "12,345,678,901,234,567,890.25"
    assert format_number(Decimal("0.1") + Decimal("0.2"), "en-US") == "0.3"
    assert format_number(10**30, "fa") == "۱" + "٬۰۰۰" * 10
    assert format_number(-5, "fa") == f"{LRM}\u2212۵"  # ICU's minus sign


@pytest.mark.parametrize(
    ("value", "decimals", "message"),
    [
        ("abc", None, "'abc' is not a number"),
        (float("inf"), None, "is not a finite number"),
        ("NaN", None, "is not a finite number"),
        (True, None, "expected a number"),
        ({"amount": 1}, None, "expected a number, got dict"),
        (1, 21, "decimals must be between 0 and 20"),
        (1, -1, "decimals must be between 0 and 20"),
        (1, "2", "decimals must be a whole number"),
    ],
)
def test_bad_numbers_are_format_errors(value: object, decimals: object, message: str) -> None:
    with pytest.raises(FormatError, match=message):
        format_number(value, "en", decimals)  # type: ignore[arg-type]


CURRENCIES = ("IRR", "ILS", "RUB", "USD", "EUR")


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        (
            "fa-IR",
            (
                f"{LRM}ریال{NBSP}۱٬۲۳۴٬۵۶۸",
                f"{LRM}₪۱٬۲۳۴٬۵۶۷٫۵۰",
                f"{LRM}RUB{NBSP}۱٬۲۳۴٬۵۶۷٫۵۰",
                f"{LRM}$۱٬۲۳۴٬۵۶۷٫۵۰",
                f"{LRM}€۱٬۲۳۴٬۵۶۷٫۵۰",
            ),
        ),
        (
            "he",
            (
                f"{RLM}1,234,568{NBSP}{RLM}IRR",
                f"{RLM}1,234,567.50{NBSP}{RLM}₪",
                f"{RLM}1,234,567.50{NBSP}{RLM}RUB",
                f"{RLM}1,234,567.50{NBSP}{RLM}$",
                f"{RLM}1,234,567.50{NBSP}{RLM}€",
            ),
        ),
        (
            "ru",
            (
                f"1{NBSP}234{NBSP}568{NBSP}IRR",
                f"1{NBSP}234{NBSP}567,50{NBSP}₪",
                f"1{NBSP}234{NBSP}567,50{NBSP}₽",
                f"1{NBSP}234{NBSP}567,50{NBSP}$",
                f"1{NBSP}234{NBSP}567,50{NBSP}€",
            ),
        ),
        (
            "en-US",
            (
                f"IRR{NBSP}1,234,568",
                "₪1,234,567.50",
                f"RUB{NBSP}1,234,567.50",
                "$1,234,567.50",
                "€1,234,567.50",
            ),
        ),
    ],
)
def test_currency_per_locale(locale: str, expected: tuple[str, ...]) -> None:
    # Each currency keeps its own minor units: the rial has none, so 0.5 rounds up.
    amount = Decimal("1234567.5")
    assert tuple(format_currency(amount, code, locale) for code in CURRENCIES) == expected


def test_currency_code_is_case_insensitive_and_amounts_may_be_strings() -> None:
    assert format_currency("19.99", "usd", "en-US") == "$19.99"
    assert format_currency(1250000, "IRR", "fa") == f"{LRM}ریال{NBSP}۱٬۲۵۰٬۰۰۰"


@pytest.mark.parametrize("code", ["US", "USDT", "U$D", "", 840, None])
def test_bad_currency_code_is_a_format_error(code: object) -> None:
    with pytest.raises(FormatError, match="is not an ISO 4217 currency code"):
        format_currency(1, code, "en")  # type: ignore[arg-type]


def test_to_number_reads_strings_exactly() -> None:
    assert to_number(" 0.1 ") == Decimal("0.1")
    assert to_number(7) == 7
    assert to_number(2.5) == 2.5


# --- plural and select messages --------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (1, "1 товар"),
        (2, "2 товара"),
        (5, "5 товаров"),
        (21, "21 товар"),
        (11, "11 товаров"),
        (0, "0 товаров"),
        (22, "22 товара"),
        (111, "111 товаров"),
        (Decimal("1.5"), "1,5 товара"),
    ],
)
def test_russian_plural_rules(count: object, expected: str) -> None:
    assert format_message(RU_ITEMS, "ru", {"n": count}) == expected


def test_plural_rules_follow_the_locale() -> None:
    every = "{n, plural, zero {z} one {o} two {t} few {f} many {m} other {x}}"
    categories = [format_message(every, "ar", {"n": n}) for n in (0, 1, 2, 3, 11, 100)]
    assert categories == ["z", "o", "t", "f", "m", "x"]
    items = "{n, plural, one {# item} other {# items}}"
    # Persian puts 0 and 1 in "one" and writes Persian digits for #.
    assert [format_message(items, "fa", {"n": n}) for n in (0, 1, 2)] == [
        "۰ item",
        "۱ item",
        "۲ items",
    ]
    hebrew = "{n, plural, one {# פריט} two {שני פריטים} other {# פריטים}}"
    assert [format_message(hebrew, "he", {"n": n}) for n in (1, 2, 3)] == [
        "1 פריט",
        "שני פריטים",
        "3 פריטים",
    ]


def test_select_and_extra_arguments() -> None:
    pattern = "{tier, select, gold {{name}, золото} other {{name}}}: {n, number}"
    arguments = {"tier": "gold", "name": "Юлия", "n": 1500}
    assert format_message(pattern, "ru", arguments) == f"Юлия, золото: 1{NBSP}500"
    assert format_message(pattern, "ru", arguments | {"tier": "x"}) == f"Юлия: 1{NBSP}500"
    assert format_message("{ok, select, true {yes} other {no}}", "en", {"ok": True}) == "yes"


def test_dates_inside_messages_use_the_time_zone() -> None:
    pattern = "{d, date, long}"
    moment = datetime(2026, 11, 25, 22, 30, tzinfo=UTC)
    assert format_message(pattern, "fa", {"d": moment}) == "۴ آذر ۱۴۰۵"
    assert format_message(pattern, "fa", {"d": moment}, tz="Asia/Tehran") == "۵ آذر ۱۴۰۵"
    assert format_message(pattern, "en-US", {"d": date(2026, 11, 25)}) == "November 25, 2026"


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("{n, plural, one {x}}", "an 'other' case is required"),
        ("{n, plural, one {x} other {y}", "unbalanced braces"),
        ("{n, currency}", "unknown argument type"),
        (42, "expected an ICU message pattern"),
    ],
)
def test_bad_patterns_are_format_errors(pattern: object, message: str) -> None:
    with pytest.raises(FormatError, match=message):
        format_message(pattern, "en", {"n": 1})  # type: ignore[arg-type]


def test_argument_of_the_wrong_kind_is_a_format_error() -> None:
    with pytest.raises(FormatError, match="cannot format"):
        format_message(RU_ITEMS, "ru", {"n": "five"})
    with pytest.raises(FormatError, match="message arguments must be"):
        format_message(RU_ITEMS, "ru", {"n": [5]})


# --- caching ---------------------------------------------------------------------------


def test_formatters_are_built_once_per_locale_pattern_and_zone() -> None:
    formatting._formatter.cache_clear()
    for day in range(1, 29):
        format_date(f"2026-02-{day:02d}T23:00:00Z", "fa-IR", "long", tz="Asia/Tehran")
        format_date(f"2026-02-{day:02d}", "fa-IR", "long")
    info = formatting._formatter.cache_info()
    # Dates are converted to the local day first, so the zone needs no formatter of its own.
    assert (info.misses, info.hits) == (1, 55)
