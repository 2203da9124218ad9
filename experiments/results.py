"""``analyze``: every metric of an experiment, each variation against control, in one result.

Usage::

    from experiments.results import AnalysisSettings, MetricInput, analyze
    from experiments.statistics import ProportionStatistic, SampleMeanStatistic

    analysis = analyze(
        {
            "click": MetricInput({"control": ProportionStatistic(n=5000, sum=500),
                                  "b": ProportionStatistic(n=5010, sum=560)}),
            "unsubscribe": MetricInput({"control": ProportionStatistic(n=5000, sum=20),
                                        "b": ProportionStatistic(n=5010, sum=22)},
                                       higher_is_better=False),
            "revenue": MetricInput({"control": SampleMeanStatistic(5000, 2100.0, 9800.0),
                                    "b": SampleMeanStatistic(5010, 2230.0, 10400.0)}),
        },
        users={"control": 5000, "b": 5010},        # assigned users, for the SRM check
        weights={"control": 0.5, "b": 0.5},        # configured split; order = output order
        control="control",
        settings=AnalysisSettings(alpha=0.05, difference_type="absolute"),
    )
    analysis.to_dict()      # JSON-ready: NaN and ±inf become None

Per metric (``MetricResult``) the control arm and, per other variation (``VariationResult``),
users, mean, std dev and two ``LiftResult``s — ``absolute`` (b - a) and ``relative``
((b - a) / a) — each with: the estimate and standard error; the fixed-horizon CI and p-value
(``experiments.frequentist``); the always-valid CI and p-value (``experiments.sequential``);
the Bayesian chance to beat control, expected losses and credible interval
(``experiments.bayesian``); and adjusted p-values for both the fixed and the sequential test:
Holm across the variations of the metric, Benjamini-Hochberg across the metrics of the
variation (``experiments.corrections``). ``cuped`` reports theta and the variance reduction when
the statistics are ``RegressionAdjustedStatistic``. The experiment-level ``srm`` is the
sample-ratio check (``experiments.srm``). ``settings.difference_type`` is the scale
``experiments.winner.decide_winner`` decides on (absolute by default, see
``AnalysisSettings``); both scales are always reported.

Untestable comparisons (an arm under two users, no variance, a zero control mean for a
relative lift) report p = 1, chance 0.5 and null intervals rather than invented numbers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

from experiments.bayesian import BayesianTest, bayesian_test
from experiments.corrections import benjamini_hochberg, holm
from experiments.frequentist import (
    DifferenceType,
    EffectMoments,
    FixedHorizonTest,
    effect_moments,
    fixed_horizon_test,
)
from experiments.sequential import DEFAULT_TUNING_N, SequentialTest, sequential_test
from experiments.srm import DEFAULT_SRM_THRESHOLD, SRMResult, srm_check
from experiments.statistics import (
    ProportionStatistic,
    RegressionAdjustedStatistic,
    SampleMeanStatistic,
    Statistic,
    compute_theta,
)

MetricKind = Literal["proportion", "mean", "cuped"]
_SCALES: tuple[DifferenceType, DifferenceType] = ("absolute", "relative")
_Cell = tuple[str, str, DifferenceType]  # (metric, variation, scale)


class AnalysisError(ValueError):
    """The inputs do not describe one consistent experiment."""


@dataclass(frozen=True)
class MetricInput:
    """One metric: a sufficient statistic per variation key, and which direction is better."""

    statistics: Mapping[str, Statistic]
    higher_is_better: bool = True


@dataclass(frozen=True)
class AnalysisSettings:
    """``difference_type`` is the scale ``decide_winner`` reads (p-values, chance to beat
    control); both scales are always reported. The default is absolute because the test of
    "no difference" should not depend on the display scale, and the delta-method relative test
    is lopsided on proportions: in the A/A simulation (rate 0.1, 2,000 users per arm) it
    rejects upwards 1.4 % and downwards 3.6 % of the time instead of 2.5 % each (its
    always-valid version: 0.02 % and 3.7 %), while the absolute test gives 2.4 % and 2.4 %.
    Set "relative" for GrowthBook's behaviour."""

    alpha: float = 0.05
    difference_type: DifferenceType = "absolute"
    sequential_tuning_n: float = DEFAULT_TUNING_N  # see experiments.sequential
    srm_threshold: float = DEFAULT_SRM_THRESHOLD

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 1:
            raise AnalysisError(f"alpha must be in (0, 1), got {self.alpha}")
        if self.difference_type not in _SCALES:
            raise AnalysisError(f"difference_type must be one of {_SCALES}")
        if not self.sequential_tuning_n > 0:
            raise AnalysisError("sequential_tuning_n must be > 0")


