"""The stop rule: stop exploring once the leading arm's posterior value remaining is small."""

from __future__ import annotations

from typing import Final

import numpy as np
from numpy.typing import NDArray

from bandits.argmax import max_share
from bandits.posterior import sample_means
from bandits.stats import FloatArray

LOSS_QUANTILE: Final = 0.95
# The stop rule draws from its own generator with a fixed seed (common random numbers), so
# whether a bandit has stopped is a deterministic function of its statistics: it does not
# flicker between weight refreshes when the statistics have not moved.
_SEED: Final = 0x5709


def value_remaining(
    n: FloatArray, s: FloatArray, ss: FloatArray, reward: str, draws: int
) -> tuple[NDArray[np.intp], FloatArray, FloatArray]:
    """The leading arm, the 95th percentile of its loss, and its posterior mean, per row.

    The leading arm is the one most likely to be best. Its loss in a posterior draw is how much
    the best arm of that draw beats it (0 when it is the best); the 95th percentile of that loss
    is Google Analytics' "potential value remaining" (Scott, 2015), in reward units.
    """
    rng = np.random.Generator(np.random.PCG64(_SEED))
    samples = sample_means(n, s, ss, reward, draws, rng)
    leader = max_share(samples).argmax(axis=-1)
    leader_draws = np.take_along_axis(samples, leader[:, None, None], axis=-2)[:, 0, :]
    loss = samples.max(axis=-2) - leader_draws
    return leader, np.quantile(loss, LOSS_QUANTILE, axis=-1), leader_draws.mean(axis=-1)


def should_stop(
    n: FloatArray, s: FloatArray, ss: FloatArray, reward: str, draws: int, stop_loss: float
) -> tuple[NDArray[np.bool_], NDArray[np.intp]]:
    """Whether each row may stop exploring (and serve its leader), and the leader.

    Stops when the 95th percentile of the leader's loss is below ``stop_loss`` times its mean,
    i.e. we are 95% sure that serving it forgoes less than that share of its value.
    """
    leader, loss, mean = value_remaining(n, s, ss, reward, draws)
    return loss < stop_loss * np.abs(mean), leader
