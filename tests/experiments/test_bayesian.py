"""Bayesian read-out: chance to beat control and losses against Monte Carlo, numerical
integration and exact Beta posteriors; the conjugate prior against a grid posterior."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from experiments.bayesian import GaussianPrior, bayesian_test
from experiments.frequentist import EffectMoments, effect_moments
from experiments.statistics import ProportionStatistic, SampleMeanStatistic


def moments(estimate: float, variance: float) -> EffectMoments:
    return EffectMoments("absolute", estimate, variance, math.inf, 1000, variance, "test")


def test_flat_prior_posterior_against_monte_carlo() -> None:
    result = bayesian_test(moments(0.02, 0.015**2), 0.05)
    draws = np.random.default_rng(30).normal(0.02, 0.015, 2_000_000)
    assert result.chance_to_beat_control == pytest.approx((draws > 0).mean(), abs=1e-3)
    assert result.expected_loss == pytest.approx(np.maximum(-draws, 0).mean(), rel=5e-3)
    assert result.expected_loss_control == pytest.approx(np.maximum(draws, 0).mean(), rel=5e-3)
    low, high = np.quantile(draws, [0.025, 0.975])
    assert (result.ci_lower, result.ci_upper) == pytest.approx((low, high), abs=2e-4)


def test_expected_loss_against_numerical_integration_and_truncnorm() -> None:
    mean, sd = -0.01, 0.02
    result = bayesian_test(moments(mean, sd**2), 0.05)
    integral, _ = integrate.quad(lambda x: -x * stats.norm.pdf(x, mean, sd), -np.inf, 0)
    assert result.expected_loss == pytest.approx(integral, rel=1e-8)
    # gbstats' form: P(control better) x E[lift | lift < 0], negated.
    p_control = stats.norm.cdf(0, mean, sd)
    truncated = stats.truncnorm.mean(-np.inf, (0 - mean) / sd, loc=mean, scale=sd)
    assert result.expected_loss == pytest.approx(-p_control * truncated, rel=1e-8)


def test_normal_approximation_agrees_with_beta_posteriors_for_proportions() -> None:
    """The documented choice: Normal on the lift instead of Beta posteriors per arm. At the
    sample sizes decisions are made with, the two agree to about 0.01."""
    rng = np.random.default_rng(31)
    control, treatment = ProportionStatistic(3000, 300), ProportionStatistic(3000, 335)
    result = bayesian_test(effect_moments(control, treatment, "absolute"), 0.05)
    p_a = rng.beta(1 + control.sum, 1 + control.n - control.sum, 1_000_000)
    p_b = rng.beta(1 + treatment.sum, 1 + treatment.n - treatment.sum, 1_000_000)
    assert result.chance_to_beat_control == pytest.approx((p_b > p_a).mean(), abs=0.01)
    assert result.expected_loss == pytest.approx(np.maximum(p_a - p_b, 0).mean(), abs=2e-4)


def test_gaussian_prior_matches_a_grid_posterior() -> None:
    prior = GaussianPrior(mean=0.0, variance=0.3**2)
    result = bayesian_test(moments(0.5, 0.4**2), 0.05, prior=prior)
    grid = np.linspace(-3, 3, 600_001)
    density = stats.norm.pdf(grid, 0.0, 0.3) * stats.norm.pdf(0.5, grid, 0.4)
    density /= density.sum()
    posterior_mean = (grid * density).sum()
    posterior_sd = math.sqrt(((grid - posterior_mean) ** 2 * density).sum())
    assert result.posterior_mean == pytest.approx(posterior_mean, abs=1e-6)
    assert result.posterior_std_dev == pytest.approx(posterior_sd, abs=1e-6)
    assert result.chance_to_beat_control == pytest.approx(density[grid > 0].sum(), abs=1e-5)


def test_lower_is_better_flips_the_direction() -> None:
    up = bayesian_test(moments(0.01, 0.01**2), 0.05, higher_is_better=True)
    down = bayesian_test(moments(0.01, 0.01**2), 0.05, higher_is_better=False)
    assert down.chance_to_beat_control == pytest.approx(1 - up.chance_to_beat_control)
    assert down.expected_loss == pytest.approx(up.expected_loss_control)
    assert (down.ci_lower, down.ci_upper) == (up.ci_lower, up.ci_upper)


def test_untestable_moments_are_uninformative() -> None:
    empty = effect_moments(
        SampleMeanStatistic(1, 1.0, 1.0), SampleMeanStatistic(1, 2.0, 4.0), "absolute"
    )
    result = bayesian_test(empty, 0.05)
    assert result.chance_to_beat_control == 0.5
    assert math.isnan(result.expected_loss) and math.isnan(result.ci_lower)


def test_prior_variance_must_be_positive() -> None:
    with pytest.raises(ValueError):
        GaussianPrior(0.0, 0.0)
