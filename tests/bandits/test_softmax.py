from __future__ import annotations

import math

import numpy as np
import pytest

from bandits.config import BanditConfig
from bandits.softmax import Softmax
from tests.bandits.cases import EMPTY, PARTLY_TRIED, binary

RNG = np.random.default_rng(0)


def test_weights_follow_the_boltzmann_formula() -> None:
    stats = {"x": binary(100, 10), "y": binary(100, 30)}
    weights = Softmax(BanditConfig(temperature=0.1)).weights(stats, RNG)
    assert weights["y"] / weights["x"] == pytest.approx(math.exp((0.3 - 0.1) / 0.1))


def test_huge_means_do_not_overflow() -> None:
    stats = {"x": binary(1, 1e6), "y": binary(1, 0)}
    assert Softmax(BanditConfig(temperature=0.01)).weights(stats, RNG) == {"x": 1.0, "y": 0.0}


def test_untried_arms_score_as_the_best_tried_arm() -> None:
    weights = Softmax(BanditConfig()).weights(PARTLY_TRIED, RNG)
    assert weights["b"] == weights["d"] == pytest.approx(weights["a"])
    assert Softmax(BanditConfig()).weights(EMPTY, RNG) == pytest.approx(dict.fromkeys(EMPTY, 0.2))
