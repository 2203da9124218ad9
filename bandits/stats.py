"""Per-arm sufficient statistics (trials, reward sum, sum of squares), as Redis stores them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class ArmStats:
    """Sufficient statistics of one arm's rewards.

    ``n`` is a float because forgetting multiplies counts by a discount. For binary rewards
    ``sum`` is the number of converted trials and ``sum_sq == sum`` (1² = 1).
    """

    n: float = 0.0
    sum: float = 0.0
    sum_sq: float = 0.0

    @property
    def mean(self) -> float:
        """The mean reward per trial, 0 when there are no trials."""
        return self.sum / self.n if self.n > 0 else 0.0

    @property
    def variance(self) -> float:
        """The unbiased sample variance of the rewards, 0 when ``n < 2``."""
        if self.n < 2:
            return 0.0
        # Clamped: sum_sq - sum²/n can dip below zero by rounding when all rewards are equal.
        return max((self.sum_sq - self.sum * self.sum / self.n) / (self.n - 1), 0.0)

    def __add__(self, other: ArmStats) -> ArmStats:
        return ArmStats(self.n + other.n, self.sum + other.sum, self.sum_sq + other.sum_sq)

    def scaled(self, factor: float) -> ArmStats:
        """These statistics worth ``factor`` times as many trials (same mean and variance shape)."""
        return ArmStats(self.n * factor, self.sum * factor, self.sum_sq * factor)


def to_arrays(stats: Mapping[str, ArmStats]) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Return ``n``, ``sum`` and ``sum_sq`` as ``(1, arms)`` arrays, in the mapping's order.

    The leading axis is the batch axis every policy computes over, so the service (one set of
    arms) and the simulator (thousands of seeds at once) share one code path.
    """
    values = np.array([(s.n, s.sum, s.sum_sq) for s in stats.values()], dtype=np.float64)
    values = values.reshape(len(stats), 3)
    return values[None, :, 0], values[None, :, 1], values[None, :, 2]
