from __future__ import annotations

import numpy as np
import pytest

from bandits.config import BanditConfig
from bandits.environment import Environment
from bandits.forgetting import decayed, windowed
from bandits.simulate import Simulation, simulate
from bandits.stats import ArmStats

BUCKETS = [(0.0, ArmStats(100, 10, 10)), (1.0, ArmStats(200, 10, 10)), (3.0, ArmStats(80, 8, 8))]


def test_decayed_weights_each_bucket_by_discount_to_the_power_of_its_age() -> None:
    total = decayed(BUCKETS, 0.5)
    assert total.n == pytest.approx(100 + 200 * 0.5 + 80 * 0.125)
    assert total.sum == pytest.approx(10 + 10 * 0.5 + 8 * 0.125)
    assert decayed(BUCKETS, 1.0) == ArmStats(380, 28, 28)
    assert decayed([], 0.9) == ArmStats()


def test_windowed_sums_the_buckets_younger_than_the_window() -> None:
    assert windowed(BUCKETS, 2) == ArmStats(300, 20, 20)
    assert windowed(BUCKETS, 3.5) == ArmStats(380, 28, 28)


@pytest.mark.parametrize("discount", [0.0, 1.5, float("nan")])
def test_a_discount_outside_0_to_1_is_refused(discount: float) -> None:
    with pytest.raises(ValueError, match="discount_per_day"):
        decayed(BUCKETS, discount)


def test_negative_ages_and_empty_windows_are_refused() -> None:
    with pytest.raises(ValueError, match="ages"):
        decayed([(-1.0, ArmStats())], 0.5)
    with pytest.raises(ValueError, match="days"):
        windowed(BUCKETS, 0)


def test_discounting_follows_a_drift_that_plain_thompson_misses() -> None:
    # The best arm falls from 6% to 2% at round 3,000 while the worst rises from 4% to 8%.
    # 1,000 decisions a day, discount 0.5 a day; 100 seeds, paired by common random numbers.
    env = Environment.drifting(
        [(0, [0.04, 0.045, 0.05, 0.055, 0.06]), (3000, [0.08, 0.045, 0.05, 0.055, 0.02])], seed=3
    )
    config = BanditConfig(mc_draws=1)
    plain = simulate(env, Simulation(config, 5000, 100), np.random.default_rng(1))
    forgetting = simulate(
        env, Simulation(config, 5000, 100, discount_per_day=0.5), np.random.default_rng(1)
    )
    # Share of decisions going to the new best in the 2,000 rounds after the change …
    assert forgetting.best_share[3000:].mean() > 1.4 * plain.best_share[3000:].mean()
    # … and share of seeds whose leading arm is the new best 2,000 rounds after it.
    assert forgetting.leader_share[-1] >= 0.8 > 0.7 > plain.leader_share[-1]
    assert forgetting.regret.mean() < plain.regret.mean()
