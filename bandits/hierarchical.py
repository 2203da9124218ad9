"""Empirical-Bayes pooling across segments: a segment's arms start from the population's rates.

Each arm's prior in a segment is the population's statistics for that arm (pooled over all
segments) scaled to be worth ``m`` pseudo-trials, where ``m`` is estimated from how much the
segments really differ (method of moments), capped by the configured ``prior_strength`` and by
the population's own trials. A new segment therefore starts from the population instead of from
nothing, and a big segment is dominated by its own data.

The population includes the segment itself, so its data is counted a second time inside the
prior: at most ``m`` extra pseudo-trials, small next to a big segment's data and harmless for a
small one (whose share of the population is small). Keeping the population a plain sum keeps
it one Redis read instead of one per segment.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from bandits.stats import ArmStats, FloatArray


def strength_arrays(n: FloatArray, s: FloatArray, ss: FloatArray, cap: float) -> FloatArray:
    """Per arm, the pseudo-trials the population prior is worth, from ``(..., segments, arms)``.

    Method of moments (DerSimonian and Laird, 1986): with N trials over k segments, population
    mean p and within-segment variance σ², E[Σ nᵢ (meanᵢ - p)²] = (k - 1)σ² + τ²(N - Σnᵢ²/N),
    which gives the between-segment variance τ². A segment mean's prior is then worth σ²/τ²
    observations (the Normal-Normal posterior; for Beta-Bernoulli it is p(1-p)/τ² - 1). When
    the segments look identical (τ² ≤ 0) or cannot be compared (fewer than two with data), the
    cap applies.
    """
    has = n > 0
    safe_n = np.where(has, n, 1.0)
    k = has.sum(axis=-2)
    total = n.sum(axis=-2)
    safe_total = np.where(total > 0, total, 1.0)
    pooled = s.sum(axis=-2) / safe_total
    dof = total - k
    within_ss = np.where(has, ss - s * s / safe_n, 0.0).sum(axis=-2)
    within = np.clip(within_ss, 0.0, None) / np.where(dof > 0, dof, 1.0)
    spread = (np.where(has, n * (s / safe_n - pooled[..., None, :]) ** 2, 0.0)).sum(axis=-2)
    denominator = total - (n * n).sum(axis=-2) / safe_total
    tau2 = (spread - (k - 1) * within) / np.where(denominator > 0, denominator, 1.0)
    usable = (k >= 2) & (dof > 0) & (denominator > 0) & (tau2 > 0)
    worth = within / np.where(usable, tau2, 1.0)
    return np.where(usable, np.minimum(worth, cap), cap)


def prior_strength(segments: Iterable[Mapping[str, ArmStats]], cap: float) -> dict[str, float]:
    """Per arm, the pseudo-trials the population prior is worth, from every segment's stats.

    Meant to be computed once per refresh over all segments and passed to :func:`shrink`.
    """
    rows = list(segments)
    arms = list(dict.fromkeys(arm for row in rows for arm in row))
    if not rows or not arms:
        return {}
    empty = ArmStats()
    values = np.array([[_triple(row.get(arm, empty)) for arm in arms] for row in rows])
    strength = strength_arrays(values[..., 0], values[..., 1], values[..., 2], cap)
    return dict(zip(arms, strength.tolist(), strict=True))


def _triple(stats: ArmStats) -> tuple[float, float, float]:
    return stats.n, stats.sum, stats.sum_sq


def shrink_arrays(
    n: FloatArray,
    s: FloatArray,
    ss: FloatArray,
    population: tuple[FloatArray, FloatArray, FloatArray],
    strength: FloatArray | float,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Add to each arm's statistics the population's, scaled to ``min(strength, population n)``
    trials; ``population`` and ``strength`` broadcast against ``n``."""
    pop_n, pop_s, pop_ss = population
    factor = np.where(pop_n > 0, np.minimum(strength, pop_n) / np.where(pop_n > 0, pop_n, 1.0), 0.0)
    return n + factor * pop_n, s + factor * pop_s, ss + factor * pop_ss


def shrink(
    segment: Mapping[str, ArmStats],
    population: Mapping[str, ArmStats],
    strength: float | Mapping[str, float],
) -> dict[str, ArmStats]:
    """The segment's statistics with the population prior added, for the segment's arms.

    ``strength`` is the cap on the prior's pseudo-trials: a number, or per arm (as returned by
    :func:`prior_strength`). An arm the population has never tried gets no prior.
    """
    result: dict[str, ArmStats] = {}
    for arm, own in segment.items():
        pop = population.get(arm, ArmStats())
        cap = strength if isinstance(strength, float | int) else strength.get(arm, 0.0)
        worth = min(float(cap), pop.n)
        result[arm] = own + pop.scaled(worth / pop.n) if worth > 0 else own
    return result
