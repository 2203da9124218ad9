"""Non-inferiority: statsmodels' shifted one-sided tests, gbstats' one-sided numbers, and the
always-valid variant's agreement with the confidence sequence."""

from __future__ import annotations

import numpy as np
import pytest

from experiments.frequentist import effect_moments
from experiments.noninferiority import non_inferiority_test
from experiments.sequential import sequential_test
from experiments.statistics import ProportionStatistic, SampleMeanStatistic

GB_A = SampleMeanStatistic(n=3000, sum=1396.87, sum_squares=52377.9767)
GB_B = SampleMeanStatistic(n=3461, sum=2422.7, sum_squares=134698.29)


def test_zero_margin_is_gbstats_one_sided_test() -> None:
    relative = non_inferiority_test(effect_moments(GB_A, GB_B, "relative"), 0.0, 0.05)
    absolute = non_inferiority_test(effect_moments(GB_A, GB_B, "absolute"), 0.0, 0.05)
    assert relative.p_value == pytest.approx(0.06558262868467746, abs=1e-10)
    assert absolute.p_value == pytest.approx(0.03554272489873023, abs=1e-10)


@pytest.mark.parametrize(("margin", "s_b"), [(0.005, 480), (0.01, 470), (0.02, 430)])
def test_proportions_match_statsmodels_wald(margin: float, s_b: int) -> None:
    proportion = pytest.importorskip("statsmodels.stats.proportion")
    control, treatment = ProportionStatistic(5000, 500), ProportionStatistic(5000, s_b)
    result = non_inferiority_test(effect_moments(control, treatment, "absolute"), margin, 0.05)
    reference = proportion.test_proportions_2indep(
        s_b, 5000, 500, 5000, value=-margin, method="wald", compare="diff", alternative="larger"
    )
    assert result.p_value == pytest.approx(reference.pvalue, rel=1e-9)
    assert result.non_inferior == (reference.pvalue < 0.05)


def test_means_match_statsmodels_welch() -> None:
    weightstats = pytest.importorskip("statsmodels.stats.weightstats")
    rng = np.random.default_rng(60)
    a, b = rng.normal(10, 3, 900), rng.normal(9.9, 3.5, 950)
    stat_a = SampleMeanStatistic(len(a), float(a.sum()), float((a**2).sum()))
    stat_b = SampleMeanStatistic(len(b), float(b.sum()), float((b**2).sum()))
    result = non_inferiority_test(effect_moments(stat_a, stat_b, "absolute"), 0.5, 0.05)
    compare = weightstats.CompareMeans(weightstats.DescrStatsW(b), weightstats.DescrStatsW(a))
    _, p_value, _ = compare.ttest_ind(alternative="larger", usevar="unequal", value=-0.5)
    assert result.p_value == pytest.approx(p_value, rel=1e-9)


def test_lower_is_better_metric() -> None:
    """Unsubscribes: a rise is harm. 0.40 % -> 0.41 % is within a 20 % margin; 0.55 % is not."""
    control, treatment = ProportionStatistic(200_000, 800), ProportionStatistic(200_000, 820)
    moments = effect_moments(control, treatment, "relative")
    safe = non_inferiority_test(moments, 0.2, 0.05, higher_is_better=False)
    assert safe.non_inferior and not safe.inferior
    harmful = effect_moments(control, ProportionStatistic(200_000, 1100), "relative")
    result = non_inferiority_test(harmful, 0.2, 0.05, higher_is_better=False)
    assert not result.non_inferior and result.inferior


def test_sequential_variant_agrees_with_the_confidence_sequence() -> None:
    rng = np.random.default_rng(61)
    for _ in range(200):
        s_a, s_b = rng.integers(350, 450, 2)
        moments = effect_moments(
            ProportionStatistic(4000, int(s_a)), ProportionStatistic(4000, int(s_b)), "absolute"
        )
        margin = float(rng.uniform(0, 0.03))
        test = non_inferiority_test(moments, margin, 0.05, sequential_tuning_n=8000)
        interval = sequential_test(moments, 0.05, 8000)
        assert test.non_inferior == (interval.ci_lower > -margin)
        assert test.inferior == (interval.ci_upper < -margin)
        fixed = non_inferiority_test(moments, margin, 0.05)
        assert test.p_value >= fixed.p_value  # always-valid costs evidence, never adds it


def test_untestable_and_invalid() -> None:
    empty = effect_moments(ProportionStatistic(1, 0), ProportionStatistic(1, 1), "absolute")
    result = non_inferiority_test(empty, 0.01, 0.05)
    assert result.p_value == 1.0 and not result.non_inferior and not result.inferior
    with pytest.raises(ValueError):
        non_inferiority_test(effect_moments(GB_A, GB_B, "absolute"), -0.1, 0.05)
