"""Gaussian Thompson sampling for value rewards such as revenue per exposure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from bandits.config import BanditConfig
from bandits.safety import safe_weights
from bandits.stats import ArmStats, FloatArray
from bandits.thompson import best_arm_shares


@dataclass(frozen=True)
class GaussianThompson:
    """Thompson sampling from Normal posteriors built from ``n``, ``sum`` and ``sum_sq``.

    The weak prior (one pseudo-observation at the pooled mean and variance) is described in
    :func:`bandits.posterior.normal_parameters`. By the central limit theorem the posterior of a
    mean is close to Normal even for skewed, zero-inflated revenue once an arm has some trials.
    """

    config: BanditConfig

    def raw_weights(
        self, n: FloatArray, s: FloatArray, ss: FloatArray, rng: np.random.Generator
    ) -> FloatArray:
        return best_arm_shares(n, s, ss, "value", self.config.mc_draws, rng)

    def weights(self, stats: Mapping[str, ArmStats], rng: np.random.Generator) -> dict[str, float]:
        return safe_weights(self, stats, rng)