@dataclass(frozen=True)
class CorrectedPValues:
    holm: float  # across the variations of this metric (family-wise error)
    benjamini_hochberg: float  # across the metrics of this variation (false discovery rate)


@dataclass(frozen=True)
class LiftResult:
    estimate: float
    std_error: float
    dof: float  # of the fixed-horizon reference t; inf (None in JSON) means normal
    fixed: FixedHorizonTest
    fixed_corrected: CorrectedPValues
    sequential: SequentialTest
    sequential_corrected: CorrectedPValues
    bayesian: BayesianTest


@dataclass(frozen=True)
class CupedResult:
    theta: float
    variance_reduction: float  # 1 - Var(adjusted lift) / Var(unadjusted lift), absolute scale


@dataclass(frozen=True)
class ArmResult:
    variation: str
    users: int
    mean: float  # unadjusted
    std_dev: float


@dataclass(frozen=True)
class VariationResult:
    variation: str
    users: int
    mean: float
    std_dev: float
    absolute: LiftResult
    relative: LiftResult
    cuped: CupedResult | None

    def lift(self, difference_type: DifferenceType) -> LiftResult:
        return self.absolute if difference_type == "absolute" else self.relative


@dataclass(frozen=True)
class MetricResult:
    metric: str
    kind: MetricKind
    higher_is_better: bool
    control: ArmResult
    variations: tuple[VariationResult, ...]  # every variation but control, in weights order

    def variation(self, key: str) -> VariationResult:
        for result in self.variations:
            if result.variation == key:
                return result
        raise KeyError(key)


