"""Always-valid p-values and confidence sequences, so analysts may look at results every day."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from experiments.frequentist import EffectMoments

FloatArray = npt.NDArray[np.float64]

DEFAULT_TUNING_N = 5000.0


@dataclass(frozen=True)
class SequentialTest:
    """An always-valid two-sided confidence interval and p-value for the lift."""

    ci_lower: float
    ci_upper: float
    p_value: float
    tuning_n: float


def sequential_rho(alpha: float, tuning_n: float) -> float:
    """Mixture scale that minimises the interval's width at ``tuning_n`` (eq. 161)."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    if tuning_n <= 0:
        raise ValueError(f"tuning_n must be > 0, got {tuning_n}")
    log_term = -2.0 * math.log(alpha)
    return math.sqrt((log_term + math.log(log_term + 1.0)) / tuning_n)


def sequential_half_width_kernel(
    variance: npt.ArrayLike, n: npt.ArrayLike, tuning_n: float, alpha: float
) -> FloatArray:
    """Half-width of the confidence sequence for an estimator with sampling ``variance``
    computed from ``n`` users (so the per-user variance is ``variance · n``)."""
    var, size = np.asarray(variance, dtype=np.float64), np.asarray(n, dtype=np.float64)
    rho2 = sequential_rho(alpha, tuning_n) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = size * rho2 + 1.0
        per_user_variance = var * size
        result: FloatArray = np.sqrt(
            per_user_variance * 2.0 * scale * np.log(np.sqrt(scale) / alpha) / (size**2 * rho2)
        )
    return result


def sequential_p_value_kernel(
    estimate: npt.ArrayLike,
    variance: npt.ArrayLike,
    n: npt.ArrayLike,
    tuning_n: float,
    alpha: float,
) -> FloatArray:
    """min(1, 1 / e-value) of the normal mixture at H0: lift = 0; 1 where undefined."""
    est, var = np.asarray(estimate, dtype=np.float64), np.asarray(variance, dtype=np.float64)
    size = np.asarray(n, dtype=np.float64)
    rho2 = sequential_rho(alpha, tuning_n) ** 2
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        scale = size * rho2 + 1.0
        # The standardised sum's square: n · z², with z = estimate / se.
        squared_sum = est**2 * size / var
        log_e_value = rho2 * squared_sum / (2.0 * scale) - 0.5 * np.log(scale)
        p = np.exp(-log_e_value)
    ok = np.isfinite(p) & (var > 0)
    result: FloatArray = np.where(ok, np.minimum(p, 1.0), 1.0)
    return result


def sequential_test(
    moments: EffectMoments, alpha: float, tuning_n: float = DEFAULT_TUNING_N
) -> SequentialTest:
    """Always-valid (1 - alpha) interval and p-value; p = 1 and no interval when not testable.

    The asymptotic confidence sequence of Waudby-Smith et al. (2023, arXiv:2103.06476, eq. 155 and
    161), as GrowthBook implements it (``SequentialTwoSidedTTest``): a normal-mixture boundary on
    the running estimate whose coverage holds simultaneously over all sample sizes, so stopping
    the first day ``p < alpha`` keeps the false-positive rate at or below ``alpha``.

    Tuning rule: ``tuning_n`` is the total users of one comparison (control + that variation) at
    which the interval should be tightest — set it to the planned sample at the horizon
    (``2 x required_sample_size…`` from ``experiments.power``); 5000 is GrowthBook's default. A
    wrong guess costs width, never validity. The mixture's rho is chosen for ``alpha``, but the
    p-value (the inverse of a mixture e-value) is valid at any threshold.

    The p-value is the current one; Ville's inequality bounds the chance that it *ever* drops
    below ``alpha``, so a caller that acts on the first crossing keeps the guarantee. The
    ``*_kernel`` functions take numpy arrays so the A/A simulation runs this exact arithmetic.
    """
    if not moments.testable:
        return SequentialTest(math.nan, math.nan, 1.0, tuning_n)
    half_width = float(sequential_half_width_kernel(moments.variance, moments.n, tuning_n, alpha))
    p_value = float(
        sequential_p_value_kernel(moments.estimate, moments.variance, moments.n, tuning_n, alpha)
    )
    return SequentialTest(
        moments.estimate - half_width, moments.estimate + half_width, p_value, tuning_n
    )
