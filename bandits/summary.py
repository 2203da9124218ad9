"""What analysts read about arms: posterior mean, credible interval, chance of being best."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import stats as distributions  # type: ignore[import-untyped, unused-ignore]

from bandits.stats import ArmStats


@dataclass(frozen=True)
class ArmSummary:
    mean: float  # posterior mean of the reward per trial
    low: float  # equal-tailed credible interval
    high: float
    chance_best: float  # P(this arm has the highest true mean), by Monte-Carlo


def summarize(
    stats: Mapping[str, ArmStats],
    reward: str,
    rng: np.random.Generator,
    *,
    draws: int = 20_000,
    level: float = 0.95,
) -> dict[str, ArmSummary]:
    """Beta(1 + rewards, 1 + failures) for binary rewards; a Normal approximation of the mean
    (variance from sum_sq, a unit-variance prior under two trials) for value rewards."""
    arms = list(stats)
    if not arms:
        return {}
    tail = (1 - level) / 2
    if reward == "binary":
        a = np.array([1 + stats[k].sum for k in arms])
        b = np.array([1 + max(stats[k].n - stats[k].sum, 0.0) for k in arms])
        means = a / (a + b)
        low, high = distributions.beta.ppf(tail, a, b), distributions.beta.ppf(1 - tail, a, b)
        samples = rng.beta(a, b, size=(draws, len(arms)))
    else:
        n = np.array([stats[k].n for k in arms])
        means = np.array([stats[k].mean if stats[k].n else 0.0 for k in arms])
        variance = np.array([stats[k].variance if stats[k].n >= 2 else 1.0 for k in arms])
        se = np.sqrt(variance / np.maximum(n, 1.0))
        z = distributions.norm.ppf(1 - tail)
        low, high = means - z * se, means + z * se
        samples = rng.normal(means, se, size=(draws, len(arms)))
    best = np.bincount(samples.argmax(axis=1), minlength=len(arms)) / draws
    return {
        arm: ArmSummary(float(means[i]), float(low[i]), float(high[i]), float(best[i]))
        for i, arm in enumerate(arms)
    }
