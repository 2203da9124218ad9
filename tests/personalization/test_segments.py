"""Tests for segments: validation, membership, and targeting the resulting list."""

from __future__ import annotations

from typing import Any

import pytest

from experiments.conditions import evaluate
from personalization.behaviour import behaviour_view, parse_behaviour
from personalization.segments import (
    Segment,
    parse_segments,
    segment_reference_problems,
    segments_of,
)

NOW = 1_780_000_000.0

DEFINITIONS: list[dict[str, Any]] = [
    {
        "key": "vip_tehran",
        "description": "geo and purchase",
        "condition": {"contact.city": "Tehran", "behaviour.revenue.IRR": {"$gte": 5e7}},
    },
    {"key": "young_adults", "condition": {"contact.age": {"$gte": 18, "$lt": 30}}},
    {"key": "cart_abandoners", "condition": {"behaviour.cart.abandoned": True}},
    {"key": "pricing_viewers", "condition": {"behaviour.viewed_pages": {"$in": ["/pricing"]}}},
    {"key": "mobile_now", "condition": {"context.device": "mobile"}},
    {"key": "never_bought", "condition": {"behaviour.purchases": 0}},
]


def parsed() -> list[Segment]:
    segments, problems = parse_segments(DEFINITIONS, "segments")
    assert problems == []
    return segments


def data_for(
    contact: dict[str, Any], fields: dict[str, str], context: dict[str, Any]
) -> dict[str, Any]:
    return {
        "contact": contact,
        "behaviour": behaviour_view(parse_behaviour(fields), now=NOW),
        "context": context,
    }


def test_parse_keeps_order_and_descriptions() -> None:
    segments = parsed()
    assert [s.key for s in segments] == [d["key"] for d in DEFINITIONS]
    assert segments[0].description == "geo and purchase"
    assert segments[1].description == ""


def test_segments_of_a_contact_in_definition_order() -> None:
    data = data_for(
        {"city": "Tehran", "age": 29},
        {
            "rev:IRR": "60000000",
            "n:purchase": "2",
            "last:purchase": repr(NOW - 86_400 * 3),
            "cart": f"1|990000|{NOW - 3600!r}",
            "views": "page:/blog/x\x1fpage:/pricing",
        },
        {"device": "desktop"},
    )
    assert segments_of(parsed(), data) == [
        "vip_tehran",
        "young_adults",
        "cart_abandoners",
        "pricing_viewers",
    ]


def test_a_new_anonymous_visitor() -> None:
    data = data_for({}, {}, {"device": "mobile"})
    # A missing age compares as 0 in GrowthBook's rules: below 18, so not a young adult.
    assert segments_of(parsed(), data) == ["mobile_now", "never_bought"]


def test_no_segments() -> None:
    assert segments_of([], {"contact": {}}) == []


@pytest.mark.parametrize(
    ("doc", "path", "reason_part"),
    [
        ({"key": "x"}, "segments", "list"),
        ([1], "segments[0]", "object"),
        ([{"condition": {}}], "segments[0].key", "1-64"),
        ([{"key": "", "condition": {}}], "segments[0].key", "1-64"),
        ([{"key": "vip tehran", "condition": {}}], "segments[0].key", "1-64"),
        ([{"key": "x" * 65, "condition": {}}], "segments[0].key", "1-64"),
        ([{"key": "a", "condition": {}}, {"key": "a", "condition": {}}], "segments[1].key", "'a'"),
        ([{"key": "a"}], "segments[0].condition", "required"),
        ([{"key": "a", "condition": [], "rank": 1}], "segments[0].rank", "unknown field"),
        ([{"key": "a", "condition": {}, "description": 5}], "segments[0].description", "string"),
        ([{"key": "a", "condition": []}], "segments[0].condition", "object"),
        ([{"key": "a", "condition": {"city": "x"}}], "segments[0].condition.city", "start with"),
        (
            [{"key": "a", "condition": {"contact.city": {"$regex": "["}}}],
            "segments[0].condition.contact.city.$regex",
            "regular expression",
        ),
        (
            [{"key": "a", "condition": {"$or": [{"contact.segments": {"$in": ["b"]}}]}}],
            "segments[0].condition.$or[0].contact.segments",
            "cannot depend",
        ),
    ],
)
def test_problems_name_the_exact_field(doc: Any, path: str, reason_part: str) -> None:
    segments, problems = parse_segments(doc, "segments")
    assert segments == []  # nothing is half-applied
    assert [p for p in problems if p[0] == path and reason_part in p[1]], problems


