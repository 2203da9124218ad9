"""Fixed-horizon lifts: gbstats' published numbers, scipy/statsmodels on the same data, and
raw-data simulations for the delta method and CUPED."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from experiments.frequentist import (
    effect_moments,
    fixed_horizon_test,
    relative_variance_kernel,
    two_sided_p_value_kernel,
    welch_dof_kernel,
)
from experiments.statistics import (
    ProportionStatistic,
    RegressionAdjustedStatistic,
    SampleMeanStatistic,
)

# gbstats' TwoSidedTTest fixture: control mean 0.41, sd 3.9; treatment mean 0.70, sd 6.2.
GB_A = SampleMeanStatistic(n=3407, sum=1396.87, sum_squares=52377.9767)
GB_B = SampleMeanStatistic(n=3461, sum=2422.7, sum_squares=134698.29)
GB_A_3000 = SampleMeanStatistic(n=3000, sum=1396.87, sum_squares=52377.9767)


def mean_stat(values: np.ndarray) -> SampleMeanStatistic:
    return SampleMeanStatistic(len(values), float(values.sum()), float((values**2).sum()))


def cuped_stat(y: np.ndarray, x: np.ndarray) -> RegressionAdjustedStatistic:
    return RegressionAdjustedStatistic(
        len(y),
        float(y.sum()),
        float((y**2).sum()),
        float(x.sum()),
        float((x**2).sum()),
        float((x * y).sum()),
    )


def test_gbstats_relative_welch_published_numbers() -> None:
    moments = effect_moments(GB_A, GB_B, "relative")
    result = fixed_horizon_test(moments, 0.05)
    assert round(moments.estimate, 5) == 0.70732
    assert round(moments.std_error, 5) == 0.37879
    assert (round(result.ci_lower, 5), round(result.ci_upper, 5)) == (-0.03526, 1.44989)
    assert round(result.p_value, 5) == 0.06191


def test_gbstats_absolute_welch_published_numbers() -> None:
    moments = effect_moments(GB_A, GB_B, "absolute")
    result = fixed_horizon_test(moments, 0.05)
    assert round(moments.estimate, 5) == 0.29
    assert (round(result.ci_lower, 5), round(result.ci_upper, 5)) == (0.04538, 0.53462)
    assert round(result.p_value, 5) == 0.02016


def test_gbstats_second_fixture_moments() -> None:
    relative = effect_moments(GB_A_3000, GB_B, "relative")
    absolute = effect_moments(GB_A_3000, GB_B, "absolute")
    assert relative.estimate == pytest.approx(0.5033610858562358, abs=1e-12)
    assert relative.std_error == pytest.approx(0.3334122146400735, abs=1e-12)
    assert absolute.estimate == pytest.approx(0.23437666666666668, abs=1e-12)
    assert absolute.std_error == pytest.approx(0.12983081254184736, abs=1e-12)


def test_absolute_welch_matches_scipy_on_raw_data() -> None:
    rng = np.random.default_rng(10)
    a, b = rng.gamma(2.0, 3.0, 800), rng.gamma(2.2, 3.1, 650)
    moments = effect_moments(mean_stat(a), mean_stat(b), "absolute")
    result = fixed_horizon_test(moments, 0.05)
    reference = stats.ttest_ind(b, a, equal_var=False)
    assert result.p_value == pytest.approx(reference.pvalue, rel=1e-9)
    assert moments.estimate / moments.std_error == pytest.approx(reference.statistic, rel=1e-9)
    assert moments.dof == pytest.approx(reference.df, rel=1e-9)
    low, high = reference.confidence_interval(0.95)
    assert (result.ci_lower, result.ci_upper) == pytest.approx((low, high), rel=1e-9)


def test_absolute_welch_matches_ttest_ind_from_stats() -> None:
    a, b = GB_A, GB_B
    reference = stats.ttest_ind_from_stats(
        b.mean, b.std_dev, b.n, a.mean, a.std_dev, a.n, equal_var=False
    )
    result = fixed_horizon_test(effect_moments(a, b, "absolute"), 0.05)
    assert result.p_value == pytest.approx(reference.pvalue, rel=1e-9)


def test_absolute_welch_ci_matches_statsmodels() -> None:
    weightstats = pytest.importorskip("statsmodels.stats.weightstats")
    rng = np.random.default_rng(11)
    a, b = rng.normal(10, 4, 500), rng.normal(10.8, 6, 700)
    result = fixed_horizon_test(effect_moments(mean_stat(a), mean_stat(b), "absolute"), 0.1)
    compare = weightstats.CompareMeans(weightstats.DescrStatsW(b), weightstats.DescrStatsW(a))
    low, high = compare.tconfint_diff(alpha=0.1, usevar="unequal")
    assert (result.ci_lower, result.ci_upper) == pytest.approx((low, high), rel=1e-9)


@pytest.mark.parametrize(
    ("control", "treatment"),
    [((5000, 500), (5010, 560)), ((1200, 33), (1150, 21)), ((80, 40), (95, 60))],
)
def test_two_proportion_z_matches_statsmodels(
    control: tuple[int, int], treatment: tuple[int, int]
) -> None:
    proportion = pytest.importorskip("statsmodels.stats.proportion")
    (n_a, s_a), (n_b, s_b) = control, treatment
    moments = effect_moments(
        ProportionStatistic(n_a, s_a), ProportionStatistic(n_b, s_b), "absolute"
    )
    result = fixed_horizon_test(moments, 0.05)
    _, p_value = proportion.proportions_ztest([s_b, s_a], [n_b, n_a])
    assert result.p_value == pytest.approx(p_value, rel=1e-9)
    low, high = proportion.confint_proportions_2indep(
        s_b, n_b, s_a, n_a, method="wald", compare="diff", alpha=0.05
    )
    assert (result.ci_lower, result.ci_upper) == pytest.approx((low, high), rel=1e-9)
    assert result.test == "two_proportion_z"


def test_relative_variance_is_the_delta_method() -> None:
    """The closed form equals a numerical delta method: finite-difference gradient of
    (m_b - m_a) / m_a times the means' covariance."""
    m_a, v_a, n_a, m_b, v_b, n_b = 4.1, 9.0, 900.0, 4.6, 12.0, 1100.0

    def ratio(x: float, y: float) -> float:
        return (y - x) / x

    h = 1e-6
    grad_a = (ratio(m_a + h, m_b) - ratio(m_a - h, m_b)) / (2 * h)
    grad_b = (ratio(m_a, m_b + h) - ratio(m_a, m_b - h)) / (2 * h)
    numerical = grad_a**2 * v_a / n_a + grad_b**2 * v_b / n_b
    closed = float(relative_variance_kernel(m_a, v_a, n_a, m_b, v_b, n_b))
    assert closed == pytest.approx(numerical, rel=1e-6)


