"""Sufficient statistics reproduce numpy's moments of the raw data, pool exactly, and reject
impossible counts."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from experiments.statistics import (
    ProportionStatistic,
    RegressionAdjustedStatistic,
    SampleMeanStatistic,
    compute_theta,
)


def mean_stat(values: np.ndarray) -> SampleMeanStatistic:
    return SampleMeanStatistic(len(values), float(values.sum()), float((values**2).sum()))


def cuped_stat(y: np.ndarray, x: np.ndarray) -> RegressionAdjustedStatistic:
    return RegressionAdjustedStatistic(
        n=len(y),
        sum=float(y.sum()),
        sum_squares=float((y**2).sum()),
        pre_sum=float(x.sum()),
        pre_sum_squares=float((x**2).sum()),
        sum_products=float((x * y).sum()),
    )


def test_sample_mean_statistic_matches_numpy() -> None:
    values = np.random.default_rng(1).lognormal(1.0, 1.2, 5_000)
    stat = mean_stat(values)
    assert stat.mean == pytest.approx(values.mean(), rel=1e-12)
    assert stat.variance == pytest.approx(values.var(ddof=1), rel=1e-9)
    assert stat.std_dev == pytest.approx(values.std(ddof=1), rel=1e-9)


def test_proportion_statistic_uses_p_times_one_minus_p() -> None:
    values = (np.random.default_rng(2).random(3_000) < 0.12).astype(float)
    stat = ProportionStatistic(len(values), float(values.sum()))
    assert stat.mean == pytest.approx(values.mean())
    assert stat.variance == pytest.approx(values.var(ddof=0))


def test_regression_adjusted_moments_match_numpy() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(10, 3, 4_000)
    y = 2 + 0.8 * x + rng.normal(0, 2, 4_000)
    stat = cuped_stat(y, x)
    assert stat.mean == pytest.approx(y.mean())
    assert stat.pre_mean == pytest.approx(x.mean())
    assert stat.variance == pytest.approx(y.var(ddof=1), rel=1e-9)
    assert stat.pre_variance == pytest.approx(x.var(ddof=1), rel=1e-9)
    assert stat.covariance == pytest.approx(np.cov(x, y, ddof=1)[0, 1], rel=1e-9)
    theta = 0.7
    assert stat.adjusted_mean(theta) == pytest.approx((y - theta * x).mean())
    assert stat.adjusted_variance(theta) == pytest.approx((y - theta * x).var(ddof=1), rel=1e-9)


def test_adding_statistics_pools_the_raw_data() -> None:
    rng = np.random.default_rng(4)
    a, b = rng.normal(0, 1, 300), rng.normal(1, 2, 500)
    assert mean_stat(a) + mean_stat(b) == mean_stat(np.concatenate([a, b]))
    xa, xb = rng.normal(size=300), rng.normal(size=500)
    pooled = cuped_stat(a, xa) + cuped_stat(b, xb)
    both = cuped_stat(np.concatenate([a, b]), np.concatenate([xa, xb]))
    assert pooled.n == both.n
    assert pooled.covariance == pytest.approx(both.covariance)
    assert ProportionStatistic(10, 3) + ProportionStatistic(5, 5) == ProportionStatistic(15, 8)


def test_theta_is_the_pooled_regression_slope() -> None:
    rng = np.random.default_rng(5)
    x_a, x_b = rng.normal(5, 2, 2_000), rng.normal(5, 2, 2_100)
    y_a, y_b = 1 + 0.5 * x_a + rng.normal(0, 1, 2_000), 1.3 + 0.5 * x_b + rng.normal(0, 1, 2_100)
    x, y = np.concatenate([x_a, x_b]), np.concatenate([y_a, y_b])
    expected = np.cov(x, y, ddof=1)[0, 1] / x.var(ddof=1)
    assert compute_theta(cuped_stat(y_a, x_a), cuped_stat(y_b, x_b)) == pytest.approx(expected)


def test_theta_is_zero_for_a_constant_covariate() -> None:
    y = np.arange(10.0)
    x = np.ones(10)
    assert compute_theta(cuped_stat(y, x), cuped_stat(y, x)) == 0.0


def test_degenerate_sizes_have_zero_variance() -> None:
    assert SampleMeanStatistic(0, 0.0, 0.0).mean == 0.0
    assert SampleMeanStatistic(1, 3.0, 9.0).variance == 0.0
    assert ProportionStatistic(0, 0).variance == 0.0
    # Floating-point sums of a constant can leave a tiny negative remainder; never negative.
    assert SampleMeanStatistic(3, 0.3, 0.03 + 1e-18).variance >= 0.0


@pytest.mark.parametrize(
    "make",
    [
        lambda: ProportionStatistic(-1, 0),
        lambda: ProportionStatistic(10, 11),
        lambda: ProportionStatistic(10, -1),
        lambda: SampleMeanStatistic(5, 1.0, -1.0),
        lambda: RegressionAdjustedStatistic(5, 1.0, 1.0, 1.0, -1.0, 0.0),
    ],
)
def test_impossible_counts_are_rejected(make: Callable[[], object]) -> None:
    with pytest.raises(ValueError):
        make()
