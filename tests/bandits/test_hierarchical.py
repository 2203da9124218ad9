from __future__ import annotations

import numpy as np
import pytest

from bandits.config import BanditConfig
from bandits.environment import Environment
from bandits.hierarchical import prior_strength, shrink, strength_arrays
from bandits.simulate import Simulation, simulate
from bandits.stats import ArmStats
from tests.bandits.cases import binary

POPULATION = {"a": binary(50_000, 2_000), "b": binary(50_000, 3_000)}


def test_a_segment_without_data_starts_from_the_population() -> None:
    empty = {"a": ArmStats(), "b": ArmStats()}
    shrunk = shrink(empty, POPULATION, strength=1e12)
    assert shrunk == POPULATION
    capped = shrink(empty, POPULATION, strength=200.0)
    assert {k: v.n for k, v in capped.items()} == {"a": 200.0, "b": 200.0}
    assert {k: v.mean for k, v in capped.items()} == pytest.approx({"a": 0.04, "b": 0.06})


def test_a_segment_with_huge_data_keeps_its_own_rate() -> None:
    big = {"a": binary(2_000_000, 200_000), "b": binary(2_000_000, 40_000)}
    shrunk = shrink(big, POPULATION, strength=1_000.0)
    assert shrunk["a"].mean == pytest.approx(0.1, abs=1e-4)
    assert shrunk["b"].mean == pytest.approx(0.02, abs=1e-4)


def test_per_arm_strengths_and_arms_the_population_lacks() -> None:
    segment = {"a": binary(10, 1), "b": binary(10, 1), "new": binary(3, 0)}
    shrunk = shrink(segment, POPULATION, {"a": 100.0, "b": 0.0})
    assert shrunk["a"] == binary(110, 1 + 4)
    assert shrunk["b"] == segment["b"]
    assert shrunk["new"] == segment["new"]


def test_method_of_moments_recovers_the_prior_strength() -> None:
    # Segment rates ~ Beta(mean 0.05, worth M = 400 trials): between-segment variance
    # p(1-p)/(M+1); 50 segments of 500-3,000 trials. The estimate is noisy, its median is not.
    rng = np.random.default_rng(0)
    estimates = []
    for _ in range(100):
        rates = rng.beta(0.05 * 400, 0.95 * 400, size=50)
        n = rng.integers(500, 3000, size=50).astype(float)
        s = rng.binomial(n.astype(int), rates).astype(float)
        estimates.append(strength_arrays(n[:, None], s[:, None], s[:, None], cap=1e9)[0])
    assert np.median(estimates) == pytest.approx(400, rel=0.2)


def test_the_cap_applies_when_segments_look_identical_or_cannot_be_compared() -> None:
    same = [{"a": binary(1000, 50)} for _ in range(5)]
    assert prior_strength(same, cap=300.0) == {"a": 300.0}
    assert prior_strength([{"a": binary(1000, 50)}], cap=300.0) == {"a": 300.0}
    spread = [{"a": binary(1000, 10)}, {"a": binary(1000, 90)}, {"a": binary(1000, 50)}]
    assert prior_strength(spread, cap=300.0)["a"] < 30
    assert prior_strength([], cap=1.0) == {}


def test_hierarchical_thompson_beats_independent_segments_with_little_traffic() -> None:
    # 20 segments whose rates scatter ±10% around (4%, 4.5%, 5%, 5.5%, 6%), 2,000 decisions in
    # all (about 100 per segment), 3 draws of the segment rates x 40 seeds, paired by common
    # random numbers.
    base = [0.04, 0.045, 0.05, 0.055, 0.06]
    pooled, independent = [], []
    for world in range(3):
        env = Environment.related_segments(base, 20, 0.1, np.random.default_rng(world), world)
        for strength, out in ((1000.0, pooled), (0.0, independent)):
            config = BanditConfig(mc_draws=1, prior_strength=strength)
            result = simulate(env, Simulation(config, 2000, 40), np.random.default_rng(world))
            out.append(result.regret)
    difference = np.concatenate(pooled) - np.concatenate(independent)
    se = difference.std(ddof=1) / np.sqrt(difference.size)
    assert difference.mean() + 3 * se < 0
    assert np.concatenate(pooled).mean() < 0.9 * np.concatenate(independent).mean()