def test_keys_may_use_the_allowed_punctuation() -> None:
    doc = [{"key": "a.B-9_", "condition": {}}, {"key": "x" * 64, "condition": {}}]
    assert parse_segments(doc, "s")[1] == []


def test_an_empty_condition_is_everyone() -> None:
    segments, _ = parse_segments([{"key": "all", "condition": {}}], "s")
    assert segments_of(segments, {"contact": {}}) == ["all"]


# What a placement or experiment condition does with the list at contact.segments.
IN_BOTH = {"contact": {"segments": ["vip_tehran", "cart_abandoners"]}}
IN_NONE: dict[str, Any] = {"contact": {"segments": []}}


@pytest.mark.parametrize(
    ("condition", "in_both", "in_none"),
    [
        # Strict equality: a list never equals a string (GrowthBook's Python SDK agrees).
        ({"contact.segments": "vip_tehran"}, False, False),
        ({"contact.segments": {"$eq": "vip_tehran"}}, False, False),
        ({"contact.segments": {"$in": ["vip_tehran"]}}, True, False),
        ({"contact.segments": {"$in": ["churn_risk", "cart_abandoners"]}}, True, False),
        ({"contact.segments": {"$nin": ["vip_tehran"]}}, False, True),
        ({"contact.segments": {"$nin": ["churn_risk"]}}, True, True),
        ({"contact.segments": {"$all": ["vip_tehran", "cart_abandoners"]}}, True, False),
        ({"contact.segments": {"$all": ["vip_tehran", "churn_risk"]}}, False, False),
        ({"contact.segments": {"$elemMatch": {"$eq": "vip_tehran"}}}, True, False),
        ({"contact.segments": {"$size": 0}}, False, True),
        # A list literal is compared whole, order included.
        ({"contact.segments": ["vip_tehran", "cart_abandoners"]}, True, False),
        ({"contact.segments": ["cart_abandoners", "vip_tehran"]}, False, False),
    ],
)
def test_targeting_the_segment_list(
    condition: dict[str, Any], in_both: bool, in_none: bool
) -> None:
    assert evaluate(condition, IN_BOTH) is in_both
    assert evaluate(condition, IN_NONE) is in_none


KNOWN = {"vip_tehran", "cart_abandoners"}


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"contact.segments": {"$in": ["vip_tehran"]}}, []),
        ({"contact.segments": {"$all": list(KNOWN)}, "contact.city": "Tehran"}, []),
        (
            {"contact.segments": "vip_tehran"},
            [
                (
                    "c.contact.segments",
                    'is a list, never equal to a string; use {"$in": ["vip_tehran"]}',
                )
            ],
        ),
        (
            {"$or": [{"contact.segments": ["vip_tehran"]}]},
            [
                (
                    "c.$or[0].contact.segments",
                    "matches only this exact list in this order; use $in or $all",
                )
            ],
        ),
        (
            {"contact.segments": {"$nin": ["vip_tehran", "vip_tehrn"]}},
            [("c.contact.segments.$nin[1]", "names no segment: 'vip_tehrn'")],
        ),
        (
            {"contact.segments": None},
            [("c.contact.segments", "is a list of segment keys; test it with $in, $all or $nin")],
        ),
    ],
)
def test_segment_reference_problems(condition: dict[str, Any], expected: list[Any]) -> None:
    assert segment_reference_problems(condition, "c", KNOWN) == expected
