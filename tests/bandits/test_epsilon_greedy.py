from __future__ import annotations

import numpy as np
import pytest

from bandits.config import BanditConfig
from bandits.epsilon_greedy import EpsilonGreedy
from tests.bandits.cases import PARTLY_TRIED, TIED, TYPICAL

RNG = np.random.default_rng(0)


def test_epsilon_is_spread_evenly_and_the_rest_goes_to_the_best_mean() -> None:
    weights = EpsilonGreedy(BanditConfig(epsilon=0.1)).weights(TYPICAL, RNG)
    assert weights == pytest.approx({"a": 0.02, "b": 0.02, "c": 0.02, "d": 0.02, "e": 0.92})


def test_greedy_share_tries_untried_arms_first_and_splits_ties() -> None:
    weights = EpsilonGreedy(BanditConfig(epsilon=0.2)).weights(PARTLY_TRIED, RNG)
    assert weights == pytest.approx({"a": 0.05, "b": 0.45, "c": 0.05, "d": 0.45})
    weights = EpsilonGreedy(BanditConfig(epsilon=0.3)).weights(TIED, RNG)
    assert weights == pytest.approx({"a": 0.45, "b": 0.45, "c": 0.1})
