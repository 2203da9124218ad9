"""Sample-ratio mismatch against scipy's chi-square goodness of fit."""

from __future__ import annotations

import pytest
from scipy.stats import chisquare

from experiments.srm import srm_check


def test_two_arms_5000_vs_5200() -> None:
    result = srm_check({"control": 5000, "b": 5200}, {"control": 0.5, "b": 0.5})
    assert result.p_value == pytest.approx(0.0477, abs=5e-5)
    assert result.p_value == pytest.approx(chisquare([5000, 5200]).pvalue, rel=1e-12)
    assert not result.mismatch  # 0.0477 is far from 0.001


def test_unequal_weights_match_scipy() -> None:
    users = {"control": 3400, "b": 3250, "c": 3450}
    weights = {"control": 0.34, "b": 0.33, "c": 0.33}
    result = srm_check(users, weights)
    expected = [sum(users.values()) * w for w in weights.values()]
    reference = chisquare(list(users.values()), f_exp=expected)
    assert result.chi_square == pytest.approx(reference.statistic, rel=1e-12)
    assert result.p_value == pytest.approx(reference.pvalue, rel=1e-12)
    assert result.dof == 2


def test_weights_need_not_sum_to_one() -> None:
    a = srm_check({"a": 900, "b": 1100}, {"a": 1, "b": 1})
    b = srm_check({"a": 900, "b": 1100}, {"a": 0.5, "b": 0.5})
    assert a.p_value == b.p_value


def test_flags_below_the_threshold() -> None:
    result = srm_check({"control": 5000, "b": 5400}, {"control": 0.5, "b": 0.5})
    assert result.p_value < 0.001 and result.mismatch
    assert not srm_check({"a": 5000, "b": 5400}, {"a": 0.5, "b": 0.5}, threshold=1e-6).mismatch


def test_users_in_a_zero_weight_variation_are_a_mismatch() -> None:
    result = srm_check({"a": 500, "b": 500, "c": 1}, {"a": 0.5, "b": 0.5, "c": 0.0})
    assert result.mismatch and result.p_value == 0.0


def test_no_users_is_no_evidence() -> None:
    result = srm_check({"a": 0, "b": 0}, {"a": 0.5, "b": 0.5})
    assert result.p_value == 1.0 and not result.mismatch


@pytest.mark.parametrize(
    ("users", "weights"),
    [
        ({"a": 1, "b": 1}, {"a": 0.5, "c": 0.5}),
        ({"a": 1, "b": 1}, {"a": -0.5, "b": 0.5}),
        ({"a": 1, "b": 1}, {"a": 0.0, "b": 0.0}),
        ({"a": -1, "b": 1}, {"a": 0.5, "b": 0.5}),
    ],
)
def test_inconsistent_inputs_are_refused(users: dict[str, int], weights: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        srm_check(users, weights)
