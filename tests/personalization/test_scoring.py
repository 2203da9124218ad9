"""Tests for lead scoring: rule validation, points, decay, order independence, stages."""

from __future__ import annotations

import itertools
import math
from typing import Any

import pytest

from personalization.behaviour import behaviour_view, parse_behaviour
from personalization.scoring import (
    DAY_S,
    ScoringRules,
    add_points,
    current_score,
    decay,
    inactivity_penalty,
    parse_scoring,
    points_for,
    score_event,
    stage_for,
)

EXAMPLE: dict[str, Any] = {
    "half_life_days": 30,
    "rules": [
        {"event": "page_view", "where": {"properties.page": "/pricing"}, "points": 10},
        {"event": "page_view", "where": {"properties.page": {"$regex": "^/careers"}}, "points": -5},
        {"event": "page_view", "where": {"properties.page": {"$regex": "^/blog/"}}, "points": 2},
        {"event": "email_open", "points": 1},
        {"event": "unsubscribed", "points": -20},
    ],
    "inactivity": {"after_days": 30, "points_per_week": -5},
    "stages": {"lead": 10, "mql": 50, "sql": 100},
}
HALF_LIFE_S = 30 * DAY_S


def rules_of(doc: dict[str, Any]) -> ScoringRules:
    rules, problems = parse_scoring(doc, "scoring")
    assert problems == []
    assert rules is not None
    return rules


RULES = rules_of(EXAMPLE)


def test_example_parses() -> None:
    assert RULES.half_life_s == HALF_LIFE_S
    assert len(RULES.rules) == 5
    assert RULES.inactivity is not None and RULES.inactivity.points_per_week == -5
    assert dict(RULES.stages) == {"lead": 10, "mql": 50, "sql": 100}


@pytest.mark.parametrize(
    ("change", "path", "reason_part"),
    [
        ({"half_life_days": 0}, "scoring.half_life_days", "above 0"),
        ({"half_life_days": True}, "scoring.half_life_days", "number"),
        ({"colour": 1}, "scoring.colour", "unknown field"),
        ({"rules": {}}, "scoring.rules", "list"),
        ({"rules": [{"points": 1}]}, "scoring.rules[0].event", "event type"),
        ({"rules": [{"event": "x"}]}, "scoring.rules[0].points", "required"),
        ({"rules": [{"event": "x", "points": None}]}, "scoring.rules[0].points", "required"),
        ({"rules": [{"event": "x", "points": "5"}]}, "scoring.rules[0].points", "number"),
        ({"rules": [{"event": "x", "points": 1, "when": {}}]}, "scoring.rules[0].when", "unknown"),
        (
            {"rules": [{"event": "x", "points": 1, "where": {"page": "/a"}}]},
            "scoring.rules[0].where.page",
            "properties.",
        ),
        (
            {"rules": [{"event": "x", "points": 1, "where": {"contact.city": "Tehran"}}]},
            "scoring.rules[0].where.contact.city",
            "properties.",
        ),
        (
            {"rules": [{"event": "x", "points": 1, "where": {"$or": [{"page": 1}]}}]},
            "scoring.rules[0].where.$or[0].page",
            "properties.",
        ),
        (
            {"rules": [{"event": "x", "points": 1, "where": {"properties.p": {"$regex": "("}}}]},
            "scoring.rules[0].where.properties.p.$regex",
            "regular expression",
        ),
        (
            {"rules": [{"event": "x", "points": 1, "where": {"properties.p": {"$bogus": 1}}}]},
            "scoring.rules[0].where.properties.p",
            "unknown operator",
        ),
        (
            {"inactivity": {"after_days": 30, "points_per_week": 5}},
            "scoring.inactivity.points_per_week",
            "to 0",
        ),
        ({"inactivity": {"points_per_week": -5}}, "scoring.inactivity.after_days", "required"),
        ({"inactivity": []}, "scoring.inactivity", "object"),
        ({"stages": {"customer": 500}}, "scoring.stages.customer", "only lead, mql, sql"),
        ({"stages": {"lead": 50, "mql": 50}}, "scoring.stages.mql", "above the lead"),
        ({"stages": {"lead": 10, "sql": 5}}, "scoring.stages.sql", "above the lead"),
    ],
)
def test_problems_name_the_exact_field(change: dict[str, Any], path: str, reason_part: str) -> None:
    rules, problems = parse_scoring({**EXAMPLE, **change}, "scoring")
    assert rules is None
    assert [p for p in problems if p[0] == path and reason_part in p[1]], problems


def test_not_an_object_and_no_rules() -> None:
    assert parse_scoring([], "s") == (None, [("s", "must be an object")])
    assert parse_scoring({}, "s") == (None, [("s.rules", "must be a list of rules")])


def test_where_under_properties_is_accepted_whole_and_nested() -> None:
    doc = {"rules": [{"event": "x", "points": 1, "where": {"properties": {"$exists": True}}}]}
    assert parse_scoring(doc, "s")[1] == []
    assert rules_of(doc).half_life_s == math.inf  # no half-life: points never decay


