from __future__ import annotations

import numpy as np
import pytest

from bandits.stats import ArmStats, to_arrays


def _of(rewards: list[float]) -> ArmStats:
    x = np.asarray(rewards)
    return ArmStats(float(len(x)), float(x.sum()), float((x**2).sum()))


def test_mean_and_variance_match_numpy_on_the_raw_rewards() -> None:
    rewards = [0.0, 12.5, 0.0, 3.0, 40.0, 0.0, 7.25]
    stats = _of(rewards)
    assert stats.mean == pytest.approx(np.mean(rewards))
    assert stats.variance == pytest.approx(np.var(rewards, ddof=1))


def test_empty_and_single_trial_statistics_are_zero_not_errors() -> None:
    assert ArmStats().mean == 0.0
    assert ArmStats().variance == 0.0
    assert ArmStats(1.0, 5.0, 25.0).variance == 0.0


def test_variance_never_goes_negative_from_rounding() -> None:
    assert ArmStats(3.0, 0.3, 0.03).variance >= 0.0  # three rewards of 0.1


def test_add_pools_the_raw_data() -> None:
    a, b = [1.0, 0.0, 1.0], [0.0, 0.0, 1.0, 1.0, 1.0]
    pooled = _of(a) + _of(b)
    assert pooled == _of(a + b)


def test_scaled_keeps_mean_and_shrinks_trials() -> None:
    stats = _of([2.0, 4.0, 9.0]).scaled(0.5)
    assert stats.n == 1.5
    assert stats.mean == pytest.approx(5.0)


def test_to_arrays_keeps_the_mapping_order_with_a_batch_axis() -> None:
    n, s, ss = to_arrays({"b": ArmStats(10, 2, 2), "a": ArmStats(5, 1, 1)})
    assert n.tolist() == [[10.0, 5.0]]
    assert s.tolist() == [[2.0, 1.0]]
    assert ss.shape == (1, 2)