@dataclass(frozen=True)
class ExperimentAnalysis:
    control: str
    variations: tuple[str, ...]  # all variation keys, in weights order
    settings: AnalysisSettings
    srm: SRMResult
    metrics: tuple[MetricResult, ...]

    def metric(self, name: str) -> MetricResult:
        for result in self.metrics:
            if result.metric == name:
                return result
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``json.dumps(..., allow_nan=False)`` accepts it)."""
        return json_dict(self)


def json_dict(result: Any) -> dict[str, Any]:
    """A result dataclass as a JSON-ready dict: NaN and +-inf become None."""
    converted = _json_safe(asdict(result))
    assert isinstance(converted, dict)
    return converted


def _json_safe(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    return value


def _kind(statistic: Statistic) -> MetricKind:
    if isinstance(statistic, ProportionStatistic):
        return "proportion"
    if isinstance(statistic, SampleMeanStatistic):
        return "mean"
    return "cuped"


def _validate(
    metrics: Mapping[str, MetricInput],
    users: Mapping[str, int],
    weights: Mapping[str, float],
    control: str,
) -> None:
    keys = set(weights)
    if control not in keys:
        raise AnalysisError(f"control {control!r} is not a variation: {sorted(keys)}")
    if len(keys) < 2:
        raise AnalysisError("an experiment needs control and at least one other variation")
    if set(users) != keys:
        raise AnalysisError(f"users name {sorted(users)}, weights name {sorted(keys)}")
    for name, metric in metrics.items():
        if set(metric.statistics) != keys:
            raise AnalysisError(
                f"metric {name!r} has statistics for {sorted(metric.statistics)}, "
                f"expected {sorted(keys)}"
            )
        kinds = {type(s) for s in metric.statistics.values()}
        if len(kinds) != 1:
            raise AnalysisError(f"metric {name!r} mixes statistic types across variations")


def _cuped(control: Statistic, treatment: Statistic) -> CupedResult | None:
    if not isinstance(control, RegressionAdjustedStatistic):
        return None
    assert isinstance(treatment, RegressionAdjustedStatistic)
    adjusted = effect_moments(control, treatment, "absolute")
    plain = effect_moments(
        SampleMeanStatistic(control.n, control.sum, control.sum_squares),
        SampleMeanStatistic(treatment.n, treatment.sum, treatment.sum_squares),
        "absolute",
    )
    reduction = (
        1.0 - adjusted.variance / plain.variance
        if adjusted.testable and plain.testable
        else math.nan
    )
    return CupedResult(compute_theta(control, treatment), reduction)


def _corrected(
    p_values: Mapping[_Cell, float], names: tuple[str, ...], treatments: tuple[str, ...]
) -> dict[_Cell, CorrectedPValues]:
    """Holm over the variations of each metric, BH over the metrics of each variation."""
    holm_p: dict[_Cell, float] = {}
    bh_p: dict[_Cell, float] = {}
    for scale in _SCALES:
        for name in names:
            adjusted = holm([p_values[name, key, scale] for key in treatments])
            holm_p.update({(name, k, scale): p for k, p in zip(treatments, adjusted, strict=True)})
        for key in treatments:
            adjusted = benjamini_hochberg([p_values[name, key, scale] for name in names])
            bh_p.update({(n, key, scale): p for n, p in zip(names, adjusted, strict=True)})
    return {cell: CorrectedPValues(holm_p[cell], bh_p[cell]) for cell in p_values}


def analyze(
    metrics: Mapping[str, MetricInput],
    *,
    users: Mapping[str, int],
    weights: Mapping[str, float],
    control: str,
    settings: AnalysisSettings | None = None,
) -> ExperimentAnalysis:
    """Analyse every metric of one experiment; see the module docstring."""
    settings = settings or AnalysisSettings()
    _validate(metrics, users, weights, control)
    srm = srm_check(users, weights, settings.srm_threshold)
    order = tuple(weights)
    treatments = tuple(key for key in order if key != control)
    names = tuple(metrics)
    alpha = settings.alpha

    moments: dict[_Cell, EffectMoments] = {}
    fixed: dict[_Cell, FixedHorizonTest] = {}
    sequential: dict[_Cell, SequentialTest] = {}
    for name in names:
        statistics = metrics[name].statistics
        for key in treatments:
            for scale in _SCALES:
                m = effect_moments(statistics[control], statistics[key], scale)
                moments[name, key, scale] = m
                fixed[name, key, scale] = fixed_horizon_test(m, alpha)
                sequential[name, key, scale] = sequential_test(
                    m, alpha, settings.sequential_tuning_n
                )

    fixed_corrected = _corrected({k: t.p_value for k, t in fixed.items()}, names, treatments)
    sequential_corrected = _corrected(
        {k: t.p_value for k, t in sequential.items()}, names, treatments
    )

    results = []
    for name in names:
        metric = metrics[name]
        statistics = metric.statistics
        base = statistics[control]
        variations = []
        for key in treatments:
            lifts = {
                scale: LiftResult(
                    estimate=moments[name, key, scale].estimate,
                    std_error=moments[name, key, scale].std_error,
                    dof=moments[name, key, scale].dof,
                    fixed=fixed[name, key, scale],
                    fixed_corrected=fixed_corrected[name, key, scale],
                    sequential=sequential[name, key, scale],
                    sequential_corrected=sequential_corrected[name, key, scale],
                    bayesian=bayesian_test(
                        moments[name, key, scale], alpha, higher_is_better=metric.higher_is_better
                    ),
                )
                for scale in _SCALES
            }
            variations.append(
                VariationResult(
                    variation=key,
                    users=statistics[key].n,
                    mean=statistics[key].mean,
                    std_dev=statistics[key].std_dev,
                    absolute=lifts["absolute"],
                    relative=lifts["relative"],
                    cuped=_cuped(base, statistics[key]),
                )
            )
        results.append(
            MetricResult(
                metric=name,
                kind=_kind(base),
                higher_is_better=metric.higher_is_better,
                control=ArmResult(control, base.n, base.mean, base.std_dev),
                variations=tuple(variations),
            )
        )
    return ExperimentAnalysis(control, order, settings, srm, tuple(results))
