"""``analyze``: the assembled result equals the building blocks, corrections equal statsmodels'
over the assembled p-values, and the result serialises to strict JSON."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from experiments.bayesian import bayesian_test
from experiments.frequentist import effect_moments, fixed_horizon_test
from experiments.results import AnalysisError, AnalysisSettings, MetricInput, analyze
from experiments.sequential import sequential_test
from experiments.statistics import (
    ProportionStatistic,
    RegressionAdjustedStatistic,
    SampleMeanStatistic,
)

WEIGHTS = {"control": 0.25, "b": 0.25, "c": 0.25, "d": 0.25}
USERS = {"control": 5000, "b": 5030, "c": 4990, "d": 5010}


def experiment() -> dict[str, MetricInput]:
    rng = np.random.default_rng(70)
    revenue = {}
    cuped = {}
    for key, lift in zip(WEIGHTS, (0.0, 0.05, 0.1, -0.02), strict=True):
        x = rng.gamma(2.0, 10.0, USERS[key])
        y = 0.6 * x * (1 + lift) + rng.gamma(2.0, 4.0, USERS[key])
        revenue[key] = SampleMeanStatistic(len(y), float(y.sum()), float((y**2).sum()))
        cuped[key] = RegressionAdjustedStatistic(
            len(y),
            float(y.sum()),
            float((y**2).sum()),
            float(x.sum()),
            float((x**2).sum()),
            float((x * y).sum()),
        )
    clicks = {
        key: ProportionStatistic(USERS[key], s)
        for key, s in zip(WEIGHTS, (500, 545, 560, 490), strict=True)
    }
    unsubscribes = {
        key: ProportionStatistic(USERS[key], s)
        for key, s in zip(WEIGHTS, (20, 22, 35, 18), strict=True)
    }
    return {
        "click": MetricInput(clicks),
        "unsubscribe": MetricInput(unsubscribes, higher_is_better=False),
        "revenue": MetricInput(revenue),
        "revenue_cuped": MetricInput(cuped),
    }


SETTINGS = AnalysisSettings(alpha=0.05, sequential_tuning_n=12_000)


def test_every_number_equals_its_building_block() -> None:
    metrics = experiment()
    result = analyze(metrics, users=USERS, weights=WEIGHTS, control="control", settings=SETTINGS)
    for name, metric in metrics.items():
        metric_result = result.metric(name)
        control = metric.statistics["control"]
        assert metric_result.control.mean == control.mean
        assert metric_result.control.users == control.n
        for variation in metric_result.variations:
            treatment = metric.statistics[variation.variation]
            assert variation.mean == treatment.mean
            for scale in ("absolute", "relative"):
                moments = effect_moments(control, treatment, scale)  # type: ignore[arg-type]
                lift = variation.lift(scale)  # type: ignore[arg-type]
                assert lift.estimate == moments.estimate
                assert lift.std_error == moments.std_error
                assert lift.fixed == fixed_horizon_test(moments, 0.05)
                assert lift.sequential == sequential_test(moments, 0.05, 12_000)
                assert lift.bayesian == bayesian_test(
                    moments, 0.05, higher_is_better=metric.higher_is_better
                )


def test_holm_across_variations_matches_statsmodels() -> None:
    multitest = pytest.importorskip("statsmodels.stats.multitest")
    result = analyze(
        experiment(), users=USERS, weights=WEIGHTS, control="control", settings=SETTINGS
    )
    for metric in result.metrics:
        for scale in ("absolute", "relative"):
            lifts = [v.lift(scale) for v in metric.variations]  # type: ignore[arg-type]
            for raw, corrected in [
                ([x.fixed.p_value for x in lifts], [x.fixed_corrected.holm for x in lifts]),
                (
                    [x.sequential.p_value for x in lifts],
                    [x.sequential_corrected.holm for x in lifts],
                ),
            ]:
                _, expected, _, _ = multitest.multipletests(raw, method="holm")
                assert corrected == pytest.approx(list(expected), abs=1e-15)


def test_benjamini_hochberg_across_metrics_matches_statsmodels() -> None:
    multitest = pytest.importorskip("statsmodels.stats.multitest")
    result = analyze(
        experiment(), users=USERS, weights=WEIGHTS, control="control", settings=SETTINGS
    )
    for key in ("b", "c", "d"):
        for scale in ("absolute", "relative"):
            lifts = [m.variation(key).lift(scale) for m in result.metrics]  # type: ignore[arg-type]
            raw = [x.fixed.p_value for x in lifts]
            _, expected, _, _ = multitest.multipletests(raw, method="fdr_bh")
            assert [x.fixed_corrected.benjamini_hochberg for x in lifts] == pytest.approx(
                list(expected), abs=1e-15
            )


def test_cuped_is_reported_only_for_regression_adjusted_metrics() -> None:
    result = analyze(
        experiment(), users=USERS, weights=WEIGHTS, control="control", settings=SETTINGS
    )
    plain, adjusted = result.metric("revenue"), result.metric("revenue_cuped")
    assert all(v.cuped is None for v in plain.variations)
    assert adjusted.kind == "cuped"
    for with_cuped, without in zip(adjusted.variations, plain.variations, strict=True):
        assert with_cuped.cuped is not None
        assert with_cuped.cuped.variance_reduction > 0.5
        assert with_cuped.absolute.std_error < without.absolute.std_error
        # Same data, same unadjusted means: only the precision changes.
        assert with_cuped.mean == without.mean


def test_direction_and_order() -> None:
    result = analyze(
        experiment(), users=USERS, weights=WEIGHTS, control="control", settings=SETTINGS
    )
    assert result.variations == ("control", "b", "c", "d")
    assert [v.variation for v in result.metric("click").variations] == ["b", "c", "d"]
    unsubscribe = result.metric("unsubscribe").variation("c")  # 35 vs 20: worse
    assert unsubscribe.absolute.bayesian.chance_to_beat_control < 0.05
    assert result.settings.difference_type == "absolute"


def test_serialises_to_strict_json() -> None:
    metrics = experiment()
    metrics["empty"] = MetricInput({key: ProportionStatistic(0, 0) for key in WEIGHTS})
    result = analyze(metrics, users=USERS, weights=WEIGHTS, control="control", settings=SETTINGS)
    document = result.to_dict()
    text = json.dumps(document, allow_nan=False)
    empty = document["metrics"][-1]["variations"][0]["relative"]
    assert empty["fixed"]["ci_lower"] is None and empty["fixed"]["p_value"] == 1.0
    click = json.loads(text)["metrics"][0]
    assert click["variations"][0]["absolute"]["dof"] is None  # normal reference
    assert document["srm"]["p_value"] == result.srm.p_value
    assert not math.isnan(click["variations"][0]["absolute"]["fixed"]["p_value"])


def test_srm_uses_the_assigned_users() -> None:
    users = dict(USERS, d=4000)
    result = analyze(experiment(), users=users, weights=WEIGHTS, control="control")
    assert result.srm.mismatch


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"control": "missing"}, "control"),
        ({"weights": {"control": 0.5, "b": 0.5}}, "statistics"),
        ({"users": {"control": 1, "b": 1, "c": 1}}, "users"),
    ],
)
def test_inconsistent_inputs_are_refused(change: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {"users": USERS, "weights": WEIGHTS, "control": "control"}
    if "weights" in change:
        arguments["users"] = {"control": 1, "b": 1}
    arguments.update(change)
    with pytest.raises(AnalysisError, match=message):
        analyze(experiment(), **arguments)  # type: ignore[arg-type]


def test_mixed_statistic_types_are_refused() -> None:
    metrics = {
        "m": MetricInput(
            {"control": ProportionStatistic(10, 1), "b": SampleMeanStatistic(10, 1.0, 1.0)}
        )
    }
    with pytest.raises(AnalysisError, match="mixes"):
        analyze(
            metrics,
            users={"control": 10, "b": 10},
            weights={"control": 1, "b": 1},
            control="control",
        )


def test_settings_are_validated() -> None:
    with pytest.raises(AnalysisError):
        AnalysisSettings(alpha=1.5)
    with pytest.raises(AnalysisError):
        AnalysisSettings(difference_type="ratio")  # type: ignore[arg-type]
    with pytest.raises(AnalysisError):
        AnalysisSettings(sequential_tuning_n=0)
