"""One-sided non-inferiority tests for guardrails: not worse than control by more than a margin."""

from __future__ import annotations

from dataclasses import dataclass

from scipy import stats  # type: ignore[import-untyped, unused-ignore]

from experiments.frequentist import EffectMoments
from experiments.sequential import sequential_p_value_kernel


@dataclass(frozen=True)
class NonInferiorityTest:
    """The verdict of one guardrail for one variation."""

    margin: float
    p_value: float  # one-sided p-value of H0: worse by >= margin
    non_inferior: bool  # H0 rejected: safe within the margin
    inferior: bool  # the opposite one-sided test rejects: worse than the margin, conclusively
    sequential: bool


def non_inferiority_test(
    moments: EffectMoments,
    margin: float,
    alpha: float,
    *,
    higher_is_better: bool = True,
    sequential_tuning_n: float | None = None,
) -> NonInferiorityTest:
    """Test ``moments`` against ``margin``; with ``sequential_tuning_n`` the always-valid test.

    H0: the variation is worse than control by at least ``margin`` (in the lift's units: a fraction
    of the control mean for relative lifts, metric units for absolute ones); rejecting H0 at
    ``alpha`` shows non-inferiority. "Worse" follows the metric's direction. The fixed-horizon test
    is the one-sided Welch t / Wald z on the estimate shifted by the margin (as statsmodels'
    ``test_proportions_2indep(..., value=-margin, method="wald", alternative="larger")`` and
    ``CompareMeans.ttest_ind(usevar="unequal", value=-margin, alternative="larger")``). The
    sequential variant uses the always-valid p-value of the shifted estimate, which stays valid
    when the guardrail is checked every day (it is two-sided, hence conservative).
    """
    if margin < 0:
        raise ValueError(f"margin must be >= 0 (the harm tolerated), got {margin}")
    sequential = sequential_tuning_n is not None
    if not moments.testable:
        return NonInferiorityTest(margin, 1.0, False, False, sequential)
    better_by = moments.estimate if higher_is_better else -moments.estimate
    shifted = better_by + margin
    if sequential_tuning_n is not None:
        p_two_sided = float(
            sequential_p_value_kernel(
                shifted, moments.variance, moments.n, sequential_tuning_n, alpha
            )
        )
        p_value = p_two_sided if shifted > 0 else 1.0
        inferior = shifted < 0 and p_two_sided < alpha
    else:
        statistic = shifted / moments.std_error
        p_value = float(stats.t.sf(statistic, moments.dof))
        inferior = float(stats.t.cdf(statistic, moments.dof)) < alpha
    return NonInferiorityTest(margin, p_value, p_value < alpha, inferior, sequential)