def test_relative_ci_covers_the_true_lift_in_simulation() -> None:
    rng = np.random.default_rng(12)
    reps, n = 2_000, 600
    a = rng.gamma(3.0, 2.0, (reps, n))  # mean 6
    b = rng.gamma(3.0, 2.2, (reps, n))  # mean 6.6: true relative lift 0.1
    covered = 0
    for row_a, row_b in zip(a, b, strict=True):
        result = fixed_horizon_test(
            effect_moments(mean_stat(row_a), mean_stat(row_b), "relative"), 0.05
        )
        covered += result.ci_lower <= 0.1 <= result.ci_upper
    se = math.sqrt(0.95 * 0.05 / reps)
    assert abs(covered / reps - 0.95) < 3 * se


def test_kernels_vectorise_the_scalar_path() -> None:
    va, na, vb, nb = np.array([1.0, 4.0]), np.array([10.0, 50.0]), np.array([2.0, 1.0]), 20.0
    dof = welch_dof_kernel(va, na, vb, nb)
    for i in range(2):
        assert dof[i] == pytest.approx(float(welch_dof_kernel(va[i], na[i], vb[i], nb)))
    p = two_sided_p_value_kernel([0.1, 0.0, 1.0], [0.01, 0.0, np.nan], [10.0, np.inf, 5.0])
    assert p[0] == pytest.approx(2 * stats.t.sf(1.0, 10.0))
    assert p[1] == 1.0 and p[2] == 1.0


def test_untestable_inputs_report_p_one_and_no_interval() -> None:
    for control, treatment, scale in [
        (SampleMeanStatistic(1, 1.0, 1.0), SampleMeanStatistic(10, 5.0, 9.0), "absolute"),
        (ProportionStatistic(100, 0), ProportionStatistic(100, 4), "relative"),
        (SampleMeanStatistic(10, 10.0, 10.0), SampleMeanStatistic(10, 10.0, 10.0), "absolute"),
    ]:
        moments = effect_moments(control, treatment, scale)  # type: ignore[arg-type]
        result = fixed_horizon_test(moments, 0.05)
        assert not moments.testable
        assert result.p_value == 1.0
        assert math.isnan(result.ci_lower) and math.isnan(result.ci_upper)


def test_extreme_proportions_still_get_the_pooled_p_value() -> None:
    moments = effect_moments(ProportionStatistic(100, 0), ProportionStatistic(100, 100), "absolute")
    result = fixed_horizon_test(moments, 0.05)
    assert result.p_value < 1e-40
    assert math.isnan(result.ci_lower)  # a zero-width Wald interval would claim certainty


def test_mismatched_statistic_types_are_refused() -> None:
    with pytest.raises(TypeError):
        effect_moments(ProportionStatistic(10, 1), SampleMeanStatistic(10, 1.0, 1.0), "absolute")


