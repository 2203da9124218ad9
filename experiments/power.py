"""Power analysis: users per variation for a relative MDE, and the MDE a sample can detect."""

from __future__ import annotations

import math

from scipy import optimize, stats  # type: ignore[import-untyped, unused-ignore]


def _check_levels(alpha: float, power: float) -> None:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    if not alpha < power < 1:
        raise ValueError(f"power must be in (alpha, 1), got {power}")


def power_two_sided(
    delta: float, variance_a: float, variance_b: float, n: float, alpha: float = 0.05
) -> float:
    """Power to detect a true difference ``delta`` with ``n`` users in each of two arms.

    Two-sided test of a difference of means at level ``alpha`` with equal users per variation,
    normal approximation. Power counts both rejection regions, as statsmodels' ``NormalIndPower``
    does, so the answers equal ``NormalIndPower().solve_power`` for the effect size
    ``delta / sqrt((var_a + var_b) / 2)``. For proportions the variance under the alternative is
    each arm's own ``p(1 - p)`` (unpooled); the MDE is for an increase over the baseline.
    Sizes are per variation; with several variations, each one needs this many.
    """
    if n <= 0:
        raise ValueError(f"n must be > 0, got {n}")
    critical = float(stats.norm.isf(alpha / 2.0))
    shift = abs(delta) / math.sqrt((variance_a + variance_b) / n)
    return float(stats.norm.sf(critical - shift) + stats.norm.cdf(-critical - shift))


def _sample_size(
    delta: float, variance_a: float, variance_b: float, alpha: float, power: float
) -> int:
    _check_levels(alpha, power)
    if delta == 0 or variance_a + variance_b <= 0:
        raise ValueError("the MDE must be non-zero and the metric must vary")
    # The textbook formula ignores the far rejection region, so it is an upper bound on the
    # exact answer; the root lies between almost nothing and it.
    z_sum = float(stats.norm.isf(alpha / 2.0) + stats.norm.ppf(power))
    upper = z_sum**2 * (variance_a + variance_b) / delta**2
    n = float(
        optimize.brentq(
            lambda size: power_two_sided(delta, variance_a, variance_b, size, alpha) - power,
            upper * 1e-9,
            upper,
            xtol=1e-10,
            rtol=1e-14,
        )
    )
    return math.ceil(n - 1e-9 * n)  # tolerance: do not round 1000.0000000001 up to 1001


def sample_size_proportion(
    baseline_rate: float, relative_mde: float, *, alpha: float = 0.05, power: float = 0.8
) -> int:
    """Users per variation to detect ``baseline_rate x (1 + relative_mde)``."""
    if not 0 < baseline_rate < 1:
        raise ValueError(f"baseline_rate must be in (0, 1), got {baseline_rate}")
    target = baseline_rate * (1.0 + relative_mde)
    if not 0 < target < 1:
        raise ValueError(f"baseline_rate x (1 + relative_mde) must be in (0, 1), got {target}")
    return _sample_size(
        target - baseline_rate,
        baseline_rate * (1.0 - baseline_rate),
        target * (1.0 - target),
        alpha,
        power,
    )


def sample_size_mean(
    baseline_mean: float,
    std_dev: float,
    relative_mde: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
) -> int:
    """Users per variation to detect a relative change of the mean (same std dev in both arms)."""
    if baseline_mean == 0:
        raise ValueError("a relative MDE needs a non-zero baseline mean")
    variance = std_dev**2
    return _sample_size(baseline_mean * relative_mde, variance, variance, alpha, power)


def mde_proportion(
    baseline_rate: float, n: float, *, alpha: float = 0.05, power: float = 0.8
) -> float:
    """Smallest relative increase of ``baseline_rate`` detectable with ``n`` users per variation."""
    _check_levels(alpha, power)
    if not 0 < baseline_rate < 1:
        raise ValueError(f"baseline_rate must be in (0, 1), got {baseline_rate}")
    variance_a = baseline_rate * (1.0 - baseline_rate)

    def shortfall(relative: float) -> float:
        target = baseline_rate * (1.0 + relative)
        delta = target - baseline_rate
        return power_two_sided(delta, variance_a, target * (1.0 - target), n, alpha) - power

    largest = (1.0 - baseline_rate) / baseline_rate  # the rate cannot exceed 1
    if shortfall(largest) < 0:
        raise ValueError(f"{n} users per variation cannot reach power {power} at any lift")
    return float(optimize.brentq(shortfall, 1e-12, largest, xtol=1e-14, rtol=1e-12))


def mde_mean(
    baseline_mean: float,
    std_dev: float,
    n: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
) -> float:
    """Smallest relative change of the mean detectable with ``n`` users per variation."""
    _check_levels(alpha, power)
    if baseline_mean == 0:
        raise ValueError("a relative MDE needs a non-zero baseline mean")
    variance = std_dev**2
    z_sum = float(stats.norm.isf(alpha / 2.0) + stats.norm.ppf(power))
    upper = z_sum * math.sqrt(2.0 * variance / n)  # ignores the far tail: an upper bound
    delta = float(
        optimize.brentq(
            lambda d: power_two_sided(d, variance, variance, n, alpha) - power,
            upper * 1e-9,
            upper,
            xtol=1e-14,
            rtol=1e-12,
        )
    )
    return delta / abs(baseline_mean)
