from __future__ import annotations

import numpy as np
import pytest

from bandits.argmax import greedy_weights, max_share, split_argmax


def test_split_argmax_splits_ties_per_row() -> None:
    scores = np.array([[1.0, 3.0, 3.0], [2.0, 1.0, 0.0]])
    assert split_argmax(scores).tolist() == [[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]]


def test_max_share_counts_a_k_way_tie_as_one_kth_each() -> None:
    # (batch 1, arms 3, draws 4): draw 0 ties arms 0 and 1; draw 3 ties all three.
    draws = np.array([[[5.0, 1.0, 0.0, 2.0], [5.0, 0.0, 1.0, 2.0], [0.0, 3.0, 0.0, 2.0]]])
    shares = max_share(draws)
    third = 1 / 3
    assert shares[0] == pytest.approx([(0.5 + third) / 4, (0.5 + 1 + third) / 4, (1 + third) / 4])
    assert shares.sum() == pytest.approx(1.0)


def test_greedy_weights_prefer_untried_arms() -> None:
    n = np.array([[3.0, 0.0, 1.0, 0.0], [1.0, 1.0, 1.0, 1.0]])
    scores = np.array([[9.0, 0.0, 0.0, 0.0], [0.0, 2.0, 1.0, 0.0]])
    assert greedy_weights(scores, n).tolist() == [[0.0, 0.5, 0.0, 0.5], [0.0, 1.0, 0.0, 0.0]]
