"""Posterior distributions of each arm's mean reward, and vectorised draws from them."""

from __future__ import annotations

from typing import Final

import numpy as np

from bandits.stats import FloatArray

# The weak prior of the Gaussian model is worth one observation at the pooled mean and variance:
# enough to give an arm with 0 or 1 trials a finite, wide posterior, and gone after a few trials.
PRIOR_TRIALS: Final = 1.0


def beta_parameters(n: FloatArray, s: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Beta(1 + successes, 1 + failures): the Beta-Bernoulli posterior from a uniform prior.

    Clipped so that ``sum > n`` (a caller's rounding, or a reward counted before its trial)
    can never make a parameter drop below 1.
    """
    successes = np.clip(s, 0.0, None)
    failures = np.clip(n - s, 0.0, None)
    return 1.0 + successes, 1.0 + failures


def normal_parameters(
    n: FloatArray, s: FloatArray, ss: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Mean and standard deviation of a Normal posterior for each arm's mean reward.

    The prior (``PRIOR_TRIALS`` pseudo-observations) takes the mean and the within-arm variance
    pooled over the row's arms, so it is scale-free: it works for revenue in cents or in euros.
    Arrays are ``(batch, arms)``; pooling is per row.
    """
    tried = n > 0
    safe_n = np.where(tried, n, 1.0)
    total_n = n.sum(axis=-1, keepdims=True)
    safe_total = np.where(total_n > 0, total_n, 1.0)
    pooled_mean = s.sum(axis=-1, keepdims=True) / safe_total
    # Within-arm variance, so that differences between arms do not inflate the noise estimate.
    within = np.where(tried, ss - s * s / safe_n, 0.0).sum(axis=-1, keepdims=True)
    dof = total_n - tried.sum(axis=-1, keepdims=True)
    overall = ss.sum(axis=-1, keepdims=True) / safe_total - pooled_mean**2
    pooled_var = np.where(dof >= 1, within / np.where(dof >= 1, dof, 1.0), overall)
    # With no spread seen yet (e.g. no revenue so far), fall back to a coefficient of variation
    # of 1, or to 1 when the mean is 0: arbitrary, but symmetric between arms.
    fallback = np.where(pooled_mean != 0, pooled_mean**2, 1.0)
    pooled_var = np.where(pooled_var > 0, pooled_var, fallback)

    arm_var = np.where(tried, np.clip(ss / safe_n - (s / safe_n) ** 2, 0.0, None), 0.0)
    # Never below the pooled variance: revenue is skewed, so a small sample's variance is usually
    # too small (the rare large orders have not happened yet). Trusting it would make the
    # posterior overconfident and could lock a good arm out for good.
    noise_var = np.maximum(
        (n * arm_var + PRIOR_TRIALS * pooled_var) / (n + PRIOR_TRIALS), pooled_var
    )
    mean = (s + PRIOR_TRIALS * pooled_mean) / (n + PRIOR_TRIALS)
    sd = np.sqrt(noise_var / (n + PRIOR_TRIALS))
    return mean, sd


def sample_means(
    n: FloatArray,
    s: FloatArray,
    ss: FloatArray,
    reward: str,
    draws: int,
    rng: np.random.Generator,
) -> FloatArray:
    """``draws`` posterior draws of every arm's mean: ``(batch, arms) -> (batch, arms, draws)``.

    ``reward`` picks the model: ``binary`` is Beta-Bernoulli, ``value`` is Normal. Draws are the
    last axis so that the maximum over arms runs over contiguous rows: ~7x faster than the
    transposed layout for 5 arms and 2,000 draws.
    """
    batch, arms = n.shape
    if reward == "binary":
        a, b = beta_parameters(n, s)
        return rng.beta(a[..., None], b[..., None], size=(batch, arms, draws))
    mean, sd = normal_parameters(n, s, ss)
    return mean[..., None] + sd[..., None] * rng.standard_normal((batch, arms, draws))
