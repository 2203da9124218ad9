"""A contact's stored behaviour, parsed once, and the `behaviour.*` data templates see from it."""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final, NamedTuple

from personalization.scoring import ScoringRules, current_score, stage_for

HOUR_S: Final = 3600.0
DAY_S: Final = 86_400.0
VIEW_SEPARATOR: Final = "\x1f"


class Cart(NamedTuple):
    items: int
    value: float
    updated_at: float | None


EMPTY_CART: Final = Cart(0, 0.0, None)
_NONE: Final[Mapping[Any, Any]] = MappingProxyType({})


class StoredBehaviour(NamedTuple):
    """What the store knows about a contact's behaviour, already parsed: everything
    behaviour_view reads. decide's contact codec builds it straight from the packed hash;
    `parse_behaviour` from fields in the one-value-per-field layout (`n:<type>`…). A
    NamedTuple, not a frozen dataclass: every decision builds one, and a frozen dataclass's
    __init__ costs ~1.5 µs more."""

    counts: Mapping[str, int] = _NONE  # per event type
    last_at: Mapping[str, float] = _NONE  # per event type
    revenue: Mapping[str, float] = _NONE  # per currency
    channels: Mapping[str, tuple[int, int]] = _NONE  # delivered, engaged
    suppressed: tuple[str, ...] = ()  # channels
    last_seen: float | None = None
    first_seen: float | None = None
    score: float | None = None  # as written at score_at, not decayed
    score_at: float | None = None
    stage: str | None = None
    cart: Cart = EMPTY_CART
    views: tuple[tuple[str, str], ...] = ()  # (kind, id), newest first


EMPTY: Final = StoredBehaviour()


def behaviour_view(
    stored: StoredBehaviour, *, now: float, scoring: ScoringRules | None = None
) -> dict[str, Any]:
    """The `behaviour` root as of `now` (epoch seconds). Without `scoring` the stored score is
    shown as written (nothing to decay it by). Every container is new: the view is the
    caller's to change."""
    last_at = dict(stored.last_at)
    last_seen = stored.last_seen
    purchases = stored.counts.get("purchase", 0)
    score = stored.score or 0.0
    stage = stored.stage or None
    if scoring is not None:
        score = current_score(score, stored.score_at, last_seen, now, scoring)
        stage = stage_for(stage, score, scoring, purchases)
    views = stored.views
    cart = _cart(stored.cart, last_at.get("purchase"), now)
    return {
        "counts": dict(stored.counts),
        "last_at": last_at,
        "last_seen": last_seen,
        "first_seen": stored.first_seen,
        "days_since_last_activity": _since(last_seen, now, DAY_S),
        "hours_since": {
            name: (now - at) / HOUR_S if at < now else 0.0 for name, at in last_at.items()
        },
        "revenue": dict(stored.revenue),
        "purchases": purchases,
        "cart": cart,
        # The names DESIGN.md's contract example targets: minutes while a cart waits, and
        # whether a purchase came after the cart's last update.
        "cart_abandoned_minutes": cart["hours_since_update"] * 60 if cart["abandoned"] else None,
        "purchased_since_cart": cart["purchased"],
        "recent_views": [{"kind": kind, "id": ident} for kind, ident in views],
        "viewed_pages": _unique_ids(views, "page"),
        "viewed_products": _unique_ids(views, "product"),
        "score": score,
        "lifecycle_stage": stage,
        "channels": {
            name: {"delivered": delivered, "engaged": engaged}
            for name, (delivered, engaged) in stored.channels.items()
        },
        "suppressed": sorted(stored.suppressed),
    }


def parse_behaviour(
    fields: Mapping[str, str] | Mapping[bytes, bytes] | Mapping[str | bytes, str | bytes],
) -> StoredBehaviour:
    """The behaviour in fields named as the store named them before the packed hash
    (`n:<type>`, `last:<type>`, `ch:<channel>:d`, `rev:<CUR>`, `sup:<channel>`, `cart`…),
    as a preview sends them. Malformed fields are skipped, never raised on."""
    counts: dict[str, int] = {}
    last_at: dict[str, float] = {}
    revenue: dict[str, float] = {}
    channels: dict[str, tuple[int, int]] = {}
    suppressed: list[str] = []
    plain: dict[str, str] = {}  # fields without a `<kind>:` prefix, read after the loop
    for raw_key, raw_value in fields.items():
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
            if (count := parse_count(value)) is not None:
                counts[name] = count
        elif kind == "last":
            if (at := parse_number(value)) is not None:
                last_at[name] = at
        elif kind == "rev":
            if (amount := parse_number(value)) is not None:
                revenue[name] = amount
        elif kind == "ch":
            channel, _, which = name.rpartition(":")
            if channel and which in ("d", "e") and (count := parse_count(value)) is not None:
                delivered, engaged = channels.get(channel, (0, 0))
                channels[channel] = (count, engaged) if which == "d" else (delivered, count)
        elif kind == "sup":
            # Presence alone suppresses, whatever the value: messaging a channel that
            # bounced or unsubscribed is worse than skipping one with a garbled timestamp.
            suppressed.append(name)
    cart = plain.get("cart")
    return StoredBehaviour(
        counts, last_at, revenue, channels, tuple(suppressed),
        last_seen=parse_number(plain.get("last_seen")),
        first_seen=parse_number(plain.get("first_seen")),
        score=parse_number(plain.get("score")),
        score_at=parse_number(plain.get("score_at")),
        stage=plain.get("stage"),
        cart=parse_cart(cart) if cart is not None else EMPTY_CART,
        views=parse_views(plain.get("views")),
    )  # fmt: skip


def parse_number(text: str | None) -> float | None:
    """A finite number, else None."""
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def parse_count(text: str) -> int | None:
    """A count at least 0, else None."""
    try:
        count = int(text)
    except ValueError:
        # An older writer may have used HINCRBYFLOAT: "3" arrives as "3.0".
        number = parse_number(text)
        if number is None or not number.is_integer():
            return None
        count = int(number)
    return count if count >= 0 else None


def parse_cart(text: str) -> Cart:
    """`items|value|updated_at`, as the event script writes it; malformed reads as empty."""
    parts = text.split("|")
    if len(parts) != 3:
        return EMPTY_CART
    items, value, updated_at = parse_count(parts[0]), parse_number(parts[1]), parse_number(parts[2])
    if items is None or value is None or updated_at is None:
        return EMPTY_CART
    return Cart(items, value, updated_at)


def parse_views(text: str | None) -> tuple[tuple[str, str], ...]:
    """`kind:id` items, newest first, joined by VIEW_SEPARATOR; malformed items are skipped."""
    if not text:
        return ()
    views = []
    for item in text.split(VIEW_SEPARATOR):
        kind, colon, ident = item.partition(":")  # ids may hold colons: split at the first
        if colon and kind and ident:
            views.append((kind, ident))
    return tuple(views)


def _unique_ids(views: tuple[tuple[str, str], ...], kind: str) -> list[str]:
    # Newest first, each id once: "you looked at X" should not list X twice.
    if not views:
        return []
    return list(dict.fromkeys([ident for k, ident in views if k == kind]))


def _since(at: float | None, now: float, unit_s: float) -> float | None:
    # A timestamp slightly ahead of `now` (clock skew between hosts) reads as "just now".
    return None if at is None else max(0.0, now - at) / unit_s


def _cart(cart: Cart, last_purchase: float | None, now: float) -> dict[str, Any]:
    items, value, updated_at = cart
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
