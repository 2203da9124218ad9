"""From an experiment's stored totals to its analysis and winner verdict: pure functions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from decide.config.experiments import Experiment
from decide.config.metrics import Metric
from experiments.results import AnalysisSettings, ExperimentAnalysis, MetricInput, analyze
from experiments.statistics import (
    ProportionStatistic,
    RegressionAdjustedStatistic,
    SampleMeanStatistic,
    Statistic,
)
from experiments.winner import Guardrail, WinnerDecision, WinnerRule, decide_winner


def totals_of(raw: Mapping[bytes, bytes]) -> dict[str, float]:
    return {k.decode(): float(v) for k, v in raw.items()}


def add_totals(days: Sequence[Mapping[str, float]]) -> dict[str, float]:
    out: dict[str, float] = {}
    for day in days:
        for field, value in day.items():
            out[field] = out.get(field, 0.0) + value
    return out


def statistic(metric: Metric, variation: str, totals: Mapping[str, float]) -> Statistic:
    users = int(totals.get(f"{variation}:users", 0))
    prefix = f"{variation}:{metric.name}:"
    total = totals.get(prefix + "sum", 0.0)
    if metric.kind == "binomial":
        return ProportionStatistic(n=users, sum=total)
    sum_sq = totals.get(prefix + "sum_sq", 0.0)
    pre_sum_sq = totals.get(prefix + "pre_sum_sq", 0.0)
    if pre_sum_sq > 0:
        return RegressionAdjustedStatistic(
            users, total, sum_sq, totals.get(prefix + "pre_sum", 0.0), pre_sum_sq,
            totals.get(prefix + "sum_products", 0.0),
        )  # fmt: skip
    return SampleMeanStatistic(n=users, sum=total, sum_squares=sum_sq)


def analyse(
    experiment: Experiment, totals: Mapping[str, float], phase: int | None = None
) -> ExperimentAnalysis | None:
    """None while there is no metric or nobody is exposed yet. `totals` are those of `phase`
    (default: the current one), judged against that phase's split."""
    variations, weights = experiment.allocation(phase or experiment.spec.phase)
    users = {v: int(totals.get(f"{v}:users", 0)) for v in variations}
    metrics = experiment.analysis.metrics
    if not metrics or sum(users.values()) == 0:
        return None
    # CUPED only when every variation has the covariate: analyze needs one kind per metric.
    inputs = {}
    for metric in metrics:
        stats = {v: statistic(metric, v, totals) for v in variations}
        if len({type(s) for s in stats.values()}) > 1:
            stats = {v: _plain(s) for v, s in stats.items()}
        inputs[metric.name] = MetricInput(stats, higher_is_better=metric.higher_is_better)
    return analyze(
        inputs,
        users=users,
        weights=dict(zip(variations, weights, strict=True)),
        control=variations[0],
        settings=AnalysisSettings(alpha=experiment.analysis.alpha),
    )


def _plain(stat: Statistic) -> Statistic:
    if isinstance(stat, RegressionAdjustedStatistic):
        return SampleMeanStatistic(stat.n, stat.sum, stat.sum_squares)
    return stat


def winner_rule(experiment: Experiment) -> WinnerRule | None:
    analysis, auto = experiment.analysis, experiment.analysis.auto_winner
    primary = next((m for m in analysis.metrics if m.role == "primary"), None)
    if primary is None:
        return None
    guardrails = tuple(
        Guardrail(m.name, m.margin) for m in analysis.metrics if m.role == "guardrail"
    )
    return WinnerRule(
        primary_metric=primary.name,
        method="bayesian" if analysis.method == "bayesian" else "sequential",
        alpha=analysis.alpha,
        min_users_per_variation=auto.min_users_per_variation if auto else 0,
        mde=auto.mde if auto else None,
        guardrails=guardrails,
    )


def verdict(
    experiment: Experiment, result: ExperimentAnalysis, now: float
) -> WinnerDecision | None:
    rule = winner_rule(experiment)
    if rule is None:
        return None
    auto = experiment.analysis.auto_winner
    at_horizon = auto is not None and auto.deadline is not None and now >= auto.deadline
    return decide_winner(result, rule, at_horizon=at_horizon)


def results_document(
    experiment: Experiment, totals: Mapping[str, float], now: float, phase: int | None = None
) -> dict[str, Any]:
    spec = experiment.spec
    phase = phase or spec.phase
    variations, _ = experiment.allocation(phase)
    result = analyse(experiment, totals, phase)
    decision = verdict(experiment, result, now) if result is not None else None
    return {
        "experiment": experiment.key,
        "placement": experiment.placement,
        "status": spec.status,
        "phase": phase,
        "rollout_variation": spec.rollout_variation,
        "metrics": [
            {"name": m.name, "event": m.event, "type": m.kind, "role": m.role,
             "window_hours": m.window_s / 3600, "currency": m.currency}
            for m in experiment.analysis.metrics
        ],
        "users": {v: int(totals.get(f"{v}:users", 0)) for v in variations},
        "analysis": result.to_dict() if result is not None else None,
        "winner": decision.to_dict() if decision is not None else None,
    }  # fmt: skip
