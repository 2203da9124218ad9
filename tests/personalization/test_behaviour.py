"""Tests for the behaviour view: every stored field, malformed data, cart, score and stage."""

from __future__ import annotations

from typing import Any

import pytest

from personalization.behaviour import behaviour_view, parse_behaviour
from personalization.scoring import DAY_S, ScoringRules, parse_scoring

NOW = 1_780_000_000.0
HOUR = 3600.0


def _rules() -> ScoringRules:
    rules, problems = parse_scoring(
        {
            "half_life_days": 30,
            "rules": [{"event": "email_open", "points": 1}],
            "inactivity": {"after_days": 30, "points_per_week": -5},
            "stages": {"lead": 10, "mql": 50, "sql": 100},
        },
        "scoring",
    )
    assert rules is not None, problems
    return rules


RULES = _rules()


def typical() -> dict[bytes, bytes]:
    """A contact as HGETALL returns it: about 20 fields, all bytes."""
    fields = {
        "n:page_view": "14",
        "n:click": "3",
        "n:purchase": "1",
        "n:cart_update": "2",
        "last:page_view": repr(NOW - 2 * HOUR),
        "last:click": repr(NOW - 26 * HOUR),
        "last:purchase": repr(NOW - 10 * DAY_S),
        "last:cart_update": repr(NOW - 3 * HOUR),
        "first_seen": repr(NOW - 90 * DAY_S),
        "last_seen": repr(NOW - 2 * HOUR),
        "rev:IRR": "52000000",
        "rev:USD": "42.5",
        "cart": f"2|19.9|{NOW - 3 * HOUR!r}",
        "views": "\x1f".join(
            ["product:sku-42", "page:/pricing", "product:sku-7", "page:/", "product:sku-42"]
        ),
        "score": "30.0",
        "score_at": repr(NOW - 30 * DAY_S),
        "ch:email:d": "12",
        "ch:email:e": "4",
        "ch:sms:d": "2",
        "sup:sms": repr(NOW - 5 * DAY_S),
        "stage": "lead",
    }
    return {k.encode(): v.encode() for k, v in fields.items()}


def test_typical_contact() -> None:
    view = behaviour_view(parse_behaviour(typical()), now=NOW)
    assert view == {
        "counts": {"page_view": 14, "click": 3, "purchase": 1, "cart_update": 2},
        "last_at": {
            "page_view": NOW - 2 * HOUR,
            "click": NOW - 26 * HOUR,
            "purchase": NOW - 10 * DAY_S,
            "cart_update": NOW - 3 * HOUR,
        },
        "last_seen": NOW - 2 * HOUR,
        "first_seen": NOW - 90 * DAY_S,
        "days_since_last_activity": pytest.approx(2 / 24),
        "hours_since": {"page_view": 2.0, "click": 26.0, "purchase": 240.0, "cart_update": 3.0},
        "revenue": {"IRR": 52_000_000.0, "USD": 42.5},
        "purchases": 1,
        "cart": {
            "items": 2,
            "value": 19.9,
            "updated_at": NOW - 3 * HOUR,
            "hours_since_update": 3.0,
            "abandoned": True,
            "purchased": False,
        },
        "cart_abandoned_minutes": 180.0,
        "purchased_since_cart": False,
        "recent_views": [
            {"kind": "product", "id": "sku-42"},
            {"kind": "page", "id": "/pricing"},
            {"kind": "product", "id": "sku-7"},
            {"kind": "page", "id": "/"},
            {"kind": "product", "id": "sku-42"},
        ],
        "viewed_pages": ["/pricing", "/"],
        "viewed_products": ["sku-42", "sku-7"],  # newest first, each once
        "score": 30.0,  # no rules: shown as written
        "lifecycle_stage": "lead",
        "channels": {
            "email": {"delivered": 12, "engaged": 4},
            "sms": {"delivered": 2, "engaged": 0},
        },
        "suppressed": ["sms"],
    }


def test_str_fields_read_like_bytes() -> None:
    as_str = {k.decode(): v.decode() for k, v in typical().items()}
    assert behaviour_view(parse_behaviour(as_str), now=NOW) == behaviour_view(
        parse_behaviour(typical()), now=NOW
    )


def test_an_unknown_contact_has_a_stable_empty_shape() -> None:
    view = behaviour_view(parse_behaviour({}), now=NOW)
    assert view["counts"] == {} and view["purchases"] == 0
    assert view["last_seen"] is None and view["days_since_last_activity"] is None
    assert view["cart"] == {
        "items": 0,
        "value": 0.0,
        "updated_at": None,
        "hours_since_update": None,
        "abandoned": False,
        "purchased": False,
    }
    assert view["cart_abandoned_minutes"] is None and view["purchased_since_cart"] is False
    assert view["recent_views"] == [] and view["viewed_pages"] == []
    assert view["score"] == 0.0 and view["lifecycle_stage"] is None
    assert view["suppressed"] == [] and view["channels"] == {}


