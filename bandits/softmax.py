"""Softmax (Boltzmann) exploration: weights proportional to exp(mean / temperature)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from bandits.config import BanditConfig
from bandits.safety import safe_weights
from bandits.stats import ArmStats, FloatArray


@dataclass(frozen=True)
class Softmax:
    """``temperature`` is in reward units: small means nearly greedy, large nearly uniform."""

    config: BanditConfig

    def raw_weights(
        self, n: FloatArray, s: FloatArray, ss: FloatArray, rng: np.random.Generator
    ) -> FloatArray:
        tried = n > 0
        mean = s / np.where(tried, n, 1.0)
        # An untried arm is scored as the best tried arm, so it is at least as likely to be tried.
        best = np.where(tried, mean, -np.inf).max(axis=-1, keepdims=True)
        mean = np.where(tried, mean, np.where(np.isfinite(best), best, 0.0))
        # Subtracting the row maximum keeps exp from overflowing without changing the ratios.
        z = np.exp((mean - mean.max(axis=-1, keepdims=True)) / self.config.temperature)
        weights: FloatArray = z / z.sum(axis=-1, keepdims=True)
        return weights

    def weights(self, stats: Mapping[str, ArmStats], rng: np.random.Generator) -> dict[str, float]:
        return safe_weights(self, stats, rng)
