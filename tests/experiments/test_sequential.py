"""Always-valid tests: gbstats' published sequential numbers, interval/p-value agreement, and
coverage under daily peeking in raw-data simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from experiments.frequentist import effect_moments, fixed_horizon_test
from experiments.sequential import (
    sequential_half_width_kernel,
    sequential_p_value_kernel,
    sequential_rho,
    sequential_test,
)
from experiments.statistics import (
    ProportionStatistic,
    RegressionAdjustedStatistic,
    SampleMeanStatistic,
)

GB_A = SampleMeanStatistic(n=3000, sum=1396.87, sum_squares=52377.9767)
GB_B = SampleMeanStatistic(n=3461, sum=2422.7, sum_squares=134698.29)


def rounded(values: tuple[float, ...]) -> tuple[float, ...]:
    return tuple(round(v, 5) for v in values)


def test_gbstats_sequential_mean_published_numbers() -> None:
    moments = effect_moments(GB_A, GB_B, "relative")
    result = sequential_test(moments, 0.05, tuning_n=1000)
    assert rounded((moments.estimate, result.ci_lower, result.ci_upper)) == (
        0.50336,
        -0.55844,
        1.56516,
    )
    assert result.p_value == 1.0


def test_gbstats_sequential_proportion_published_numbers() -> None:
    moments = effect_moments(
        ProportionStatistic(n=3000, sum=1396), ProportionStatistic(n=3461, sum=2422), "relative"
    )
    result = sequential_test(moments, 0.05)  # GrowthBook's default tuning, 5000
    assert rounded((moments.estimate, moments.std_error)) == (0.50386, 0.03386)
    assert rounded((result.ci_lower, result.ci_upper)) == (0.40098, 0.60675)
    assert round(result.p_value, 5) == 0.0


def test_gbstats_sequential_cuped_published_numbers() -> None:
    a = RegressionAdjustedStatistic(3000, 1396.87, 52377.9767, 16.87, 527.9767, 1.0)
    b = RegressionAdjustedStatistic(3461, 2422.7, 134698.29, 22.7, 1348.29, 1.0)
    moments = effect_moments(a, b, "relative")
    result = sequential_test(moments, 0.05)
    assert rounded((moments.estimate, result.ci_lower, result.ci_upper)) == (
        0.50338,
        -0.50969,
        1.51646,
    )
    assert round(moments.std_error, 5) == 0.33341
    assert result.p_value == 1.0


def test_interval_is_tightest_near_the_tuning_n() -> None:
    """gbstats' tuning check: 10 and 10,000 both give wider intervals than the true n."""
    moments = effect_moments(GB_A, GB_B, "relative")
    widths = {
        tuning: sequential_test(moments, 0.05, tuning).ci_upper
        - sequential_test(moments, 0.05, tuning).ci_lower
        for tuning in (10, 6461, 10_000)
    }
    assert widths[6461] < widths[10_000] < widths[10]


def test_sequential_interval_is_wider_than_the_fixed_one() -> None:
    moments = effect_moments(GB_A, GB_B, "absolute")
    fixed = fixed_horizon_test(moments, 0.05)
    sequential = sequential_test(moments, 0.05, 6461)
    assert sequential.ci_lower < fixed.ci_lower and sequential.ci_upper > fixed.ci_upper


@pytest.mark.parametrize("alpha", [0.01, 0.05, 0.1])
def test_p_value_below_alpha_exactly_when_the_interval_excludes_zero(alpha: float) -> None:
    rng = np.random.default_rng(20)
    estimate = rng.normal(0, 1, 5_000)
    variance = rng.uniform(0.05, 1.0, 5_000)
    n = rng.integers(10, 20_000, 5_000)
    p = sequential_p_value_kernel(estimate, variance, n, 4000, alpha)
    half_width = sequential_half_width_kernel(variance, n, 4000, alpha)
    excludes_zero = np.abs(estimate) > half_width
    assert np.array_equal(p < alpha, excludes_zero)


def test_rho_matches_waudby_smith_eq_161() -> None:
    alpha, n = 0.05, 5000
    expected = math.sqrt((-2 * math.log(alpha) + math.log(-2 * math.log(alpha) + 1)) / n)
    assert sequential_rho(alpha, n) == pytest.approx(expected)
    with pytest.raises(ValueError):
        sequential_rho(0.0, n)
    with pytest.raises(ValueError):
        sequential_rho(alpha, 0)


def test_confidence_sequence_covers_at_every_peek_in_simulation() -> None:
    """Raw data, 20 daily looks: the share of experiments whose interval ever misses the true
    difference stays below alpha (a fixed-horizon interval misses far more often)."""
    rng = np.random.default_rng(21)
    reps, looks, per_look, effect, alpha = 2_000, 20, 100, 0.3, 0.05
    a = rng.exponential(2.0, (reps, looks * per_look))
    b = rng.exponential(2.0, (reps, looks * per_look)) + effect
    ends = np.arange(per_look, looks * per_look + 1, per_look)
    n = ends.astype(float)
    sum_a, sum_b = a.cumsum(axis=1)[:, ends - 1], b.cumsum(axis=1)[:, ends - 1]
    sq_a, sq_b = (a**2).cumsum(axis=1)[:, ends - 1], (b**2).cumsum(axis=1)[:, ends - 1]
    var_a = (sq_a - sum_a**2 / n) / (n - 1)
    var_b = (sq_b - sum_b**2 / n) / (n - 1)
    estimate = sum_b / n - sum_a / n
    variance = var_a / n + var_b / n
    half_width = sequential_half_width_kernel(variance, 2 * n, 2 * looks * per_look, alpha)
    ever_missed = (np.abs(estimate - effect) > half_width).any(axis=1)
    assert ever_missed.mean() <= alpha
    fixed_missed = (np.abs(estimate - effect) > 1.96 * np.sqrt(variance)).any(axis=1)
    assert fixed_missed.mean() > 2 * alpha


def test_kernels_match_the_scalar_path() -> None:
    moments = effect_moments(GB_A, GB_B, "absolute")
    result = sequential_test(moments, 0.05, 3000)
    half_width = float(sequential_half_width_kernel(moments.variance, moments.n, 3000, 0.05))
    assert result.ci_upper - moments.estimate == pytest.approx(half_width)
    p = float(sequential_p_value_kernel(moments.estimate, moments.variance, moments.n, 3000, 0.05))
    assert result.p_value == pytest.approx(p)


def test_untestable_moments_report_p_one() -> None:
    moments = effect_moments(ProportionStatistic(100, 0), ProportionStatistic(100, 0), "absolute")
    result = sequential_test(moments, 0.05)
    assert result.p_value == 1.0 and math.isnan(result.ci_lower)
