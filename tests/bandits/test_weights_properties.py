"""Properties of every policy's weights, for arbitrary counters."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bandits.config import ALGORITHMS, MAX_FLOOR, BanditConfig
from bandits.policy import make_policy
from bandits.stats import ArmStats

FAST = settings(max_examples=150, deadline=None, derandomize=True)


@st.composite
def binary_arm(draw: st.DrawFn) -> ArmStats:
    n = draw(st.floats(min_value=0, max_value=1e7) | st.integers(0, 50).map(float))
    converted = draw(st.floats(min_value=0, max_value=1)) * n
    return ArmStats(n, converted, converted)


@st.composite
def value_arm(draw: st.DrawFn) -> ArmStats:
    values = draw(st.lists(st.floats(min_value=0, max_value=1e4), max_size=20))
    scale = draw(st.floats(min_value=0.01, max_value=1e4))  # forgetting discounts counts
    return ArmStats(len(values) * scale, sum(values) * scale, sum(v * v for v in values) * scale)


@FAST
@given(
    st.sampled_from(sorted(ALGORITHMS)),
    st.sampled_from(["binary", "value"]),
    st.integers(min_value=1, max_value=5),
    st.floats(min_value=0, max_value=MAX_FLOOR),
    st.integers(min_value=0, max_value=30),
    st.data(),
)
def test_weights_are_a_distribution_that_respects_the_floor(
    algorithm: str, reward: str, arms: int, floor: float, warmup: int, data: st.DataObject
) -> None:
    arm = binary_arm() if reward == "binary" else value_arm()
    stats = {f"arm{i}": data.draw(arm) for i in range(arms)}
    config = BanditConfig(
        algorithm=algorithm, reward=reward, floor=floor, warmup=warmup, mc_draws=200
    )
    weights = make_policy(config).weights(stats, np.random.default_rng(7))
    assert list(weights) == list(stats)
    assert abs(sum(weights.values()) - 1) < 1e-9, weights
    effective_floor = min(floor, 1 / len(stats))
    for value in weights.values():
        assert np.isfinite(value) and value >= effective_floor - 1e-9, (weights, floor)
