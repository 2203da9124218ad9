"""Upper-confidence-bound policies: UCB1 and UCB-tuned (Auer, Cesa-Bianchi and Fischer, 2002)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from bandits.argmax import greedy_weights
from bandits.config import BanditConfig
from bandits.safety import safe_weights
from bandits.stats import ArmStats, FloatArray


def _reward_scale(n: FloatArray, s: FloatArray, ss: FloatArray) -> FloatArray:
    """The pooled standard deviation of the rewards per row (1 when unknown).

    UCB's bonus assumes rewards in [0, 1]; measuring value rewards in units of their spread makes
    the same bonus meaningful for revenue in any currency.
    """
    total = n.sum(axis=-1, keepdims=True)
    safe_total = np.where(total > 0, total, 1.0)
    var = (
        ss.sum(axis=-1, keepdims=True) / safe_total
        - (s.sum(axis=-1, keepdims=True) / safe_total) ** 2
    )
    return np.where(var > 0, np.sqrt(np.clip(var, 0.0, None)), 1.0)


def ucb_scores(
    n: FloatArray, s: FloatArray, ss: FloatArray, tuned: bool, reward: str
) -> FloatArray:
    """Each arm's upper confidence bound (arms with ``n == 0`` get an arbitrary finite score)."""
    safe_n = np.where(n > 0, n, 1.0)
    mean = s / safe_n
    # ln t with t the trials so far; floored at 1 so a fractional (decayed) total keeps bonus ≥ 0.
    log_t = np.log(np.maximum(n.sum(axis=-1, keepdims=True), 1.0))
    binary = reward == "binary"
    scale = 1.0 if binary else _reward_scale(n, s, ss)
    if not tuned:
        ucb1: FloatArray = mean + scale * np.sqrt(2.0 * log_t / safe_n)
        return ucb1
    # Binary: the Bernoulli variance from the mean, exact whether or not sum_sq was kept.
    variance = mean * (1.0 - mean) if binary else np.clip(ss / safe_n - mean**2, 0.0, None)
    v = variance + scale**2 * np.sqrt(2.0 * log_t / safe_n)
    if binary:
        v = np.minimum(v, 0.25)  # 1/4 bounds the variance of a reward in [0, 1]
    tuned_bound: FloatArray = mean + np.sqrt(log_t / safe_n * v)
    return tuned_bound


@dataclass(frozen=True)
class UCB:
    """Deterministic: weight 1 on the highest bound (ties and untried arms split evenly)."""

    config: BanditConfig
    tuned: bool = False

    def raw_weights(
        self, n: FloatArray, s: FloatArray, ss: FloatArray, rng: np.random.Generator
    ) -> FloatArray:
        return greedy_weights(ucb_scores(n, s, ss, self.tuned, self.config.reward), n)

    def weights(self, stats: Mapping[str, ArmStats], rng: np.random.Generator) -> dict[str, float]:
        return safe_weights(self, stats, rng)
