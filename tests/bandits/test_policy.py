from __future__ import annotations

import numpy as np
import pytest

from bandits.config import ALGORITHMS, BanditConfig
from bandits.gaussian_thompson import GaussianThompson
from bandits.policy import Policy, choose, make_policy
from bandits.thompson import Thompson
from bandits.ucb import UCB
from tests.bandits.cases import PARTLY_TRIED, TYPICAL, binary


def test_every_algorithm_is_registered() -> None:
    for algorithm in ALGORITHMS:
        policy: Policy = make_policy(BanditConfig(algorithm=algorithm))
        assert policy.weights(TYPICAL, np.random.default_rng(0))


def test_the_registry_builds_the_right_policies() -> None:
    assert isinstance(make_policy(BanditConfig()), Thompson)
    assert make_policy(BanditConfig(algorithm="ucb_tuned")) == UCB(
        BanditConfig(algorithm="ucb_tuned"), tuned=True
    )
    # Thompson sampling on value rewards samples the posterior that fits them.
    assert isinstance(make_policy(BanditConfig(reward="value")), GaussianThompson)
    with pytest.raises(ValueError, match="unknown bandit algorithm"):
        make_policy(BanditConfig(algorithm="exp3"))


def test_choose_returns_the_arm_and_its_weight() -> None:
    rng = np.random.default_rng(0)
    weights = {"a": 0.25, "b": 0.0, "c": 0.75}
    for _ in range(1000):
        arm, propensity = choose(weights, rng)
        assert arm != "b"
        assert propensity == weights[arm]


def test_choose_normalises_weights_that_do_not_sum_to_one() -> None:
    arm, propensity = choose({"a": 2.0, "b": 0.0}, np.random.default_rng(0))
    assert (arm, propensity) == ("a", 1.0)


def test_choose_uses_one_uniform_draw() -> None:
    rng, twin = np.random.default_rng(5), np.random.default_rng(5)
    choose({"a": 0.5, "b": 0.5}, rng)
    twin.random()
    assert rng.random() == twin.random()


@pytest.mark.parametrize("weights", [{}, {"a": 0.0}, {"a": -0.1, "b": 1.1}, {"a": float("nan")}])
def test_choose_rejects_unusable_weights(weights: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        choose(weights, np.random.default_rng(0))


def _ips_ratios(arms: list[str], draws: list[tuple[str, float]]) -> dict[str, tuple[float, float]]:
    """Per arm, mean(1{arm = k} / p_k) over the draws and its standard error."""
    result = {}
    for k in arms:
        terms = np.array([1.0 / p if arm == k else 0.0 for arm, p in draws])
        result[k] = (float(terms.mean()), float(terms.std(ddof=1) / np.sqrt(len(terms))))
    return result


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_logged_propensities_are_ips_unbiased(algorithm: str) -> None:
    # The design's check: over many decisions, mean(1{arm = k} / p_k) ≈ 1 for every arm k.
    # A floor keeps every arm drawable (an arm with p = 0 has nothing to check).
    config = BanditConfig(algorithm=algorithm, floor=0.03, control="a", control_share=0.1)
    stats = {**TYPICAL, "b": binary(40, 3)}
    rng = np.random.default_rng(11)
    weights = make_policy(config).weights(stats, rng)
    draws = [choose(weights, rng) for _ in range(40_000)]
    for arm, (mean, se) in _ips_ratios(list(stats), draws).items():
        assert abs(mean - 1.0) < 4 * se, (arm, mean, se)


def test_propensities_stay_ips_unbiased_when_thompson_weights_are_redrawn_each_decision() -> None:
    # Thompson's weights are themselves Monte-Carlo estimates; the logged propensity is the
    # probability actually used, so IPS stays unbiased whatever the estimation noise, provided
    # every arm keeps a positive weight: with only 100 draws an unlikely arm often gets 0 (and
    # IPS then undercounts it), which is what the floor prevents.
    config = BanditConfig(mc_draws=100, floor=0.05)
    rng = np.random.default_rng(3)
    policy = make_policy(config)
    draws = [choose(policy.weights(PARTLY_TRIED, rng), rng) for _ in range(6_000)]
    for arm, (mean, se) in _ips_ratios(list(PARTLY_TRIED), draws).items():
        assert abs(mean - 1.0) < 4 * se, (arm, mean, se)
