"""Holm and Benjamini-Hochberg against statsmodels' multipletests."""

from __future__ import annotations

import numpy as np
import pytest

from experiments.corrections import benjamini_hochberg, holm

CASES = [
    [0.01, 0.04, 0.03, 0.2],
    [0.001, 0.001, 0.5, 0.02, 0.02, 0.9],  # ties
    [0.3],
    [0.04, 0.045],
    [1.0, 0.0, 0.5],
    list(np.random.default_rng(40).uniform(0, 0.2, 25)),
]


@pytest.mark.parametrize("p_values", CASES)
def test_holm_matches_statsmodels(p_values: list[float]) -> None:
    multitest = pytest.importorskip("statsmodels.stats.multitest")
    _, expected, _, _ = multitest.multipletests(p_values, method="holm")
    assert holm(p_values) == pytest.approx(tuple(expected), abs=1e-15)


@pytest.mark.parametrize("p_values", CASES)
def test_benjamini_hochberg_matches_statsmodels(p_values: list[float]) -> None:
    multitest = pytest.importorskip("statsmodels.stats.multitest")
    _, expected, _, _ = multitest.multipletests(p_values, method="fdr_bh")
    assert benjamini_hochberg(p_values) == pytest.approx(tuple(expected), abs=1e-15)


def test_hand_computed_example() -> None:
    # Holm: sorted 0.01, 0.03, 0.04, 0.2 -> x4, x3, x2, x1 with running max.
    assert holm([0.01, 0.04, 0.03, 0.2]) == pytest.approx((0.04, 0.09, 0.09, 0.2))
    # BH: 0.2x4/4, 0.04x4/3, 0.03x4/2, 0.01x4/1 with running min from the top.
    assert benjamini_hochberg([0.01, 0.04, 0.03, 0.2]) == pytest.approx(
        (0.04, 0.0533333333, 0.0533333333, 0.2)
    )


def test_empty_and_invalid() -> None:
    assert holm([]) == () and benjamini_hochberg([]) == ()
    with pytest.raises(ValueError):
        holm([0.5, 1.5])
    with pytest.raises(ValueError):
        benjamini_hochberg([float("nan")])
