from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from bandits.config import BanditConfig
from bandits.stats import to_arrays
from bandits.thompson import Thompson, best_arm_shares
from tests.bandits.cases import PARTLY_TRIED, TIED, TYPICAL, binary

DRAWS = 2000


def _brute_force(arm_stats: dict[str, tuple[float, float]], draws: int, seed: int) -> np.ndarray:
    """P(best) from ``draws`` joint Beta draws, written independently of the library."""
    rng = np.random.default_rng(seed)
    samples = np.stack([rng.beta(1 + s, 1 + n - s, draws) for n, s in arm_stats.values()])
    return np.bincount(samples.argmax(axis=0), minlength=len(arm_stats)) / draws


@pytest.mark.parametrize("case", [TYPICAL, PARTLY_TRIED])
def test_propensities_match_a_brute_force_estimate_with_500_times_more_draws(case: dict) -> None:
    # Tolerance: 4 standard errors of a 2,000-draw estimate, sqrt(p(1-p)/2000), plus 0.002 for
    # the brute force's own error (1,000,000 draws: standard error at most 0.0005).
    truth = _brute_force({k: (v.n, v.sum) for k, v in case.items()}, 1_000_000, seed=1)
    weights = Thompson(BanditConfig(mc_draws=DRAWS)).weights(case, np.random.default_rng(2))
    tolerance = 4 * np.sqrt(truth * (1 - truth) / DRAWS) + 0.002
    assert (np.abs(np.array(list(weights.values())) - truth) <= tolerance).all()


def test_two_arm_propensity_matches_numerical_integration() -> None:
    # P(X > Y) = ∫ f_X(x) F_Y(x) dx for X ~ Beta(1+60, 1+940), Y ~ Beta(1+50, 1+950), by quad.
    x, y = stats.beta(61, 941), stats.beta(51, 951)
    exact, _ = integrate.quad(lambda t: x.pdf(t) * y.cdf(t), 0, 1, points=[0.05, 0.06])
    n, s, ss = to_arrays({"x": binary(1000, 60), "y": binary(1000, 50)})
    estimate = best_arm_shares(n, s, ss, "binary", 200_000, np.random.default_rng(4))[0, 0]
    assert estimate == pytest.approx(exact, abs=4 * np.sqrt(exact * (1 - exact) / 200_000))


def test_identical_arms_share_evenly() -> None:
    weights = Thompson(BanditConfig(mc_draws=20_000)).weights(TIED, np.random.default_rng(0))
    assert weights["a"] == pytest.approx(weights["b"], abs=0.02)
    assert weights["c"] < 0.01


def test_chunked_batches_give_the_same_distribution() -> None:
    # 600 rows x 2,000 draws x 5 arms is sampled in chunks; every row has the same stats.
    n, s, ss = (np.repeat(x, 600, axis=0) for x in to_arrays(TYPICAL))
    shares = best_arm_shares(n, s, ss, "binary", DRAWS, np.random.default_rng(0))
    truth = _brute_force({k: (v.n, v.sum) for k, v in TYPICAL.items()}, 1_000_000, seed=1)
    assert shares.shape == (600, 5)
    assert shares.sum(axis=1) == pytest.approx(np.ones(600))
    assert shares.mean(axis=0) == pytest.approx(truth, abs=0.003)


def test_one_draw_is_exactly_thompson_sampling() -> None:
    # With one draw the weights are one-hot: choosing by them is per-decision Thompson sampling.
    n, s, ss = to_arrays(TYPICAL)
    shares = best_arm_shares(n, s, ss, "binary", 1, np.random.default_rng(0))
    assert sorted(shares[0].tolist()) == [0.0, 0.0, 0.0, 0.0, 1.0]


def test_rewards_above_trials_do_not_break_the_posterior() -> None:
    weights = Thompson(BanditConfig()).weights(
        {"a": binary(3, 5), "b": binary(0, 0)}, np.random.default_rng(0)
    )
    assert sum(weights.values()) == pytest.approx(1.0)
