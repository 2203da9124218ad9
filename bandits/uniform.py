"""The uniform policy: every bandit arm equally likely (an A/B/n test with the guard rails)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from bandits.config import BanditConfig
from bandits.safety import safe_weights
from bandits.stats import ArmStats, FloatArray


@dataclass(frozen=True)
class Uniform:
    config: BanditConfig

    def raw_weights(
        self, n: FloatArray, s: FloatArray, ss: FloatArray, rng: np.random.Generator
    ) -> FloatArray:
        return np.full(n.shape, 1.0 / n.shape[-1])

    def weights(self, stats: Mapping[str, ArmStats], rng: np.random.Generator) -> dict[str, float]:
        return safe_weights(self, stats, rng)
