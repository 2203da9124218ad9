from __future__ import annotations

import numpy as np
import pytest

from bandits.config import BanditConfig
from bandits.environment import Environment
from bandits.simulate import Simulation, simulate

RATES = [0.04, 0.045, 0.05, 0.055, 0.06]
ENV = Environment.stationary(RATES, seed=1)


def test_uniform_regret_is_the_mean_gap_times_the_rounds() -> None:
    result = simulate(
        ENV, Simulation(BanditConfig(algorithm="uniform"), 1000, 400), np.random.default_rng(0)
    )
    expected = (0.06 - np.mean(RATES)) * 1000
    se = result.regret.std(ddof=1) / np.sqrt(400)
    assert result.regret.shape == (400,)
    assert abs(result.regret.mean() - expected) < 4 * se
    assert result.best_share.mean() == pytest.approx(0.2, abs=0.01)


def test_thompson_learns_and_runs_are_reproducible() -> None:
    sim = Simulation(BanditConfig(mc_draws=1), 3000, 200)
    first = simulate(ENV, sim, np.random.default_rng(5))
    again = simulate(ENV, sim, np.random.default_rng(5))
    assert (first.regret == again.regret).all()
    assert first.best_share[-500:].mean() > first.best_share[:500].mean() + 0.1
    assert (first.regret >= 0).all()


def test_without_feedback_a_bandit_is_no_better_than_uniform() -> None:
    # Rewards delayed past the end: trials count, rewards never arrive.
    blind = Simulation(BanditConfig(mc_draws=1), 1000, 300, delay=1000)
    uniform = Simulation(BanditConfig(algorithm="uniform"), 1000, 300)
    assert simulate(ENV, blind, np.random.default_rng(0)).regret.mean() == pytest.approx(
        simulate(ENV, uniform, np.random.default_rng(0)).regret.mean(), rel=0.05
    )


def test_delay_and_batching_cost_a_little_regret_not_a_lot() -> None:
    online = simulate(
        ENV, Simulation(BanditConfig(mc_draws=1), 3000, 200), np.random.default_rng(0)
    )
    delayed = simulate(
        ENV, Simulation(BanditConfig(mc_draws=1), 3000, 200, delay=50), np.random.default_rng(0)
    )
    batched = simulate(
        ENV, Simulation(BanditConfig(), 3000, 200, refresh_every=100), np.random.default_rng(0)
    )
    for other in (delayed, batched):
        assert other.regret.mean() < 1.25 * online.regret.mean()


def test_weights_computed_once_before_any_data_stay_uniform() -> None:
    never = Simulation(BanditConfig(), 1000, 300, refresh_every=1000)
    result = simulate(ENV, never, np.random.default_rng(0))
    expected = (0.06 - np.mean(RATES)) * 1000
    assert abs(result.regret.mean() - expected) < 4 * result.regret.std(ddof=1) / np.sqrt(300)


def test_the_control_share_is_kept_in_simulation() -> None:
    # Arm "0" is the control at 50%: half the decisions go to a 4% arm whatever is learned.
    config = BanditConfig(mc_draws=1, control="0", control_share=0.5)
    result = simulate(ENV, Simulation(config, 2000, 200), np.random.default_rng(0))
    assert result.regret.mean() > 0.5 * 0.02 * 2000


def test_invalid_simulations_are_refused() -> None:
    with pytest.raises(ValueError):
        Simulation(BanditConfig(), rounds=0, seeds=1)
    with pytest.raises(ValueError):
        Simulation(BanditConfig(), rounds=1, seeds=1, discount_per_day=0)
