"""What analysts read about arms: posterior mean, credible interval, chance of being best."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import stats as distributions  # type: ignore[import-untyped, unused-ignore]

from bandits.posterior import beta_parameters, normal_parameters
from bandits.stats import ArmStats, to_arrays
from bandits.thompson import best_arm_shares


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
    """The same posteriors the policies draw from (bandits.posterior): Beta-Bernoulli for
    binary rewards, the pooled-prior Normal for value rewards."""
    arms = list(stats)
    if not arms:
        return {}
    tail = (1 - level) / 2
    n, s, ss = to_arrays(stats)
    if reward == "binary":
        a, b = beta_parameters(n, s)
        means = a / (a + b)
        low, high = distributions.beta.ppf(tail, a, b), distributions.beta.ppf(1 - tail, a, b)
    else:
        means, sd = normal_parameters(n, s, ss)
        z = distributions.norm.ppf(1 - tail)
        low, high = means - z * sd, means + z * sd
    best = best_arm_shares(n, s, ss, "binary" if reward == "binary" else "value", draws, rng)
    return {
        arm: ArmSummary(float(means[0, i]), float(low[0, i]), float(high[0, i]), float(best[0, i]))
        for i, arm in enumerate(arms)
    }