@pytest.mark.parametrize(
    ("key", "value"),
    [
        (b"n:click", b"lots"),
        (b"n:click", b"-2"),
        (b"n:click", b"2.5"),
        (b"n:", b"3"),
        (b"last:click", b"nan"),
        (b"last:click", b""),
        (b"rev:USD", b"inf"),
        (b"rev:USD", b"1e999"),
        (b"last_seen", b"yesterday"),
        (b"first_seen", b""),
        (b"ch:email:x", b"3"),
        (b"ch::d", b"3"),
        (b"ch:email:d", b"many"),
        (b"\xff\xfe", b"1"),
        (b"n:click", b"\xff"),
        (b"score", b"high"),
        (b"score_at", b"then"),
        (b"views", b"nocolon\x1f:noid\x1fpage:"),
        (b"cart", b"garbage"),
        (b"cart", b"2|x|1"),
        (b"cart", b"2|1.0"),
        (b"cart", b"-1|1.0|5"),
        (b"something_new", b"whatever"),
    ],
)
def test_malformed_fields_are_skipped(key: bytes, value: bytes) -> None:
    view = behaviour_view(parse_behaviour({key: value}), now=NOW, scoring=RULES)
    empty = behaviour_view(parse_behaviour({}), now=NOW, scoring=RULES)
    assert view == empty


def test_malformed_field_does_not_hide_the_others() -> None:
    fields: dict[bytes, bytes] = {**typical(), b"n:oops": b"x", b"last:oops": b"?"}
    assert behaviour_view(parse_behaviour(fields), now=NOW) == behaviour_view(
        parse_behaviour(typical()), now=NOW
    )


def test_counts_written_as_floats_by_an_older_version() -> None:
    assert behaviour_view(parse_behaviour({b"n:click": b"3.0"}), now=NOW)["counts"] == {"click": 3}


def test_ids_keep_their_colons() -> None:
    view = behaviour_view(parse_behaviour({"views": "page:/a:b\x1fproduct:urn:sku:1"}), now=NOW)
    assert view["viewed_pages"] == ["/a:b"] and view["viewed_products"] == ["urn:sku:1"]


def test_a_channel_is_suppressed_whatever_the_value() -> None:
    assert behaviour_view(parse_behaviour({"sup:email": "?", "sup:push": "1"}), now=NOW)[
        "suppressed"
    ] == [
        "email",
        "push",
    ]


def test_future_timestamps_read_as_just_now() -> None:
    view = behaviour_view(
        parse_behaviour({"last_seen": repr(NOW + 5), "last:click": repr(NOW + 5)}), now=NOW
    )
    assert view["days_since_last_activity"] == 0.0 and view["hours_since"] == {"click": 0.0}


@pytest.mark.parametrize(
    ("cart", "last_purchase", "abandoned"),
    [
        ("2|19.9|1000", None, True),
        ("2|19.9|1000", "999", True),  # bought before this cart
        ("2|19.9|1000", "1000", False),  # bought in the same second: the cart was the order
        ("2|19.9|1000", "1001", False),  # bought after: the writer's emptying was lost
        ("0|0|1000", None, False),  # emptied
    ],
)
def test_cart_abandoned(cart: str, last_purchase: str | None, abandoned: bool) -> None:
    fields = {"cart": cart} | ({"last:purchase": last_purchase} if last_purchase else {})
    assert behaviour_view(parse_behaviour(fields), now=NOW)["cart"]["abandoned"] is abandoned


def test_score_decays_with_rules_and_stage_moves_forward_only() -> None:
    view = behaviour_view(parse_behaviour(typical()), now=NOW, scoring=RULES)
    # 30 points written 30 days ago, active 2 hours ago (no penalty): 15.
    assert view["score"] == pytest.approx(15.0, rel=1e-12)
    # A purchase on record makes a customer.
    assert view["lifecycle_stage"] == "customer"
    no_purchase = {k: v for k, v in typical().items() if b"purchase" not in k}
    assert (
        behaviour_view(parse_behaviour(no_purchase), now=NOW, scoring=RULES)["lifecycle_stage"]
        == "lead"
    )
    fresh = {"score": "60", "score_at": repr(NOW), "last_seen": repr(NOW)}
    assert (
        behaviour_view(parse_behaviour(fresh), now=NOW, scoring=RULES)["lifecycle_stage"] == "mql"
    )


def test_score_without_rules_is_as_written() -> None:
    assert behaviour_view(parse_behaviour({"score": "12.5"}), now=NOW)["score"] == 12.5


def test_the_view_is_json_like() -> None:
    # Conditions and templates only understand JSON types.
    def check(value: Any) -> None:
        if isinstance(value, dict):
            assert all(isinstance(k, str) for k in value)
            for item in value.values():
                check(item)
        elif isinstance(value, list):
            for item in value:
                check(item)
        else:
            assert value is None or isinstance(value, bool | int | float | str)

    check(behaviour_view(parse_behaviour(typical()), now=NOW, scoring=RULES))
