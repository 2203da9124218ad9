"""Power analysis against statsmodels' NormalIndPower / zt_ind_solve_power and a simulation of
the library's own test at the computed sample size."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from experiments.frequentist import pooled_proportion_variance_kernel, two_sided_p_value_kernel
from experiments.power import (
    mde_mean,
    mde_proportion,
    power_two_sided,
    sample_size_mean,
    sample_size_proportion,
)


def proportion_effect_size(rate: float, relative_mde: float) -> float:
    target = rate * (1 + relative_mde)
    return (target - rate) / math.sqrt((rate * (1 - rate) + target * (1 - target)) / 2)


@pytest.mark.parametrize(
    ("rate", "mde", "alpha", "power"),
    [(0.1, 0.1, 0.05, 0.8), (0.02, 0.2, 0.05, 0.9), (0.5, -0.05, 0.01, 0.8), (0.3, 0.5, 0.1, 0.95)],
)
def test_proportion_sample_size_matches_statsmodels(
    rate: float, mde: float, alpha: float, power: float
) -> None:
    smp = pytest.importorskip("statsmodels.stats.power")
    effect = proportion_effect_size(rate, mde)
    expected = smp.NormalIndPower().solve_power(
        effect_size=effect, alpha=alpha, power=power, ratio=1.0, alternative="two-sided"
    )
    also = smp.zt_ind_solve_power(effect_size=effect, alpha=alpha, power=power)
    n = sample_size_proportion(rate, mde, alpha=alpha, power=power)
    assert n == math.ceil(expected) == math.ceil(also)


@pytest.mark.parametrize(
    ("mean", "sd", "mde"), [(20.0, 35.0, 0.05), (1.0, 0.5, 0.02), (-4.0, 2.0, 0.1)]
)
def test_mean_sample_size_matches_statsmodels(mean: float, sd: float, mde: float) -> None:
    smp = pytest.importorskip("statsmodels.stats.power")
    expected = smp.NormalIndPower().solve_power(
        effect_size=abs(mean * mde) / sd, alpha=0.05, power=0.8
    )
    assert sample_size_mean(mean, sd, mde) == math.ceil(expected)


def test_mean_mde_matches_statsmodels() -> None:
    smp = pytest.importorskip("statsmodels.stats.power")
    effect = mde_mean(20.0, 35.0, 5000) * 20.0 / 35.0
    # statsmodels' own solver stops early (its answer has power 0.79997); its power function
    # confirms ours to 1e-10, and the two solutions agree to 1e-4.
    assert smp.NormalIndPower().power(effect, 5000, 0.05) == pytest.approx(0.8, abs=1e-10)
    solved = smp.NormalIndPower().solve_power(nobs1=5000, alpha=0.05, power=0.8)
    assert effect == pytest.approx(solved, rel=1e-4)


def test_power_matches_statsmodels() -> None:
    smp = pytest.importorskip("statsmodels.stats.power")
    for n, effect in [(100, 0.2), (2000, 0.05), (50, 0.9)]:
        expected = smp.NormalIndPower().power(effect_size=effect, nobs1=n, alpha=0.05)
        assert power_two_sided(effect, 1.0, 1.0, n) == pytest.approx(expected, rel=1e-10)


def test_proportion_mde_round_trips_and_has_the_requested_power() -> None:
    smp = pytest.importorskip("statsmodels.stats.power")
    mde = mde_proportion(0.1, 14_000, alpha=0.05, power=0.8)
    achieved = smp.NormalIndPower().power(
        effect_size=proportion_effect_size(0.1, mde), nobs1=14_000, alpha=0.05
    )
    assert achieved == pytest.approx(0.8, abs=1e-8)
    assert sample_size_proportion(0.1, mde) in (14_000, 14_001)


def test_the_library_test_has_that_power_in_simulation() -> None:
    """At the computed n, the pooled two-proportion z test rejects at the requested rate."""
    rate, mde = 0.1, 0.1
    n = sample_size_proportion(rate, mde)
    rng = np.random.default_rng(50)
    reps = 4_000
    sum_a = rng.binomial(n, rate, reps)
    sum_b = rng.binomial(n, rate * (1 + mde), reps)
    estimate = sum_b / n - sum_a / n
    null_variance = pooled_proportion_variance_kernel(sum_a, n, sum_b, n)
    rejected = two_sided_p_value_kernel(estimate, null_variance, np.inf) < 0.05
    assert abs(rejected.mean() - 0.8) < 3 * math.sqrt(0.8 * 0.2 / reps)


@pytest.mark.parametrize(
    "call",
    [
        lambda: sample_size_proportion(0.0, 0.1),
        lambda: sample_size_proportion(0.6, 1.0),
        lambda: sample_size_proportion(0.1, 0.0),
        lambda: sample_size_proportion(0.1, 0.1, power=0.01),
        lambda: sample_size_mean(0.0, 1.0, 0.1),
        lambda: mde_proportion(0.1, 1, power=0.99999),
        lambda: power_two_sided(0.1, 1.0, 1.0, 0),
    ],
)
def test_impossible_questions_are_refused(call: Callable[[], object]) -> None:
    with pytest.raises(ValueError):
        call()
