"""Tests for triggers: validation, and each trigger exactly at and around its boundary."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from personalization.behaviour import behaviour_view, parse_behaviour
from personalization.triggers import (
    Birthday,
    CartAbandoned,
    Inactive,
    Trigger,
    parse_trigger,
    trigger_fires,
)

NOW = datetime(2026, 11, 24, 16, 30, tzinfo=UTC)
T = NOW.timestamp()
TEHRAN = ZoneInfo("Asia/Tehran")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")


@pytest.mark.parametrize(
    ("doc", "trigger"),
    [
        ({"type": "cart_abandoned", "after_hours": 1}, CartAbandoned(1.0)),
        ({"type": "cart_abandoned", "after_hours": 0}, CartAbandoned(0.0)),
        ({"type": "cart_abandoned", "after_hours": 0.5}, CartAbandoned(0.5)),
        ({"type": "inactive", "days": 30}, Inactive(30.0)),
        ({"type": "birthday"}, Birthday()),
    ],
)
def test_parse(doc: dict[str, Any], trigger: Trigger) -> None:
    assert parse_trigger(doc, "trigger") == (trigger, [])


@pytest.mark.parametrize(
    ("doc", "problems"),
    [
        ("birthday", [("t", "must be an object with a type")]),
        ({}, [("t.type", "must be one of cart_abandoned, inactive, birthday")]),
        (
            {"type": "anniversary"},
            [("t.type", "must be one of cart_abandoned, inactive, birthday")],
        ),
        ({"type": "cart_abandoned"}, [("t.after_hours", "is required")]),
        (
            {"type": "cart_abandoned", "after_hours": -1},
            [("t.after_hours", "must be a number from 0 to 8760")],
        ),
        (
            {"type": "cart_abandoned", "after_hours": True},
            [("t.after_hours", "must be a number from 0 to 8760")],
        ),
        (
            {"type": "cart_abandoned", "after_hours": "1"},
            [("t.after_hours", "must be a number from 0 to 8760")],
        ),
        ({"type": "inactive", "days": 0}, [("t.days", "must be a number above 0 to 3650")]),
        (
            {"type": "inactive", "days": float("nan")},
            [("t.days", "must be a number above 0 to 3650")],
        ),
        (
            {"type": "inactive", "hours": 3},
            [("t.hours", "unknown field"), ("t.days", "is required")],
        ),
        ({"type": "birthday", "days": 1}, [("t.days", "unknown field")]),
    ],
)
def test_parse_problems_name_the_field(doc: Any, problems: list[tuple[str, str]]) -> None:
    assert parse_trigger(doc, "t") == (None, problems)


def view(fields: dict[str, str]) -> dict[str, Any]:
    return behaviour_view(parse_behaviour(fields), now=T)


def cart_fires(fields: dict[str, str], hours: float = 1) -> bool:
    fired, reason = trigger_fires(CartAbandoned(hours), view(fields), {}, NOW, None)
    assert reason
    return fired


@pytest.mark.parametrize(
    ("seconds_ago", "fires"),
    [(3600, True), (3599, False), (59 * 60, False), (3601, True), (86_400 * 7, True), (0, False)],
)
def test_cart_abandoned_at_one_hour(seconds_ago: int, fires: bool) -> None:
    assert cart_fires({"cart": f"2|19.9|{T - seconds_ago!r}"}) is fires


def test_cart_abandoned_reason() -> None:
    fired, reason = trigger_fires(
        CartAbandoned(1), view({"cart": f"2|19.9|{T - 5400!r}"}), {}, NOW, None
    )
    assert (fired, reason) == (True, "2 item(s) left in the cart 1.50 h ago, not bought")


def test_a_purchase_after_the_cart_stops_it() -> None:
    cart = f"2|19.9|{T - 7200!r}"
    assert not cart_fires({"cart": cart, "last:purchase": repr(T - 3600)})
    # A purchase before this cart was filled does not.
    assert cart_fires({"cart": cart, "last:purchase": repr(T - 9000)})
    # The writer empties the cart on purchase.
    assert not cart_fires({"cart": f"0|0|{T - 3600!r}", "last:purchase": repr(T - 3600)})


def test_a_purchase_is_checked_even_against_a_hand_built_view() -> None:
    behaviour = {
        "cart": {"items": 1, "updated_at": T - 7200},
        "last_at": {"purchase": T - 60},
    }
    assert trigger_fires(CartAbandoned(1), behaviour, {}, NOW, None) == (
        False,
        "a purchase followed the cart's last update",
    )


def test_zero_hours_means_any_cart_with_items() -> None:
    assert cart_fires({"cart": f"1|5|{T!r}"}, hours=0)
    assert not cart_fires({}, hours=0)


@pytest.mark.parametrize(
    "behaviour",
    [{}, {"cart": None}, {"cart": {"items": "2", "updated_at": T - 9999}}, {"cart": {"items": 2}}],
)
def test_odd_behaviour_never_fires_nor_raises(behaviour: dict[str, Any]) -> None:
    assert trigger_fires(CartAbandoned(1), behaviour, {}, NOW, None)[0] is False
    assert trigger_fires(Inactive(30), behaviour, {}, NOW, None)[0] is False


@pytest.mark.parametrize(
    ("seconds_ago", "fires"),
    [(30 * 86_400, True), (30 * 86_400 - 1, False), (400 * 86_400, True), (3600, False)],
)
def test_inactive_at_thirty_days(seconds_ago: int, fires: bool) -> None:
    behaviour = view({"last_seen": repr(T - seconds_ago)})
    assert trigger_fires(Inactive(30), behaviour, {}, NOW, None)[0] is fires


def test_a_contact_never_seen_is_not_inactive() -> None:
    assert trigger_fires(Inactive(30), view({}), {}, NOW, None) == (
        False,
        "never seen, so not inactive",
    )


def birthday(contact: dict[str, Any], now: datetime, tz: ZoneInfo | None) -> bool:
    return trigger_fires(Birthday(), {}, contact, now, tz)[0]


@pytest.mark.parametrize("value", ["1990-03-15", "--03-15"])
def test_birthday_starts_in_tehran_while_utc_is_still_the_day_before(value: str) -> None:
    contact = {"birthday": value}
    midnight_tehran = datetime(2026, 3, 14, 20, 30, tzinfo=UTC)  # 15 March 00:00 +03:30
    assert birthday(contact, midnight_tehran, TEHRAN)
    assert not birthday(contact, midnight_tehran, None)  # UTC: still the 14th
    assert not birthday(contact, midnight_tehran - timedelta(seconds=1), TEHRAN)
    # It ends at midnight in Tehran too, while UTC still has 3.5 hours of the 15th.
    assert birthday(contact, datetime(2026, 3, 15, 20, 29, 59, tzinfo=UTC), TEHRAN)
    assert not birthday(contact, datetime(2026, 3, 15, 20, 30, tzinfo=UTC), TEHRAN)
    assert birthday(contact, datetime(2026, 3, 15, 20, 30, tzinfo=UTC), None)


def test_birthday_west_of_utc() -> None:
    # 16 March 03:00 UTC is still 15 March in Los Angeles.
    now = datetime(2026, 3, 16, 3, 0, tzinfo=UTC)
    assert birthday({"birthday": "--03-15"}, now, LOS_ANGELES)
    assert not birthday({"birthday": "--03-15"}, now, None)


def test_birthday_reason_names_the_date_and_zone() -> None:
    now = datetime(2026, 3, 14, 21, 0, tzinfo=UTC)
    assert trigger_fires(Birthday(), {}, {"birthday": "--03-15"}, now, TEHRAN) == (
        True,
        "today (2026-03-15 in Asia/Tehran) is the contact's birthday",
    )


@pytest.mark.parametrize("value", ["1992-02-29", "--02-29"])
@pytest.mark.parametrize(
    ("day", "fires"),
    [
        ("2027-02-28", True),  # common year: celebrated on the 28th
        ("2027-03-01", False),
        ("2027-02-27", False),
        ("2028-02-28", False),  # leap year: wait for the 29th
        ("2028-02-29", True),
        ("2100-02-28", True),  # 2100 is not a leap year
    ],
)
def test_leap_day_birthday(value: str, day: str, fires: bool) -> None:
    now = datetime.fromisoformat(day).replace(hour=12, tzinfo=UTC)
    assert birthday({"birthday": value}, now, None) is fires


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        19900315,
        "1990-02-30",
        "1991-02-29",
        "--13-01",
        "--02-30",
        "1990-3-15",
        "15/03/1990",
        "1990-03-15T00:00:00",
        "۱۹۹۰-۰۳-۱۵",  # noqa: RUF001 - Persian digits: \d would take them, int() too
        "1370-03-15",  # a Solar Hijri year written like a Gregorian date
        "2030-03-15",  # in the future
    ],
)
def test_bad_birthdays_never_fire_nor_raise(value: Any) -> None:
    now = datetime(2026, 3, 15, 12, tzinfo=UTC)
    assert birthday({"birthday": value}, now, None) is False


def test_born_today_fires() -> None:
    assert birthday({"birthday": "2026-03-15"}, datetime(2026, 3, 15, 12, tzinfo=UTC), None)


def test_no_birthday() -> None:
    assert birthday({}, NOW, TEHRAN) is False


def test_a_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="aware"):
        trigger_fires(Birthday(), {}, {}, datetime(2026, 3, 15), None)
