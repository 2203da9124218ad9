"""Read a contact's stored behaviour hash into the `behaviour.*` data that templates see."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

from personalization.scoring import ScoringRules, current_score, stage_for

HOUR_S: Final = 3600.0
DAY_S: Final = 86_400.0
VIEW_SEPARATOR: Final = "\x1f"
_EMPTY_CART: Final = (0, 0.0, None)


def behaviour_view(
    fields: Mapping[str, str] | Mapping[bytes, bytes] | Mapping[str | bytes, str | bytes],
    *,
    now: float,
    scoring: ScoringRules | None = None,
) -> dict[str, Any]:
    """The `behaviour` root as of `now` (epoch seconds) from the hash fields as Redis returns them.

    Malformed fields are skipped, never raised on: the hash may hold what an older version
    wrote. Without `scoring` the stored score is shown as written (nothing to decay it by).
    """
    counts: dict[str, int] = {}
    last_at: dict[str, float] = {}
    revenue: dict[str, float] = {}
    channels: dict[str, dict[str, int]] = {}
    suppressed: list[str] = []
    plain: dict[str, str] = {}  # fields without a `<kind>:` prefix, read after the loop
    for raw_key, raw_value in fields.items():
        # Inlined rather than a helper: decoding is most of the cost of this loop.
        try:
            key = raw_key.decode() if isinstance(raw_key, bytes) else raw_key
            value = raw_value.decode() if isinstance(raw_value, bytes) else raw_value
        except UnicodeDecodeError:
            continue
        if not isinstance(key, str) or not isinstance(value, str):
            continue
        kind, colon, name = key.partition(":")
        if not colon:
            plain[key] = value
        elif not name:
            continue
        elif kind == "n":
            if (count := _count(value)) is not None:
                counts[name] = count
        elif kind == "last":
            if (at := _number(value)) is not None:
                last_at[name] = at
        elif kind == "rev":
            if (amount := _number(value)) is not None:
                revenue[name] = amount
        elif kind == "ch":
            channel, _, which = name.rpartition(":")
            if channel and which in ("d", "e") and (count := _count(value)) is not None:
                slot = channels.setdefault(channel, {"delivered": 0, "engaged": 0})
                slot["delivered" if which == "d" else "engaged"] = count
        elif kind == "sup":
            # Presence alone suppresses, whatever the value: messaging a channel that
            # bounced or unsubscribed is worse than skipping one with a garbled timestamp.
            suppressed.append(name)

    last_seen = _number(plain.get("last_seen"))
    purchases = counts.get("purchase", 0)
    score = _number(plain.get("score")) or 0.0
    stage = plain.get("stage") or None
    if scoring is not None:
        score = current_score(score, _number(plain.get("score_at")), last_seen, now, scoring)
        stage = stage_for(stage, score, scoring, purchases)
    views = _views(plain.get("views"))
    cart = _cart(plain.get("cart"), last_at.get("purchase"), now)
    return {
        "counts": counts,
        "last_at": last_at,
        "last_seen": last_seen,
        "first_seen": _number(plain.get("first_seen")),
        "days_since_last_activity": _since(last_seen, now, DAY_S),
        "hours_since": {name: max(0.0, now - at) / HOUR_S for name, at in last_at.items()},
        "revenue": revenue,
        "purchases": purchases,
        "cart": cart,
        # The names DESIGN.md's contract example targets: minutes while a cart waits, and
        # whether a purchase came after the cart's last update.
        "cart_abandoned_minutes": cart["hours_since_update"] * 60 if cart["abandoned"] else None,
        "purchased_since_cart": cart["purchased"],
        "recent_views": views,
        "viewed_pages": _unique_ids(views, "page"),
        "viewed_products": _unique_ids(views, "product"),
        "score": score,
        "lifecycle_stage": stage,
        "channels": channels,
        "suppressed": sorted(suppressed),
    }


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _count(text: str) -> int | None:
    try:
        count = int(text)
    except ValueError:
        # An older writer may have used HINCRBYFLOAT: "3" arrives as "3.0".
        number = _number(text)
        if number is None or not number.is_integer():
            return None
        count = int(number)
    return count if count >= 0 else None


def _since(at: float | None, now: float, unit_s: float) -> float | None:
    # A timestamp slightly ahead of `now` (clock skew between hosts) reads as "just now".
    return None if at is None else max(0.0, now - at) / unit_s


def _cart(text: str | None, last_purchase: float | None, now: float) -> dict[str, Any]:
    items, value, updated_at = _parse_cart(text) if text is not None else _EMPTY_CART
    # The writer empties the cart on purchase; checking last:purchase as well keeps a cart
    # from looking abandoned if that write was lost or came from an older version.
    purchased = last_purchase is not None and updated_at is not None and last_purchase >= updated_at
    return {
        "items": items,
        "value": value,
        "updated_at": updated_at,
        "hours_since_update": _since(updated_at, now, HOUR_S),
        "abandoned": items > 0 and not purchased,
        "purchased": purchased,
    }


def _parse_cart(text: str) -> tuple[int, float, float | None]:
    parts = text.split("|")
    if len(parts) != 3:
        return _EMPTY_CART
    items, value, updated_at = _count(parts[0]), _number(parts[1]), _number(parts[2])
    if items is None or value is None or updated_at is None:
        return _EMPTY_CART
    return items, value, updated_at


def _views(text: str | None) -> list[dict[str, str]]:
    if not text:
        return []
    views: list[dict[str, str]] = []
    for item in text.split(VIEW_SEPARATOR):
        kind, colon, ident = item.partition(":")  # ids may hold colons: split at the first
        if colon and kind and ident:
            views.append({"kind": kind, "id": ident})
    return views


def _unique_ids(views: list[dict[str, str]], kind: str) -> list[str]:
    # Newest first, each id once: "you looked at X" should not list X twice.
    return list(dict.fromkeys(view["id"] for view in views if view["kind"] == kind))
