"""Fixed-horizon lifts of a variation over control: Welch t, two-proportion z, delta method."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import stats  # type: ignore[import-untyped, unused-ignore]

from experiments.statistics import (
    ProportionStatistic,
    RegressionAdjustedStatistic,
    SampleMeanStatistic,
    Statistic,
    compute_theta,
)

FloatArray = npt.NDArray[np.float64]
DifferenceType = Literal["absolute", "relative"]


@dataclass(frozen=True)
class EffectMoments:
    """A lift estimate and its sampling variance — the input of every test.

    ``dof`` is the reference t distribution's degrees of freedom (``inf`` means normal);
    ``n`` is the users in both arms (the sequential test's sample size); ``null_variance`` is
    the variance the fixed-horizon p-value uses under H0 (pooled for absolute proportions,
    otherwise equal to ``variance``); ``test`` names the fixed-horizon test.
    """

    difference_type: DifferenceType
    estimate: float
    variance: float
    dof: float
    n: int
    null_variance: float
    test: str

    @property
    def std_error(self) -> float:
        return math.sqrt(self.variance) if self.variance >= 0 else math.nan

    @property
    def testable(self) -> bool:
        """False when the data cannot support a test (an arm under two users, zero variance,
        a zero control mean for a relative lift); such results report p = 1 and no interval."""
        return (
            math.isfinite(self.estimate)
            and math.isfinite(self.variance)
            and self.variance > 0
            and self.dof > 0
        )


@dataclass(frozen=True)
class FixedHorizonTest:
    """A two-sided confidence interval and p-value, valid when looked at once, at the horizon."""

    ci_lower: float
    ci_upper: float
    p_value: float
    test: str


def welch_dof_kernel(
    var_a: npt.ArrayLike, n_a: npt.ArrayLike, var_b: npt.ArrayLike, n_b: npt.ArrayLike
) -> FloatArray:
    """Welch-Satterthwaite degrees of freedom of the difference of two means."""
    va, na, vb, nb = (np.asarray(x, dtype=np.float64) for x in (var_a, n_a, var_b, n_b))
    with np.errstate(divide="ignore", invalid="ignore"):
        se_a, se_b = va / na, vb / nb
        result: FloatArray = (se_a + se_b) ** 2 / (se_a**2 / (na - 1) + se_b**2 / (nb - 1))
    return result


def relative_variance_kernel(
    mean_a: npt.ArrayLike,
    var_a: npt.ArrayLike,
    n_a: npt.ArrayLike,
    mean_b: npt.ArrayLike,
    var_b: npt.ArrayLike,
    n_b: npt.ArrayLike,
) -> FloatArray:
    """Delta-method variance of (mean_b - mean_a) / mean_a (gbstats' ``TwoSidedTTest``)."""
    ma, va, na, mb, vb, nb = (
        np.asarray(x, dtype=np.float64) for x in (mean_a, var_a, n_a, mean_b, var_b, n_b)
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        result: FloatArray = vb / (ma**2 * nb) + va * mb**2 / (ma**4 * na)
    return result


def pooled_proportion_variance_kernel(
    sum_a: npt.ArrayLike, n_a: npt.ArrayLike, sum_b: npt.ArrayLike, n_b: npt.ArrayLike
) -> FloatArray:
    """Variance of p_b - p_a under H0: p_a = p_b, from the pooled rate."""
    sa, na, sb, nb = (np.asarray(x, dtype=np.float64) for x in (sum_a, n_a, sum_b, n_b))
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = (sa + sb) / (na + nb)
        result: FloatArray = pooled * (1.0 - pooled) * (1.0 / na + 1.0 / nb)
    return result


def two_sided_p_value_kernel(
    estimate: npt.ArrayLike, variance: npt.ArrayLike, dof: npt.ArrayLike
) -> FloatArray:
    """2·P(T > |estimate / se|); 1 where the variance is zero or undefined (nothing to test)."""
    est, var, df = (np.asarray(x, dtype=np.float64) for x in (estimate, variance, dof))
    with np.errstate(divide="ignore", invalid="ignore"):
        statistic = np.abs(est) / np.sqrt(var)
        p = 2.0 * stats.t.sf(statistic, df)
    ok = np.isfinite(p) & (var > 0)
    result: FloatArray = np.where(ok, np.minimum(p, 1.0), 1.0)
    return result


def _nan_moments(difference_type: DifferenceType, n: int, test: str) -> EffectMoments:
    return EffectMoments(difference_type, math.nan, math.nan, math.nan, n, math.nan, test)


def effect_moments(
    control: Statistic, treatment: Statistic, difference_type: DifferenceType
) -> EffectMoments:
    """The lift of ``treatment`` over ``control`` and its sampling variance.

    The lift is absolute (``b - a``) or relative (``(b - a) / a``); every test in this package —
    fixed-horizon, sequential, Bayesian, non-inferiority — starts from these moments. The
    formulas are gbstats' (``TwoSidedTTest``), so GrowthBook's published numbers reproduce:

    * means: Welch t with Welch-Satterthwaite degrees of freedom;
    * proportions: normal reference (``dof = inf``); the absolute p-value is the pooled
      two-proportion z test (as ``statsmodels.stats.proportion.proportions_ztest``), its CI the
      unpooled Wald interval;
    * relative lifts: delta-method variance, CI and p-value on the same reference distribution;
      divided by |control mean|, so a positive lift means "higher than control" even for a
      negative baseline (gbstats divides by the signed mean; the two agree for positive ones);
    * CUPED (``RegressionAdjustedStatistic``): theta pooled over the pair, the lift of the adjusted
      means, divided by the *unadjusted* control mean for the relative lift.

    The ``*_kernel`` functions take numpy arrays so simulations run the same arithmetic vectorised.
    """
    if type(control) is not type(treatment):
        raise TypeError(
            f"control and treatment must be the same statistic type, got "
            f"{type(control).__name__} and {type(treatment).__name__}"
        )
    relative = difference_type == "relative"
    n = control.n + treatment.n
    if isinstance(control, ProportionStatistic):
        assert isinstance(treatment, ProportionStatistic)
        test = "delta_method_z" if relative else "two_proportion_z"
        if control.n < 2 or treatment.n < 2:
            return _nan_moments(difference_type, n, test)
        dof = math.inf
    elif isinstance(control, SampleMeanStatistic):
        test = "delta_method_welch_t" if relative else "welch_t"
        if control.n < 2 or treatment.n < 2:
            return _nan_moments(difference_type, n, test)
        dof = float(welch_dof_kernel(control.variance, control.n, treatment.variance, treatment.n))
    else:
        assert isinstance(treatment, RegressionAdjustedStatistic)
        test = "cuped_delta_method_welch_t" if relative else "cuped_welch_t"
        if control.n < 2 or treatment.n < 2:
            return _nan_moments(difference_type, n, test)
        return _cuped_moments(control, treatment, difference_type, test)

    mean_a, var_a, mean_b, var_b = (
        control.mean,
        control.variance,
        treatment.mean,
        treatment.variance,
    )
    if relative:
        if mean_a == 0:
            return _nan_moments(difference_type, n, test)
        estimate = (mean_b - mean_a) / abs(mean_a)
        variance = float(
            relative_variance_kernel(mean_a, var_a, control.n, mean_b, var_b, treatment.n)
        )
        null_variance = variance
    else:
        estimate = mean_b - mean_a
        variance = var_b / treatment.n + var_a / control.n
        null_variance = variance
        if isinstance(control, ProportionStatistic):
            null_variance = float(
                pooled_proportion_variance_kernel(
                    control.sum, control.n, treatment.sum, treatment.n
                )
            )
    return EffectMoments(difference_type, estimate, variance, dof, n, null_variance, test)


def _cuped_moments(
    control: RegressionAdjustedStatistic,
    treatment: RegressionAdjustedStatistic,
    difference_type: DifferenceType,
    test: str,
) -> EffectMoments:
    theta = compute_theta(control, treatment)
    var_a, var_b = control.adjusted_variance(theta), treatment.adjusted_variance(theta)
    n_a, n_b = control.n, treatment.n
    dof = float(welch_dof_kernel(var_a, n_a, var_b, n_b))
    difference = treatment.adjusted_mean(theta) - control.adjusted_mean(theta)
    n = n_a + n_b
    if difference_type == "absolute":
        variance = var_b / n_b + var_a / n_a
        return EffectMoments(difference_type, difference, variance, dof, n, variance, test)
    mean_a = control.mean
    if mean_a == 0:
        return _nan_moments(difference_type, n, test)
    # gbstats' frequentist_variance_relative_cuped: the delta method with the treatment's
    # unadjusted mean in the control gradient (randomisation makes the pre-period means equal
    # in expectation), kept so GrowthBook's published CUPED numbers reproduce.
    v_treatment = var_b / (n_b * mean_a**2)
    const = -treatment.mean
    v_control = (
        control.variance * const**2 / mean_a**2
        + 2.0 * theta * control.covariance * const / mean_a
        + theta**2 * control.pre_variance
    ) / (n_a * mean_a**2)
    variance = v_treatment + v_control
    return EffectMoments(
        difference_type, difference / abs(mean_a), variance, dof, n, variance, test
    )


def fixed_horizon_test(moments: EffectMoments, alpha: float) -> FixedHorizonTest:
    """Two-sided (1 - alpha) CI and p-value; p = 1 and no interval when not testable.

    The p-value needs only the null variance, so 0/100 vs 100/100 conversions still gets the
    pooled z test's p-value, while its Wald interval (zero width) is reported as absent.
    """
    p_value = 1.0
    if math.isfinite(moments.estimate) and moments.null_variance > 0 and moments.dof > 0:
        p_value = float(
            two_sided_p_value_kernel(moments.estimate, moments.null_variance, moments.dof)
        )
    if not moments.testable:
        return FixedHorizonTest(math.nan, math.nan, p_value, moments.test)
    half_width = float(stats.t.ppf(1.0 - alpha / 2.0, moments.dof)) * moments.std_error
    return FixedHorizonTest(
        moments.estimate - half_width, moments.estimate + half_width, p_value, moments.test
    )