# --- CUPED ----------------------------------------------------------------------------------


def correlated_arms(
    rng: np.random.Generator, n: int, effect: float, rho: float = 0.8
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    x_a, x_b = rng.normal(10, 2, n), rng.normal(10, 2, n)
    noise = math.sqrt(1 - rho**2) * 2
    y_a = 10 + rho * (x_a - 10) + rng.normal(0, noise, n)
    y_b = 10 + effect + rho * (x_b - 10) + rng.normal(0, noise, n)
    return y_a, x_a, y_b, x_b


def test_cuped_matches_statsmodels_ols_with_the_covariate() -> None:
    sm = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(13)
    y_a, x_a, y_b, x_b = correlated_arms(rng, 4_000, 0.15)
    moments = effect_moments(cuped_stat(y_a, x_a), cuped_stat(y_b, x_b), "absolute")
    y = np.concatenate([y_a, y_b])
    treated = np.concatenate([np.zeros(len(y_a)), np.ones(len(y_b))])
    design = sm.add_constant(np.column_stack([treated, np.concatenate([x_a, x_b])]))
    fit = sm.OLS(y, design).fit(cov_type="HC2")
    # OLS partials the arms out of theta; gbstats' pooled theta does not: equal up to noise
    # far below one standard error.
    assert moments.estimate == pytest.approx(fit.params[1], abs=0.02 * fit.bse[1])
    assert moments.std_error == pytest.approx(fit.bse[1], rel=0.01)


def test_cuped_shrinks_variance_by_the_squared_correlation() -> None:
    rng = np.random.default_rng(14)
    y_a, x_a, y_b, x_b = correlated_arms(rng, 5_000, 0.0, rho=0.8)
    adjusted = effect_moments(cuped_stat(y_a, x_a), cuped_stat(y_b, x_b), "absolute")
    plain = effect_moments(mean_stat(y_a), mean_stat(y_b), "absolute")
    reduction = 1 - adjusted.variance / plain.variance
    assert reduction == pytest.approx(0.64, abs=0.03)


def test_cuped_is_unbiased_and_its_variance_is_right_in_simulation() -> None:
    rng = np.random.default_rng(15)
    reps, effect = 1_500, 0.3
    absolute, relative, reported = [], [], []
    for _ in range(reps):
        y_a, x_a, y_b, x_b = correlated_arms(rng, 400, effect)
        a, b = cuped_stat(y_a, x_a), cuped_stat(y_b, x_b)
        moments = effect_moments(a, b, "absolute")
        absolute.append(moments.estimate)
        reported.append(moments.variance)
        relative.append(fixed_horizon_test(effect_moments(a, b, "relative"), 0.05))
    estimates = np.array(absolute)
    assert abs(estimates.mean() - effect) < 3 * estimates.std() / math.sqrt(reps)
    assert np.mean(reported) == pytest.approx(estimates.var(), rel=0.1)
    covered = sum(r.ci_lower <= effect / 10 <= r.ci_upper for r in relative)
    assert abs(covered / reps - 0.95) < 3 * math.sqrt(0.95 * 0.05 / reps)


def test_cuped_without_a_covariate_equals_the_plain_test() -> None:
    rng = np.random.default_rng(16)
    y_a, y_b = rng.normal(5, 1, 300), rng.normal(5.2, 1, 320)
    zeros_a, zeros_b = np.zeros(300), np.zeros(320)
    for scale in ("absolute", "relative"):
        cuped = effect_moments(cuped_stat(y_a, zeros_a), cuped_stat(y_b, zeros_b), scale)  # type: ignore[arg-type]
        plain = effect_moments(mean_stat(y_a), mean_stat(y_b), scale)  # type: ignore[arg-type]
        assert cuped.estimate == pytest.approx(plain.estimate)
        assert cuped.variance == pytest.approx(plain.variance)
        assert cuped.dof == pytest.approx(plain.dof)


def test_relative_lift_keeps_its_sign_for_a_negative_baseline() -> None:
    """Net revenue of -2 per user in control and -1 in the variation is an improvement: +50 %,
    not gbstats' -50 %. The variance is unchanged (it depends on the mean squared)."""
    rng = np.random.default_rng(17)
    a, b = rng.normal(-2.0, 1.0, 4_000), rng.normal(-1.0, 1.0, 4_000)
    moments = effect_moments(mean_stat(a), mean_stat(b), "relative")
    assert moments.estimate == pytest.approx((b.mean() - a.mean()) / abs(a.mean()))
    assert moments.estimate > 0
    expected = relative_variance_kernel(
        a.mean(), a.var(ddof=1), 4_000, b.mean(), b.var(ddof=1), 4_000
    )
    assert moments.variance == pytest.approx(float(expected))
