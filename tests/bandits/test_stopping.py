from __future__ import annotations

import numpy as np
import pytest

from bandits.stopping import should_stop, value_remaining


def _arrays(rows: list[list[tuple[float, float]]]) -> tuple[np.ndarray, np.ndarray]:
    data = np.array(rows)
    return data[..., 0], data[..., 1]


def test_value_remaining_is_deterministic_and_small_for_a_clear_winner() -> None:
    n, s = _arrays([[(20_000, 1_400), (20_000, 600)], [(100, 7), (100, 6)]])
    leader, loss, mean = value_remaining(n, s, s, "binary", 2000)
    assert leader.tolist() == [0, 0]
    assert loss[0] < 1e-6 < loss[1]
    assert mean[0] == np.float64(mean[0]) and abs(mean[0] - 0.07) < 0.002
    again = value_remaining(n, s, s, "binary", 2000)
    assert (again[1] == loss).all()


def test_a_leader_at_least_95_percent_likely_best_has_no_value_remaining() -> None:
    # 5.6% vs 5.0% on 20,000 trials each: P(leader best) ≈ 0.997, so the 95th percentile of its
    # loss is 0 and any stop_loss stops.
    n, s = _arrays([[(20_000, 1_120), (20_000, 1_000)]])
    assert should_stop(n, s, s, "binary", 2000, 0.001)[0].tolist() == [True]


def test_stop_needs_the_loss_below_the_share_of_the_leaders_mean() -> None:
    # 5.2% vs 5.0%: P(leader best) ≈ 0.82. Normal approximation of the 95th percentile of the
    # loss max(0, Y - X): -(0.002 - 1.645 * sqrt(2 * 0.051 * 0.949 / 20,000)) ≈ 0.00162,
    # about 3.1% of the leader's 5.2%.
    n, s = _arrays([[(20_000, 1_040), (20_000, 1_000)]])
    _, loss, _ = value_remaining(n, s, s, "binary", 2000)
    assert loss[0] == pytest.approx(0.00162, rel=0.1)
    assert should_stop(n, s, s, "binary", 2000, 0.04)[0].tolist() == [True]
    assert should_stop(n, s, s, "binary", 2000, 0.02)[0].tolist() == [False]
