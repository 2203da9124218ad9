"""Simulated truth for bandit simulations: Bernoulli rates per segment and arm, drifting in phases.

Rewards and segments are drawn from a counter-based generator keyed by (seed, replicate, segment,
arm, pull number): the j-th pull of an arm in replicate r has the same uniform under every
policy. These common random numbers make paired comparisons of policies (ours against
MABWiser's, batched against online) far less noisy than independent runs, and make any single
replicate reproducible on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from bandits.stats import FloatArray

UintArray = NDArray[np.uint64]
IntArray = NDArray[np.intp]

# SplitMix64 (Steele, Lea and Flood, 2014): a cheap, well-mixed 64-bit bijection.
_GOLDEN: Final = np.uint64(0x9E3779B97F4A7C15)
_MUL1: Final = np.uint64(0xBF58476D1CE4E5B9)
_MUL2: Final = np.uint64(0x94D049BB133111EB)
_SEGMENT_STREAM: Final = np.uint64(0x5E6)
_REWARD_STREAM: Final = np.uint64(0x8E7)


def _mix(x: UintArray) -> UintArray:
    # uint64 arithmetic wraps modulo 2**64, which is what the hash wants.
    z = x + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _MUL1
    z = (z ^ (z >> np.uint64(27))) * _MUL2
    return z ^ (z >> np.uint64(31))


def _key(*parts: NDArray[np.integer[Any]] | np.integer[Any] | int) -> UintArray:
    h = np.zeros(1, dtype=np.uint64)
    for part in parts:
        h = _mix(h ^ np.asarray(part, dtype=np.uint64))
    return h


def _uniform(key: UintArray) -> FloatArray:
    return (_mix(key) >> np.uint64(11)).astype(np.float64) * 2.0**-53


@dataclass(frozen=True, eq=False)
class Environment:
    """True conversion rates ``(phases, segments, arms)``; phase i starts at round ``starts[i]``."""

    rates: FloatArray
    starts: tuple[int, ...] = (0,)
    traffic: FloatArray | None = None  # share of decisions per segment; None is an even split
    seed: int = 0

    def __post_init__(self) -> None:
        if self.rates.ndim != 3 or len(self.starts) != self.rates.shape[0] or self.starts[0] != 0:
            raise ValueError("rates must be (phases, segments, arms) with one start per phase")
        if list(self.starts) != sorted(self.starts):
            raise ValueError("phases must start in order")

    @classmethod
    def stationary(cls, rates: Sequence[float], seed: int = 0) -> Environment:
        """One segment whose arms convert at ``rates`` forever."""
        return cls(np.asarray(rates, dtype=np.float64).reshape(1, 1, -1), seed=seed)

    @classmethod
    def drifting(
        cls, schedule: Sequence[tuple[int, Sequence[float]]], seed: int = 0
    ) -> Environment:
        """One segment whose rates change: ``[(start round, rates), ...]``, first start 0."""
        rates = np.array([r for _, r in schedule], dtype=np.float64)[:, None, :]
        return cls(rates, tuple(start for start, _ in schedule), seed=seed)

    @classmethod
    def related_segments(
        cls,
        base: Sequence[float],
        segments: int,
        spread: float,
        rng: np.random.Generator,
        seed: int = 0,
    ) -> Environment:
        """Segments whose rates scatter around ``base``: rate * exp(N(0, spread²)), clipped.

        Related segments are what hierarchical pooling is for: each segment's best arm is often,
        but not always, the population's.
        """
        noise = np.exp(spread * rng.standard_normal((segments, len(base))))
        rates = np.clip(np.asarray(base, dtype=np.float64) * noise, 0.0, 1.0)
        return cls(rates[None], seed=seed)

    @property
    def arms(self) -> int:
        return int(self.rates.shape[2])

    @property
    def segments(self) -> int:
        return int(self.rates.shape[1])

    def rates_at(self, round_: int) -> FloatArray:
        """The ``(segments, arms)`` rates in force at a round."""
        phase = int(np.searchsorted(self.starts, round_, side="right")) - 1
        rates: FloatArray = self.rates[phase]
        return rates

    def segment_of(self, replicates: IntArray, round_: int) -> IntArray:
        """The segment each replicate's visitor at this round belongs to."""
        if self.segments == 1:
            return np.zeros(replicates.shape[0], dtype=np.intp)
        u = _uniform(_key(self.seed, _SEGMENT_STREAM, replicates, round_))
        shares = self.traffic if self.traffic is not None else np.ones(self.segments)
        edges = np.cumsum(shares) / np.sum(shares)
        segment: IntArray = np.minimum(np.searchsorted(edges, u, side="right"), self.segments - 1)
        return segment

    def reward_uniforms(
        self, replicates: IntArray, segment: IntArray, arm: IntArray, pull: IntArray
    ) -> FloatArray:
        """The uniform behind the ``pull``-th pull (from 0) of ``arm`` in ``segment``."""
        cell = segment.astype(np.uint64) * np.uint64(self.arms) + arm.astype(np.uint64)
        return _uniform(_key(self.seed, _REWARD_STREAM, replicates, cell, pull))

    def rewards(
        self,
        replicates: IntArray,
        segment: IntArray,
        arm: IntArray,
        pull: IntArray,
        round_: int,
    ) -> FloatArray:
        """1.0 for a conversion, 0.0 otherwise, at the rates in force at ``round_``."""
        rate = self.rates_at(round_)[segment, arm]
        return (self.reward_uniforms(replicates, segment, arm, pull) < rate).astype(np.float64)