@pytest.mark.parametrize(
    ("event", "properties", "points"),
    [
        ("page_view", {"page": "/pricing"}, 10.0),
        ("page_view", {"page": "/careers/engineer"}, -5.0),
        ("page_view", {"page": "/blog/ab-testing"}, 2.0),
        ("page_view", {"page": "/"}, 0.0),
        ("page_view", {}, 0.0),
        ("email_open", {"campaign": "nov"}, 1.0),
        ("click", {"page": "/pricing"}, 0.0),
    ],
)
def test_points_for(event: str, properties: dict[str, Any], points: float) -> None:
    assert points_for(RULES, event, properties) == points


def test_points_of_every_matching_rule_add_up() -> None:
    rules = rules_of({"rules": [{"event": "x", "points": 3}, {"event": "x", "points": 4}]})
    assert points_for(rules, "x", {}) == 7


def test_decay_halves_each_half_life_and_never_grows() -> None:
    assert decay(8.0, 100.0, 100.0 + 2 * HALF_LIFE_S, HALF_LIFE_S) == 2.0
    assert decay(8.0, 100.0, 100.0, HALF_LIFE_S) == 8.0
    assert decay(8.0, 100.0, 50.0, HALF_LIFE_S) == 8.0  # a clock behind `at`
    assert decay(8.0, 0.0, 1e9, math.inf) == 8.0


def test_add_points_in_order_and_late() -> None:
    assert add_points(0.0, None, 5.0, 1000.0, HALF_LIFE_S) == (5.0, 1000.0)
    # 8 points written at 0, one half-life later: 4 + 3.
    assert add_points(8.0, 0.0, 3.0, HALF_LIFE_S, HALF_LIFE_S) == (7.0, HALF_LIFE_S)
    # 4 points from an event one half-life before `at` arrive late: 2 are added at `at`.
    assert add_points(8.0, HALF_LIFE_S, 4.0, 0.0, HALF_LIFE_S) == (10.0, HALF_LIFE_S)


def test_out_of_order_events_give_the_in_order_score() -> None:
    events = [
        (0.0, 10.0),
        (3 * DAY_S, -5.0),
        (7.5 * DAY_S, 1.0),
        (40 * DAY_S, 2.0),
        (41 * DAY_S, 7),
    ]
    # The defining sum, at the last event: each event's points halved per 30 days since.
    latest = 41 * DAY_S
    expected = sum(p * 2 ** (-(latest - t) / HALF_LIFE_S) for t, p in events)
    for order in itertools.permutations(events):
        score, at = 0.0, None
        for t, points in order:
            score, at = add_points(score, at, points, t, HALF_LIFE_S)
        assert at == latest
        assert score == pytest.approx(expected, rel=1e-12)


def test_penalty_without_decay_is_linear_per_week() -> None:
    rules = rules_of({"rules": [], "inactivity": {"after_days": 30, "points_per_week": -5}})
    assert inactivity_penalty(0.0, 0.0, 30 * DAY_S, rules) == 0.0
    assert inactivity_penalty(0.0, 0.0, 44 * DAY_S, rules) == pytest.approx(-10.0, rel=1e-12)
    assert inactivity_penalty(0.0, None, 44 * DAY_S, rules) == 0.0  # never active
    assert current_score(100.0, 0.0, 0.0, 44 * DAY_S, rules) == pytest.approx(90.0)


def test_penalty_with_decay_matches_a_fine_sum_of_decayed_weekly_shares() -> None:
    # Independent check of the closed form: accrue the penalty minute by minute, each
    # minute's share decayed from then until `now`.
    start, now, rate_per_s = 30 * DAY_S, 44 * DAY_S, -5 / (7 * DAY_S)
    step = 60.0
    mids = (start + (i + 0.5) * step for i in range(int((now - start) / step)))
    numeric = sum(rate_per_s * step * 2 ** (-(now - u) / HALF_LIFE_S) for u in mids)
    assert inactivity_penalty(0.0, 0.0, now, RULES) == pytest.approx(numeric, rel=1e-9)


def test_penalty_only_removes_interest() -> None:
    assert current_score(1.0, 0.0, 0.0, 200 * DAY_S, RULES) == 0.0
    assert current_score(-20.0, 0.0, 0.0, 30 * DAY_S, RULES) == -10.0  # decayed, no penalty


def test_penalty_starts_at_score_at_when_that_is_later() -> None:
    # A score written during the inactivity window already holds the penalty up to then.
    assert inactivity_penalty(40 * DAY_S, 0.0, 40 * DAY_S, RULES) == 0.0


def test_a_returning_contact_keeps_the_penalty() -> None:
    day = DAY_S
    score, at = score_event(0.0, None, None, 20.0, 0.0, RULES)
    # Back after 44 days with a page view worth nothing: the penalty is folded in.
    folded, at = score_event(score, at, 0.0, 0.0, 44 * day, RULES)
    assert at == 44 * day
    assert folded == pytest.approx(current_score(20.0, 0.0, 0.0, 44 * day, RULES), rel=1e-12)
    # From now on no penalty until 30 more days pass.
    assert current_score(folded, at, 44 * day, 60 * day, RULES) == pytest.approx(
        folded * 2 ** (-16 / 30), rel=1e-12
    )


