from __future__ import annotations

import numpy as np
import pytest

from bandits.environment import Environment


def test_reward_uniforms_are_uniform_and_reproducible() -> None:
    env = Environment.stationary([0.5, 0.5], seed=9)
    replicates = np.arange(200_000)
    zeros = np.zeros(200_000, dtype=np.intp)
    u = env.reward_uniforms(replicates, zeros, zeros, zeros)
    assert u.min() >= 0 and u.max() < 1
    assert u.mean() == pytest.approx(0.5, abs=0.003)
    assert u.var() == pytest.approx(1 / 12, abs=0.001)
    assert np.corrcoef(u[:-1], u[1:])[0, 1] == pytest.approx(0, abs=0.01)
    again = env.reward_uniforms(replicates, zeros, zeros, zeros)
    assert (u == again).all()
    other_arm = env.reward_uniforms(replicates, zeros, zeros + 1, zeros)
    assert np.corrcoef(u, other_arm)[0, 1] == pytest.approx(0, abs=0.01)


def test_rates_follow_the_drift_schedule() -> None:
    env = Environment.drifting([(0, [0.1, 0.2]), (100, [0.3, 0.1])])
    assert env.rates_at(99).tolist() == [[0.1, 0.2]]
    assert env.rates_at(100).tolist() == [[0.3, 0.1]]


def test_segments_get_their_traffic_share() -> None:
    env = Environment(np.full((1, 3, 2), 0.1), traffic=np.array([0.5, 0.3, 0.2]))
    segments = np.concatenate([env.segment_of(np.arange(1000), t) for t in range(50)])
    assert np.bincount(segments) / segments.size == pytest.approx([0.5, 0.3, 0.2], abs=0.01)


def test_related_segments_scatter_around_the_base_rates() -> None:
    env = Environment.related_segments([0.04, 0.06], 400, 0.1, np.random.default_rng(0))
    assert env.rates.shape == (1, 400, 2)
    assert np.median(env.rates[0], axis=0) == pytest.approx([0.04, 0.06], rel=0.03)


def test_malformed_schedules_are_refused() -> None:
    with pytest.raises(ValueError):
        Environment.drifting([(10, [0.1])])
    with pytest.raises(ValueError):
        Environment.drifting([(0, [0.1]), (20, [0.2]), (10, [0.3])])
