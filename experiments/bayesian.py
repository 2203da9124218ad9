"""Bayesian read-out of a lift: chance to beat control, expected loss and a credible interval."""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats  # type: ignore[import-untyped, unused-ignore]

from experiments.frequentist import EffectMoments


@dataclass(frozen=True)
class GaussianPrior:
    """A proper Normal prior on the lift, on the same scale (absolute or relative)."""

    mean: float
    variance: float

    def __post_init__(self) -> None:
        if not self.variance > 0:
            raise ValueError(f"prior variance must be > 0, got {self.variance}")


@dataclass(frozen=True)
class BayesianTest:
    """Posterior summaries of the lift of a variation over control."""

    chance_to_beat_control: float  # P(the variation is better than control | data)
    expected_loss: float  # E[harm] if the variation is rolled out: E[max(0, -better_by)]
    expected_loss_control: float  # E[gain forgone] if control is kept: E[max(0, better_by)]
    ci_lower: float  # equal-tailed (1 - alpha) credible interval of the lift
    ci_upper: float
    posterior_mean: float
    posterior_std_dev: float


def _normal_positive_part(mean: float, sd: float) -> float:
    """E[max(0, X)] for X ~ N(mean, sd²), in closed form."""
    z = mean / sd
    return float(sd * stats.norm.pdf(z) + mean * stats.norm.cdf(z))


def bayesian_test(
    moments: EffectMoments,
    alpha: float,
    *,
    higher_is_better: bool = True,
    prior: GaussianPrior | None = None,
) -> BayesianTest:
    """Posterior of the lift under a Normal likelihood and ``prior`` (None: flat).

    Method (as gbstats' ``EffectBayesianABTest``): a Normal approximation of the likelihood of the
    lift — the estimate and variance from ``experiments.frequentist.effect_moments`` — combined
    with a Gaussian prior on the lift; the default is gbstats' default, a flat (improper) prior,
    so the posterior is N(estimate, se²). This is used for proportions too (not Beta posteriors):
    one method on both the absolute and the relative scale, and with the sample sizes where
    decisions are made the Normal and Beta answers agree to about 0.01 (tested).

    "Better" follows the metric's direction: for a metric where lower is better (unsubscribes),
    beating control means a negative lift. Losses are in the lift's own units (a fraction of the
    control mean for relative lifts) and are never negative.

    Untestable moments give chance 0.5 and no interval or losses (NaN), so nothing downstream
    can read an uninformative posterior as evidence.
    """
    if not moments.testable:
        return BayesianTest(0.5, math.nan, math.nan, math.nan, math.nan, math.nan, math.nan)
    if prior is None:
        mean, variance = moments.estimate, moments.variance
    else:
        precision = 1.0 / prior.variance + 1.0 / moments.variance
        variance = 1.0 / precision
        mean = variance * (prior.mean / prior.variance + moments.estimate / moments.variance)
    sd = math.sqrt(variance)
    # Work with "how much better than control" so the direction is handled once.
    better_mean = mean if higher_is_better else -mean
    chance = float(stats.norm.cdf(better_mean / sd))
    z = float(stats.norm.ppf(1.0 - alpha / 2.0))
    return BayesianTest(
        chance_to_beat_control=chance,
        expected_loss=_normal_positive_part(-better_mean, sd),
        expected_loss_control=_normal_positive_part(better_mean, sd),
        ci_lower=mean - z * sd,
        ci_upper=mean + z * sd,
        posterior_mean=mean,
        posterior_std_dev=sd,
    )