def test_a_late_event_does_not_touch_the_penalty() -> None:
    score, at = score_event(6.0, 10 * DAY_S, 10 * DAY_S, 4.0, 10 * DAY_S - HALF_LIFE_S, RULES)
    assert (score, at) == (8.0, 10 * DAY_S)


@pytest.mark.parametrize(
    ("current", "score", "purchases", "expected"),
    [
        (None, 0, 0, "subscriber"),
        (None, 9.99, 0, "subscriber"),
        (None, 10, 0, "lead"),
        ("subscriber", 50, 0, "mql"),
        (None, 1000, 0, "sql"),  # score never reaches opportunity
        ("mql", 3, 0, "mql"),  # a decayed score does not demote
        ("sql", -40, 0, "sql"),
        ("opportunity", 120, 0, "opportunity"),  # set by a person, kept
        ("opportunity", 0, 1, "customer"),  # a purchase moves it on
        ("lead", 0, 2, "customer"),
        ("evangelist", 0, 5, "evangelist"),  # never moved back, not even by a purchase
        ("customer", 500, 0, "customer"),
        ("partner", 500, 3, "partner"),  # a stage we do not know is left alone
    ],
)
def test_stage_for(current: str | None, score: float, purchases: int, expected: str) -> None:
    assert stage_for(current, score, RULES, purchases) == expected


def test_without_thresholds_only_a_purchase_moves_the_stage() -> None:
    rules = rules_of({"rules": []})
    assert stage_for(None, 1e6, rules, 0) == "subscriber"
    assert stage_for(None, 0, rules, 1) == "customer"


# A visitor over 45 days (all at 09:00 UTC): blog posts on days 0 and 1, the pricing page on
# days 2 and 4, an email open on day 3, a careers page on day 5, then 40 days of silence.
T0 = 1_772_355_600.0  # 2026-03-01T09:00:00Z
VISITS = [
    (0, "page_view", {"page": "/blog/what-is-ab-testing"}),
    (1, "page_view", {"page": "/blog/bandits"}),
    (2, "page_view", {"page": "/pricing"}),
    (3, "email_open", {"campaign": "welcome_2"}),
    (4, "page_view", {"page": "/pricing"}),
    (5, "page_view", {"page": "/careers/data-scientist"}),
]
# Computed by hand: points p on day d are worth p * 2^(-(T - d) / 30) on day T;
# the penalty runs from day 35 at -5/7 a day, decayed: -5/7 * 30/ln 2 * (1 - 2^(-(T-35)/30)).
EXPECTED = {
    # 2 * 2^(-2/30) + 2 * 2^(-1/30) + 10
    2: 13.864003144689324,
    # 2 * 2^(-5/30) + 2 * 2^(-4/30) + 10 * 2^(-3/30) + 2^(-2/30) + 10 * 2^(-1/30) - 5
    5: 18.66201361701806,
    # half of the day-5 score; the penalty starts just now
    35: 9.33100680850903,
    # 18.66201361701806 * 2^(-40/30) - 5/7 * 30/ln 2 * (1 - 2^(-10/30)) = 7.4060250 - 6.3777263
    45: 1.0282986954303892,
    # 5.23685050753 - 13.5644962617 < 0: the penalty stops at zero
    60: 0.0,
}


def _write(day_limit: float) -> dict[str, str]:
    """Score the visits as the writer would, up to `day_limit`: the stored hash fields."""
    score, at, last_seen, stage = 0.0, None, None, None
    for day, event, properties in VISITS:
        t = T0 + day * DAY_S
        if t > T0 + day_limit * DAY_S:
            break
        points = points_for(RULES, event, properties)
        score, at = score_event(score, at, last_seen, points, t, RULES)
        stage = stage_for(stage, score, RULES, 0)  # the high-water mark is kept at write
        last_seen = t
    return {
        "score": repr(score),
        "score_at": repr(at),
        "last_seen": repr(last_seen),
        "stage": str(stage),
    }


@pytest.mark.parametrize("day", sorted(EXPECTED))
def test_a_visitors_45_days(day: int) -> None:
    fields = _write(day)
    now = T0 + day * DAY_S
    score = current_score(
        float(fields["score"]), float(fields["score_at"]), float(fields["last_seen"]), now, RULES
    )
    assert score == pytest.approx(EXPECTED[day], rel=1e-12, abs=1e-12)
    # behaviour_view reads the same from the stored hash; "lead", reached on day 2, stays.
    view = behaviour_view(parse_behaviour(fields), now=now, scoring=RULES)
    assert view["score"] == pytest.approx(EXPECTED[day], rel=1e-12, abs=1e-12)
    assert view["lifecycle_stage"] == "lead"
