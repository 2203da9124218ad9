"""The auto-winner rule: from an analysis to collecting, winner, no winner or blocked."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from experiments.frequentist import DifferenceType, EffectMoments
from experiments.noninferiority import non_inferiority_test
from experiments.power import sample_size_mean, sample_size_proportion
from experiments.results import ExperimentAnalysis, MetricResult, json_dict

WinnerState = Literal["collecting", "winner", "no_winner", "blocked_srm", "blocked_guardrail"]
WinnerMethod = Literal["sequential", "bayesian"]


@dataclass(frozen=True)
class Guardrail:
    """A metric the winner must not harm by more than ``margin`` (a positive amount of harm:
    0.02 with ``margin_type="relative"`` tolerates 2 % worse than control)."""

    metric: str
    margin: float
    margin_type: DifferenceType = "relative"

    def __post_init__(self) -> None:
        if not self.margin >= 0:
            raise ValueError(f"guardrail {self.metric!r}: margin must be >= 0")


@dataclass(frozen=True)
class WinnerRule:
    primary_metric: str
    method: WinnerMethod = "sequential"
    alpha: float = 0.05
    min_users_per_variation: int = 0
    mde: float | None = None  # relative improvement to be powered for (> 0), or None
    power: float = 0.8
    guardrails: tuple[Guardrail, ...] = ()
    chance_to_win_threshold: float = 0.95  # Bayesian method only

    def __post_init__(self) -> None:
        if self.method not in ("sequential", "bayesian"):
            raise ValueError(f"method must be 'sequential' or 'bayesian', got {self.method!r}")
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), got {self.alpha}")
        if self.mde is not None and not self.mde > 0:
            raise ValueError(f"mde must be > 0, got {self.mde}")
        if not 0.5 <= self.chance_to_win_threshold < 1:
            raise ValueError("chance_to_win_threshold must be in [0.5, 1)")


@dataclass(frozen=True)
class Evidence:
    """One comparison the rule made: ``value`` against ``threshold``, and whether it passed."""

    check: str  # "srm" | "horizon" | "min_users" | "primary" | "guardrail"
    statistic: str
    value: float
    threshold: float
    passed: bool
    variation: str | None = None
    metric: str | None = None


@dataclass(frozen=True)
class WinnerDecision:
    state: WinnerState
    winner: str | None
    reason: str
    evidence: tuple[Evidence, ...]

    def to_dict(self) -> dict[str, Any]:
        return json_dict(self)


def _required_users(primary: MetricResult, rule: WinnerRule) -> float:
    """Users per variation the rule waits for; NaN when the MDE cannot be sized yet."""
    if rule.mde is None:
        return float(rule.min_users_per_variation)
    control = primary.control
    mde = rule.mde if primary.higher_is_better else -rule.mde
    try:
        if primary.kind == "proportion":
            sized = sample_size_proportion(control.mean, mde, alpha=rule.alpha, power=rule.power)
        else:
            sized = sample_size_mean(
                control.mean, control.std_dev, mde, alpha=rule.alpha, power=rule.power
            )
    except ValueError:
        # No conversions or no variance in control yet: no baseline to size from.
        return math.nan
    return float(max(rule.min_users_per_variation, sized))


def decide_winner(
    results: ExperimentAnalysis, rule: WinnerRule, *, at_horizon: bool = False
) -> WinnerDecision:
    """Apply ``rule`` to ``results``.

    Pure. The checks, in order:

    1. SRM: a sample-ratio mismatch (``results.srm.mismatch``) blocks any roll-out
       (``blocked_srm``), whatever else the numbers say.
    2. Timing: ``method="bayesian"`` is read only at the planned horizon or the deadline (the
       caller passes ``at_horizon=True``); before that the state is ``collecting``.
       ``method="sequential"`` uses always-valid p-values and may be checked at any time.
    3. Sample: every variation needs ``min_users_per_variation`` assigned users, and, when ``mde``
       is given, the fixed-horizon sample size for that MDE at ``alpha`` and ``power`` (from the
       control's observed rate or mean and std dev; ``experiments.power``). Short of that:
       ``collecting``, or ``no_winner`` at the horizon.
    4. Primary metric, on ``results.settings.difference_type``: a candidate is a variation better
       than control with a Holm-adjusted (across variations) sequential p-value < ``alpha``, or,
       for the Bayesian method, a chance to beat control >= ``chance_to_win_threshold``. None:
       ``collecting``, or ``no_winner`` at the horizon.
    5. Guardrails: the best candidate (largest improvement) whose every guardrail shows
       non-inferiority within its margin (``experiments.noninferiority``; the always-valid variant
       for the sequential method) is the ``winner``. Otherwise ``blocked_guardrail`` — except that
       under the sequential method, before the horizon, a guardrail that is merely not yet shown
       safe (rather than shown worse than its margin) keeps the state ``collecting``.

    Guardrails form an intersection-union test (all must pass), so they need no multiplicity
    correction. ``rule.alpha`` need not equal the analysis' alpha: always-valid p-values hold at
    any threshold and the guardrail tests are computed here at ``rule.alpha``. The sequential
    guarantee assumes the caller acts on the first ``winner`` (the current p-value may rise
    again later). Every number compared on the way is returned as ``Evidence`` for the log.
    """
    try:
        primary = results.metric(rule.primary_metric)
        guard_metrics = [results.metric(g.metric) for g in rule.guardrails]
    except KeyError as missing:
        raise ValueError(f"the rule names metric {missing} that was not analysed") from None
    evidence: list[Evidence] = []

    def decide(state: WinnerState, reason: str, winner: str | None = None) -> WinnerDecision:
        return WinnerDecision(state, winner, reason, tuple(evidence))

    srm = results.srm
    evidence.append(Evidence("srm", "p_value", srm.p_value, srm.threshold, not srm.mismatch))
    if srm.mismatch:
        return decide("blocked_srm", "sample-ratio mismatch: assignment or logging is broken")

    if rule.method == "bayesian":
        evidence.append(Evidence("horizon", "at_horizon", float(at_horizon), 1.0, at_horizon))
        if not at_horizon:
            return decide("collecting", "the Bayesian rule is read only at the horizon")

    required = _required_users(primary, rule)
    short = False
    for key, users in zip(srm.variations, srm.users, strict=True):
        enough = users >= required  # False for NaN: no baseline to size from yet
        short = short or not enough
        evidence.append(Evidence("min_users", "users", float(users), required, enough, key))
    if short:
        if at_horizon:
            return decide("no_winner", "too few users per variation at the horizon")
        return decide("collecting", "waiting for the minimum users per variation")

    scale = results.settings.difference_type
    candidates: list[tuple[float, str]] = []
    for variation in primary.variations:
        lift = variation.lift(scale)
        better_by = lift.estimate if primary.higher_is_better else -lift.estimate
        if rule.method == "sequential":
            value, threshold = lift.sequential_corrected.holm, rule.alpha
            passed = better_by > 0 and value < threshold
            statistic = "sequential_p_value_holm"
        else:
            value, threshold = lift.bayesian.chance_to_beat_control, rule.chance_to_win_threshold
            passed = value >= threshold
            statistic = "chance_to_beat_control"
        evidence.append(
            Evidence(
                "primary", statistic, value, threshold, passed, variation.variation, primary.metric
            )
        )
        if passed:
            candidates.append((better_by, variation.variation))
    if not candidates:
        if at_horizon:
            return decide("no_winner", "no variation beat control on the primary metric")
        return decide("collecting", "no variation has beaten control yet")

    sequential = rule.method == "sequential"
    undecided = False
    for _, key in sorted(candidates, reverse=True):
        safe = True
        for guardrail, metric in zip(rule.guardrails, guard_metrics, strict=True):
            variation = metric.variation(key)
            lift = variation.lift(guardrail.margin_type)
            variance = lift.std_error**2
            moments = EffectMoments(
                guardrail.margin_type,
                lift.estimate,
                variance,
                lift.dof,
                metric.control.users + variation.users,
                variance,
                "non_inferiority",
            )
            test = non_inferiority_test(
                moments,
                guardrail.margin,
                rule.alpha,
                higher_is_better=metric.higher_is_better,
                sequential_tuning_n=results.settings.sequential_tuning_n if sequential else None,
            )
            statistic = (
                "sequential_non_inferiority_p_value" if sequential else "non_inferiority_p_value"
            )
            evidence.append(
                Evidence(
                    "guardrail",
                    statistic,
                    test.p_value,
                    rule.alpha,
                    test.non_inferior,
                    key,
                    metric.metric,
                )
            )
            if not test.non_inferior:
                safe = False
                undecided = undecided or not test.inferior
        if safe:
            return decide("winner", f"{key} beat control and passed every guardrail", key)
    if sequential and undecided and not at_horizon:
        return decide("collecting", "a guardrail has not yet shown non-inferiority")
    return decide("blocked_guardrail", "every variation that beat control failed a guardrail")
