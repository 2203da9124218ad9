"""Triggers a placement may require before it sends: an abandoned cart, inactivity, a birthday."""

from __future__ import annotations

import calendar
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

Problem = tuple[str, str]

HOUR_S: Final = 3600.0
DAY_S: Final = 86_400.0
MAX_HOURS: Final = 24 * 365.0
MAX_DAYS: Final = 3650.0
# `YYYY-MM-DD`, or `--MM-DD` (ISO 8601's form for a date without a year).
_BIRTHDAY: Final = re.compile(r"(?:([0-9]{4})|-)-([0-9]{2})-([0-9]{2})")
# Solar Hijri birthdays (1370-05-12) look like Gregorian ones; no living contact was born
# before this year, so such dates are rejected instead of firing on the wrong day.
MIN_BIRTH_YEAR: Final = 1900
_LEAP_YEAR: Final = 2000  # a year in which every month-day of a birthday exists


@dataclass(frozen=True)
class CartAbandoned:
    after_hours: float


@dataclass(frozen=True)
class Inactive:
    days: float


@dataclass(frozen=True)
class Birthday:
    pass


Trigger = CartAbandoned | Inactive | Birthday
# type -> (its one number field, whether 0 is allowed, the largest value). A cart trigger
# of 0 hours means "any non-empty cart"; 0 days of silence would mean everyone.
_NUMBERS: Final = {
    "cart_abandoned": ("after_hours", True, MAX_HOURS),
    "inactive": ("days", False, MAX_DAYS),
}
TYPES: Final = ("cart_abandoned", "inactive", "birthday")


def parse_trigger(doc: Any, path: str = "trigger") -> tuple[Trigger | None, list[Problem]]:
    """Validate a trigger document; return the trigger (None if anything is wrong) and problems."""
    if not isinstance(doc, Mapping):
        return None, [(path, "must be an object with a type")]
    kind = doc.get("type")
    if kind not in TYPES:
        return None, [(f"{path}.type", f"must be one of {', '.join(TYPES)}")]
    field, zero_ok, high = _NUMBERS.get(kind, ("", False, 0.0))
    problems = [(f"{path}.{k}", "unknown field") for k in doc if k not in ("type", field)]
    if kind == "birthday":
        return (None, problems) if problems else (Birthday(), [])
    value = _number(doc.get(field))
    if field not in doc:
        problems.append((f"{path}.{field}", "is required"))
    elif value is None or not (value >= 0 if zero_ok else value > 0) or value > high:
        bound = "from 0" if zero_ok else "above 0"
        problems.append((f"{path}.{field}", f"must be a number {bound} to {high:g}"))
    if problems or value is None:
        return None, problems
    return (CartAbandoned(value) if kind == "cart_abandoned" else Inactive(value)), []


def trigger_fires(
    trigger: Trigger,
    behaviour: Mapping[str, Any],
    contact: Mapping[str, Any],
    now: datetime,
    tz: ZoneInfo | None,
) -> tuple[bool, str]:
    """Whether the trigger holds at `now` (an aware datetime), and a sentence saying why.

    `behaviour` is `behaviour_view`'s result; `tz` is the contact's time zone (UTC if None).
    Missing or malformed data makes a trigger not fire; it never raises on contact data.
    """
    if now.tzinfo is None:
        raise ValueError("now must be a timezone-aware datetime")
    if isinstance(trigger, CartAbandoned):
        return _cart_abandoned(trigger.after_hours, behaviour, now.timestamp())
    if isinstance(trigger, Inactive):
        return _inactive(trigger.days, behaviour, now.timestamp())
    return _birthday(contact.get("birthday"), now.astimezone(tz or UTC).date(), tz)


def _cart_abandoned(
    after_hours: float, behaviour: Mapping[str, Any], now: float
) -> tuple[bool, str]:
    cart = behaviour.get("cart")
    cart = cart if isinstance(cart, Mapping) else {}
    items = _number(cart.get("items"))
    if items is None or items <= 0:
        return False, "the cart is empty"
    updated_at = _number(cart.get("updated_at"))
    if updated_at is None:
        return False, "the cart has no update time"
    last_at = behaviour.get("last_at")
    purchase = _number(last_at.get("purchase")) if isinstance(last_at, Mapping) else None
    if cart.get("abandoned") is False or (purchase is not None and purchase >= updated_at):
        return False, "a purchase followed the cart's last update"
    idle_s = now - updated_at
    # Compared in seconds, so "exactly after_hours ago" fires without rounding doubt.
    if idle_s < after_hours * HOUR_S:
        hours = idle_s / HOUR_S
        return False, f"the cart was updated {hours:.2f} h ago, less than {after_hours:g} h"
    return True, f"{items:g} item(s) left in the cart {idle_s / HOUR_S:.2f} h ago, not bought"


def _inactive(days: float, behaviour: Mapping[str, Any], now: float) -> tuple[bool, str]:
    last_seen = _number(behaviour.get("last_seen"))
    if last_seen is None:
        # Re-engagement wins back lost interest: a contact never seen (imported, or seen
        # only before tracking began) has none to lose, and would otherwise qualify at once.
        return False, "never seen, so not inactive"
    idle_s = now - last_seen
    if idle_s < days * DAY_S:
        return False, f"last active {idle_s / DAY_S:.1f} days ago, less than {days:g}"
    return True, f"no activity for {idle_s / DAY_S:.1f} days (at least {days:g})"


def _birthday(value: Any, today: date, tz: ZoneInfo | None) -> tuple[bool, str]:
    where = f"in {tz.key}" if tz is not None else "in UTC (no time zone)"
    match = _BIRTHDAY.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        return False, "no birthday as YYYY-MM-DD or --MM-DD"
    year, month, day = match.group(1), int(match.group(2)), int(match.group(3))
    try:
        born = date(int(year) if year else _LEAP_YEAR, month, day)
    except ValueError:
        return False, f"the birthday {value!r} is not a date"
    if year and (born.year < MIN_BIRTH_YEAR or born > today):
        return False, f"the birthday {value!r} is not a past Gregorian date"
    if (today.month, today.day) == (month, day):
        return True, f"today ({today.isoformat()} {where}) is the contact's birthday"
    # In common years a 29 February birthday is celebrated on the 28th, not on 1 March.
    leap_day = (month, day) == (2, 29) and (today.month, today.day) == (2, 28)
    if leap_day and not calendar.isleap(today.year):
        return True, f"today ({today.isoformat()} {where}) stands in for 29 February"
    return False, f"today ({today.isoformat()} {where}) is not the contact's birthday"


def _number(value: Any) -> float | None:
    """The value as a finite float, or None: contact data may hold anything."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None
