"""An experiment's metrics, analysis settings and auto-winner rule, validated at PUT."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from decide.config.checks import EVENT_TYPE_PATTERN, EVENT_TYPE_RULE, Checks, join

KINDS = ("binomial", "count", "revenue")
METHODS = ("sequential", "bayesian")


@dataclass(frozen=True)
class Metric:
    name: str
    event: str
    kind: (
        str  # binomial: converted at least once | count: events per user | revenue: value per user
    )
    window_s: int  # counted only this long after the contact's exposure; 0 = until the end
    currency: str | None  # revenue: only events in this currency
    higher_is_better: bool
    role: str  # primary | secondary | guardrail
    margin: float  # guardrails: non-inferiority margin, relative to control


@dataclass(frozen=True)
class AutoWinner:
    min_users_per_variation: int
    mde: float | None  # relative minimum detectable effect: sizes the minimum sample
    deadline: float | None  # epoch seconds: the horizon of a Bayesian rule, and the last check
    check_every_s: float


@dataclass(frozen=True)
class Analysis:
    metrics: tuple[Metric, ...]  # primary first
    method: str
    alpha: float
    auto_winner: AutoWinner | None


def parse_analysis(c: Checks, body: dict[str, Any]) -> Analysis:
    metrics: list[Metric] = []
    spec = c.mapping(body.get("metrics", {}), "metrics") or {}
    c.unknown_fields(spec, {"primary", "secondary", "guardrails"}, "metrics")
    if "primary" in spec:
        metric = _metric(c, spec["primary"], "metrics.primary", "primary")
        metrics += [metric] if metric else []
    for role, name in (("secondary", "secondary"), ("guardrail", "guardrails")):
        listed = spec.get(name, [])
        if not isinstance(listed, list):
            c.fail(f"metrics.{name}", "must be a list of metrics")
            continue
        for i, item in enumerate(listed):
            metric = _metric(c, item, join(f"metrics.{name}", i), role)
            metrics += [metric] if metric else []
    names = [m.name for m in metrics]
    for name in {n for n in names if names.count(n) > 1}:
        c.fail("metrics", f"two metrics are named {name!r}; give one a distinct name")

    analysis = c.mapping(body.get("analysis", {}), "analysis") or {}
    c.unknown_fields(analysis, {"method", "alpha"}, "analysis")
    method = c.string(analysis, "method", "analysis", default="sequential", choices=METHODS)
    alpha = c.number(analysis, "alpha", "analysis", default=0.05, low=0.001, high=0.2)
    return Analysis(
        tuple(metrics), method or "sequential", alpha or 0.05, _auto_winner(c, body, metrics)
    )


def _metric(c: Checks, raw: Any, path: str, role: str) -> Metric | None:
    doc = c.mapping(raw, path)
    if doc is None:
        return None
    c.unknown_fields(doc, {"name", "event", "type", "window_hours", "currency",
                           "higher_is_better", "margin"}, path)  # fmt: skip
    event = c.string(doc, "event", path, max_len=64, pattern=EVENT_TYPE_PATTERN,
                     rule=EVENT_TYPE_RULE)  # fmt: skip
    kind = c.string(doc, "type", path, default="binomial", choices=KINDS) or "binomial"
    name = c.key(doc, "name", path, default=None) or event
    hours = c.number(doc, "window_hours", path, default=0, low=0, high=24 * 365) or 0
    currency = c.string(doc, "currency", path, default=None, max_len=3)
    if kind == "revenue" and currency is None:
        c.fail(join(path, "currency"), "is required for revenue: metrics are per currency")
    guardrail = role == "guardrail"
    higher = c.boolean(doc, "higher_is_better", path, default=not guardrail)
    margin = c.number(doc, "margin", path, default=0.1, low=0.0, high=1.0) or 0.0
    if event is None or name is None:
        return None
    return Metric(name, event, kind, round(hours * 3600), currency, higher, role, margin)


def _auto_winner(c: Checks, body: dict[str, Any], metrics: list[Metric]) -> AutoWinner | None:
    spec = c.mapping(body.get("auto_winner", {}), "auto_winner") or {}
    c.unknown_fields(spec, {"enabled", "min_users_per_variation", "mde", "deadline",
                            "check_every_minutes"}, "auto_winner")  # fmt: skip
    if not c.boolean(spec, "enabled", "auto_winner", default=False):
        return None
    if not any(m.role == "primary" for m in metrics):
        c.fail("auto_winner", "needs metrics.primary to pick a winner by")
    users = c.number(spec, "min_users_per_variation", "auto_winner", default=100, low=1,
                     high=1e9, integer=True)  # fmt: skip
    mde = c.number(spec, "mde", "auto_winner", default=None, low=0.001, high=10)
    every = c.number(spec, "check_every_minutes", "auto_winner", default=60, low=0, high=7 * 1440)
    deadline = None
    if spec.get("deadline") is not None:
        try:
            moment = datetime.fromisoformat(str(spec["deadline"]))
            if moment.tzinfo is None:
                raise ValueError
            deadline = moment.timestamp()
        except ValueError:
            c.fail("auto_winner.deadline", "must be an ISO 8601 time with a zone")
    return AutoWinner(int(users or 100), mde, deadline, (every if every is not None else 60) * 60)
