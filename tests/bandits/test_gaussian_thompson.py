from __future__ import annotations

import numpy as np
import pytest

from bandits.config import BanditConfig
from bandits.gaussian_thompson import GaussianThompson
from bandits.policy import choose, make_policy
from bandits.posterior import normal_parameters
from bandits.stats import ArmStats, to_arrays
from tests.bandits.cases import REVENUE


def _revenue(rng: np.random.Generator, mean: float, size: int) -> np.ndarray:
    """Zero-inflated log-normal revenue: 10% of trials buy, spending log-normal(sigma = 1)."""
    bought = rng.random(size) < 0.1
    spend = rng.lognormal(np.log(mean / 0.1) - 0.5, 1.0, size)
    return np.where(bought, spend, 0.0)


def test_posterior_matches_a_hand_computation() -> None:
    raw = {"a": [0.0, 10.0, 0.0, 30.0], "b": [5.0, 5.0], "c": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]}
    stats = {k: ArmStats(len(v), sum(v), sum(x * x for x in v)) for k, v in raw.items()}
    mean, sd = normal_parameters(*to_arrays(stats))
    pooled_mean = 71.0 / 12
    # Within-arm pooled variance: Σ over arms of Σ(x - arm mean)², over 12 - 3 degrees of freedom.
    pooled_var = sum(np.var(v) * len(v) for v in raw.values()) / 9
    # Arm a's own variance (shrunk by one pseudo-observation of the pooled one) is above the
    # pooled variance and is used; arm b's (0) is raised to the pooled variance.
    var_a = (4 * np.var(raw["a"]) + pooled_var) / 5
    assert var_a > pooled_var
    assert mean[0, 0] == pytest.approx((40 + pooled_mean) / 5)
    assert mean[0, 1] == pytest.approx((10 + pooled_mean) / 3)
    assert sd[0, 0] == pytest.approx(np.sqrt(var_a / 5))
    assert sd[0, 1] == pytest.approx(np.sqrt(pooled_var / 3))


def test_untried_arms_get_a_wide_finite_posterior() -> None:
    stats = {"a": ArmStats(50, 250, 50 * (25 + 100)), "b": ArmStats()}
    _, sd = normal_parameters(*to_arrays(stats))
    assert np.isfinite(sd).all() and sd[0, 1] > 5 * sd[0, 0]
    weights = make_policy(BanditConfig(reward="value")).weights(stats, np.random.default_rng(0))
    assert 0.2 < weights["b"] < 0.8


def test_higher_mean_revenue_arm_is_favoured_by_its_posterior() -> None:
    weights = GaussianThompson(BanditConfig()).weights(REVENUE, np.random.default_rng(0))
    assert weights["b"] > 0.8  # means 6.5 vs 5, sd 20, 400 trials each: P(b best) ≈ 0.85


def test_gaussian_thompson_picks_the_higher_mean_revenue_arm() -> None:
    # Two arms with the same conversion rate but different spend: 5.0 vs 8.0 per trial. The
    # service's loop: weights refreshed every 100 decisions, arms drawn with choose().
    means = {"low": 5.0, "high": 8.0}
    policy = make_policy(BanditConfig(algorithm="gaussian_thompson", reward="value"))
    late_high = []
    for seed in range(3):
        rng = np.random.default_rng(seed)
        stats = {arm: ArmStats() for arm in means}
        picks = []
        for _ in range(40):
            weights = policy.weights(stats, rng)
            for _ in range(100):
                arm, _ = choose(weights, rng)
                x = float(_revenue(rng, means[arm], 1)[0])
                s = stats[arm]
                stats[arm] = ArmStats(s.n + 1, s.sum + x, s.sum_sq + x * x)
                picks.append(arm)
        late_high.append(np.mean([arm == "high" for arm in picks[-1000:]]))
        assert stats["high"].n > stats["low"].n
    assert np.mean(late_high) > 0.75
