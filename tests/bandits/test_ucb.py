from __future__ import annotations

import math

import numpy as np
import pytest

from bandits.config import BanditConfig
from bandits.stats import ArmStats, to_arrays
from bandits.ucb import UCB, ucb_scores
from tests.bandits.cases import EMPTY, PARTLY_TRIED, TIED, binary

RNG = np.random.default_rng(0)


def test_untried_arms_are_tried_first_split_evenly() -> None:
    for tuned in (False, True):
        weights = UCB(BanditConfig(), tuned=tuned).weights(PARTLY_TRIED, RNG)
        assert weights == {"a": 0.0, "b": 0.5, "c": 0.0, "d": 0.5}
        assert UCB(BanditConfig(), tuned=tuned).weights(EMPTY, RNG) == dict.fromkeys(EMPTY, 0.2)


def test_ties_split_evenly() -> None:
    for tuned in (False, True):
        assert UCB(BanditConfig(), tuned=tuned).weights(TIED, RNG) == {"a": 0.5, "b": 0.5, "c": 0.0}


def test_ucb1_bound_matches_the_formula() -> None:
    stats = {"x": binary(10, 3), "y": binary(90, 45)}
    scores = ucb_scores(*to_arrays(stats), tuned=False, reward="binary")
    assert scores[0, 0] == pytest.approx(0.3 + math.sqrt(2 * math.log(100) / 10))
    assert scores[0, 1] == pytest.approx(0.5 + math.sqrt(2 * math.log(100) / 90))
    # The less-tried arm's bonus outweighs its lower mean.
    assert UCB(BanditConfig()).weights(stats, RNG) == {"x": 1.0, "y": 0.0}


def test_ucb_tuned_bound_matches_the_formula() -> None:
    stats = {"x": binary(10, 3), "y": binary(90, 45)}
    scores = ucb_scores(*to_arrays(stats), tuned=True, reward="binary")
    log_t = math.log(100)
    v_x = min(0.25, 0.3 * 0.7 + math.sqrt(2 * log_t / 10))
    assert scores[0, 0] == pytest.approx(0.3 + math.sqrt(log_t / 10 * v_x))


def test_value_rewards_are_measured_in_units_of_their_spread() -> None:
    # Multiplying every reward by 100 (euros to cents) must not change the choice.
    euros = {"x": ArmStats(20, 100.0, 20 * 29.0), "y": ArmStats(200, 1200.0, 200 * 52.0)}
    cents = {k: ArmStats(v.n, v.sum * 100, v.sum_sq * 10_000) for k, v in euros.items()}
    for tuned in (False, True):
        policy = UCB(BanditConfig(reward="value"), tuned=tuned)
        assert policy.weights(euros, RNG) == policy.weights(cents, RNG)
