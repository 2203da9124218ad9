"""Epsilon-greedy: a share epsilon spread evenly, the rest on the best observed mean."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from bandits.argmax import greedy_weights
from bandits.config import BanditConfig
from bandits.safety import safe_weights
from bandits.stats import ArmStats, FloatArray


@dataclass(frozen=True)
class EpsilonGreedy:
    """The greedy part tries untried arms first and splits ties evenly."""

    config: BanditConfig

    def raw_weights(
        self, n: FloatArray, s: FloatArray, ss: FloatArray, rng: np.random.Generator
    ) -> FloatArray:
        mean = s / np.where(n > 0, n, 1.0)
        epsilon = self.config.epsilon
        weights: FloatArray = epsilon / n.shape[-1] + (1.0 - epsilon) * greedy_weights(mean, n)
        return weights

    def weights(self, stats: Mapping[str, ArmStats], rng: np.random.Generator) -> dict[str, float]:
        return safe_weights(self, stats, rng)
