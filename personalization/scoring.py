"""Lead scoring: points per event that decay with a half-life, an inactivity penalty, stages."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

from experiments.conditions import evaluate, fields_tested, validate_condition

Problem = tuple[str, str]

DAY_S: Final = 86_400.0
WEEK_S: Final = 7 * DAY_S
# Lifecycle stages in order; a contact only ever moves forward along this list.
STAGES: Final = ("subscriber", "lead", "mql", "sql", "opportunity", "customer", "evangelist")
# Only these are reached by score; the later ones need a person or a purchase.
SCORED_STAGES: Final = ("lead", "mql", "sql")
_RANK: Final = {stage: rank for rank, stage in enumerate(STAGES)}
MAX_RULES: Final = 200
MAX_DAYS: Final = 3650.0
MAX_POINTS: Final = 1e6
_FIELDS: Final = frozenset({"half_life_days", "rules", "inactivity", "stages"})
_RULE_FIELDS: Final = frozenset({"event", "where", "points"})
_INACTIVITY_FIELDS: Final = frozenset({"after_days", "points_per_week"})
# What validate_condition says about a path outside contact/behaviour/context; a `where`
# has its own root (`properties.`), checked here, so that one message is set aside.
_ROOT_REASON: Final = validate_condition({"x": 1}, "p")[0].partition(": ")[2]


@dataclass(frozen=True)
class ScoreRule:
    event: str
    points: float
    where: Mapping[str, Any] | None = None  # a condition over {"properties": …}


@dataclass(frozen=True)
class Inactivity:
    after_days: float
    points_per_week: float  # ≤ 0; accrues continuously once `after_days` have passed


@dataclass(frozen=True)
class ScoringRules:
    half_life_days: float | None  # None: points never decay
    rules: tuple[ScoreRule, ...] = ()
    inactivity: Inactivity | None = None
    stages: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    _by_event: Mapping[str, tuple[ScoreRule, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_event: dict[str, tuple[ScoreRule, ...]] = {}
        for rule in self.rules:
            by_event[rule.event] = (*by_event.get(rule.event, ()), rule)
        object.__setattr__(self, "_by_event", MappingProxyType(by_event))

    @property
    def half_life_s(self) -> float:
        return math.inf if self.half_life_days is None else self.half_life_days * DAY_S


def points_for(rules: ScoringRules, event_type: str, properties: Mapping[str, Any]) -> float:
    """Sum the points of every rule for this event type whose `where` holds."""
    doc = {"properties": properties}
    return float(
        sum(
            rule.points
            for rule in rules._by_event.get(event_type, ())
            if rule.where is None or evaluate(rule.where, doc)
        )
    )


def decay(score: float, at: float, now: float, half_life_s: float) -> float:
    """The score written at `at`, halved every `half_life_s` until `now` (never grown)."""
    elapsed = now - at
    if elapsed <= 0 or math.isinf(half_life_s):
        return score
    return score * math.pow(0.5, elapsed / half_life_s)


def add_points(
    score: float, at: float | None, points: float, now: float, half_life_s: float
) -> tuple[float, float]:
    """Add an event's points at time `now` to a score written at `at`; return (score, at).

    The stored score always means "as of `at`". A newer event decays the score to its own
    time and adds its points there. An older one (a late or retried delivery) has its points
    decayed to `at` instead, so the result is the same whatever order events arrive in:
    both equal the sum of points * 0.5^((t_latest - t_event) / half_life).
    """
    if at is None:
        return points, now
    if now >= at:
        return decay(score, at, now, half_life_s) + points, now
    return score + decay(points, now, at, half_life_s), at


def inactivity_penalty(
    at: float | None, last_activity: float | None, now: float, rules: ScoringRules
) -> float:
    """The (≤ 0) points the inactivity rule has accrued by `now`, each decayed since it accrued.

    The penalty runs at points_per_week / 7 per day from `after_days` after the last activity
    — or from `at` if later, because the stored score already holds everything before `at`.
    Each instant's share decays like an event's points, so the total is the integral
    rate * half_life / ln 2 * (1 - 0.5^(Δ / half_life)), or rate * Δ without decay.
    """
    inactivity = rules.inactivity
    if inactivity is None or last_activity is None or inactivity.points_per_week == 0:
        return 0.0
    start = last_activity + inactivity.after_days * DAY_S
    if at is not None:
        start = max(start, at)
    elapsed = now - start
    if elapsed <= 0:
        return 0.0
    rate = inactivity.points_per_week / WEEK_S
    half_life_s = rules.half_life_s
    if math.isinf(half_life_s):
        return rate * elapsed
    return rate * half_life_s / math.log(2) * (1 - math.pow(0.5, elapsed / half_life_s))


def current_score(
    score: float,
    at: float | None,
    last_activity: float | None,
    now: float,
    rules: ScoringRules,
) -> float:
    """The score as of `now`: decayed since `at`, less the inactivity penalty.

    The penalty only removes interest a contact showed: it never takes a positive score
    below zero and never touches a score already at or below zero (negative rules such as
    an unsubscribe are a signal; a long silence without decay must not grow without bound).
    """
    decayed = score if at is None else decay(score, at, now, rules.half_life_s)
    penalty = inactivity_penalty(at, last_activity, now, rules)
    if penalty < 0 and decayed > 0:
        return max(0.0, decayed + penalty)
    return decayed


def score_event(
    score: float,
    at: float | None,
    last_activity: float | None,
    points: float,
    t: float,
    rules: ScoringRules,
) -> tuple[float, float]:
    """What the writer stores (score, score_at) for any event at `t`, even one worth 0 points.

    A newer event first folds the decay and the inactivity penalty up to `t` (so a contact
    who returns does not get the penalty back), then adds its points; an older one only adds
    its points decayed to `at`. `last_activity` is `last_seen` before this event.
    """
    if at is not None and t > at:
        score, at = current_score(score, at, last_activity, t, rules), t
    return add_points(score, at, points, t, rules.half_life_s)


def stage_for(current_stage: str | None, score: float, rules: ScoringRules, purchases: int) -> str:
    """The lifecycle stage after this score and purchase count: forward only, never back.

    The candidate is the highest of lead/mql/sql whose threshold the score reaches (else
    subscriber), raised to customer once there is a purchase; the result is the later of
    the candidate and `current_stage`. So a decaying score never demotes anyone, a score
    never reaches opportunity or beyond, a purchase promotes even an opportunity, and
    evangelist stays. A stage we do not know (set by a person or another tool) is left as
    it is, because we cannot tell where it ranks; None counts as subscriber.
    """
    if current_stage is not None and current_stage not in _RANK:
        return current_stage
    candidate = "subscriber"
    for stage in SCORED_STAGES:
        threshold = rules.stages.get(stage)
        if threshold is not None and score >= threshold:
            candidate = stage
    if purchases > 0:
        candidate = "customer"
    current = current_stage or "subscriber"
    return candidate if _RANK[candidate] > _RANK[current] else current


def parse_scoring(doc: Any, path: str = "scoring") -> tuple[ScoringRules | None, list[Problem]]:
    """Validate a scoring document; return the rules (None if anything is wrong) and problems."""
    problems: list[Problem] = []
    if not isinstance(doc, Mapping):
        return None, [(path, "must be an object")]
    problems += [(f"{path}.{k}", "unknown field") for k in doc if k not in _FIELDS]
    half_life = _number(
        doc, "half_life_days", path, problems, low=0.0, high=MAX_DAYS, above_low=True
    )
    rules = _parse_rules(doc.get("rules"), f"{path}.rules", problems)
    inactivity = None
    if doc.get("inactivity") is not None:
        inactivity = _parse_inactivity(doc["inactivity"], f"{path}.inactivity", problems)
    stages = _parse_stages(doc.get("stages"), f"{path}.stages", problems)
    if problems:
        return None, problems
    return ScoringRules(half_life, tuple(rules), inactivity, MappingProxyType(stages)), []


def _parse_rules(doc: Any, path: str, problems: list[Problem]) -> list[ScoreRule]:
    if not isinstance(doc, list):
        problems.append((path, "must be a list of rules"))
        return []
    if len(doc) > MAX_RULES:
        problems.append((path, f"must hold at most {MAX_RULES} rules"))
    rules: list[ScoreRule] = []
    for index, item in enumerate(doc):
        where_path = f"{path}[{index}]"
        if not isinstance(item, Mapping):
            problems.append((where_path, "must be an object"))
            continue
        problems += [(f"{where_path}.{k}", "unknown field") for k in item if k not in _RULE_FIELDS]
        event = item.get("event")
        if not isinstance(event, str) or not 1 <= len(event) <= 64:
            problems.append((f"{where_path}.event", "must be an event type of 1-64 characters"))
        points = _number(item, "points", where_path, problems, low=-MAX_POINTS, high=MAX_POINTS)
        if item.get("points") is None:
            problems.append((f"{where_path}.points", "is required"))
        where = item.get("where")
        if where is not None:
            problems += _where_problems(where, f"{where_path}.where")
        if isinstance(event, str) and points is not None:
            rules.append(ScoreRule(event, points, where))
    return rules


def _where_problems(where: Any, path: str) -> list[Problem]:
    problems: list[Problem] = []
    for key, _, key_path in fields_tested(where, path):
        if key != "properties" and not key.startswith("properties."):
            problems.append((key_path, "must be a path under properties. e.g. properties.page"))
    for problem in validate_condition(where, path):
        where_at, _, reason = problem.partition(": ")
        if reason != _ROOT_REASON:
            problems.append((where_at, reason))
    return problems


def _parse_inactivity(doc: Any, path: str, problems: list[Problem]) -> Inactivity | None:
    if not isinstance(doc, Mapping):
        problems.append((path, "must be an object"))
        return None
    problems += [(f"{path}.{k}", "unknown field") for k in doc if k not in _INACTIVITY_FIELDS]
    after = _number(doc, "after_days", path, problems, low=0.0, high=MAX_DAYS, above_low=True)
    per_week = _number(doc, "points_per_week", path, problems, low=-MAX_POINTS, high=0.0)
    for name in ("after_days", "points_per_week"):
        if doc.get(name) is None:
            problems.append((f"{path}.{name}", "is required"))
    if after is None or per_week is None:
        return None
    return Inactivity(after, per_week)


def _parse_stages(doc: Any, path: str, problems: list[Problem]) -> dict[str, float]:
    if doc is None:
        return {}
    if not isinstance(doc, Mapping):
        problems.append((path, "must be an object of score thresholds"))
        return {}
    allowed = ", ".join(SCORED_STAGES)
    problems += [
        (f"{path}.{k}", f"unknown stage; only {allowed} are reached by score")
        for k in doc
        if k not in SCORED_STAGES
    ]
    stages: dict[str, float] = {}
    for stage in SCORED_STAGES:
        value = _number(doc, stage, path, problems, low=-MAX_POINTS, high=MAX_POINTS)
        if value is None:
            continue
        lower = next((s for s in reversed(SCORED_STAGES) if s in stages), None)
        if lower is not None and value <= stages[lower]:
            problems.append((f"{path}.{stage}", f"must be above the {lower} threshold"))
        stages[stage] = value
    return stages


def _number(
    doc: Mapping[str, Any],
    name: str,
    path: str,
    problems: list[Problem],
    *,
    low: float,
    high: float,
    above_low: bool = False,
) -> float | None:
    """The finite number at doc[name] within [low, high] (low excluded if `above_low`), or
    None when absent or reported."""
    value = doc.get(name)
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        above = value > low if above_low else value >= low
        if above and value <= high:
            return float(value)
    bound = f"above {low:g}" if above_low else f"from {low:g}"
    problems.append((f"{path}.{name}", f"must be a number {bound} to {high:g}"))
    return None
