"""The policy interface the service calls, the registry of policies, and the draw of one arm."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final, Protocol

import numpy as np

from bandits.config import BanditConfig
from bandits.epsilon_greedy import EpsilonGreedy
from bandits.gaussian_thompson import GaussianThompson
from bandits.safety import RawPolicy, apply_safety
from bandits.softmax import Softmax
from bandits.stats import ArmStats
from bandits.thompson import Thompson
from bandits.ucb import UCB
from bandits.uniform import Uniform

__all__ = ["BatchPolicy", "Policy", "apply_safety", "choose", "make_policy"]


class Policy(Protocol):
    """Turns the drawable arms' statistics into the probability of choosing each arm."""

    def weights(self, stats: Mapping[str, ArmStats], rng: np.random.Generator) -> dict[str, float]:
        """The probability each arm (the keys given, in order) is chosen; non-negative, sum 1.

        The guard rails of :func:`apply_safety` (warm-up, stop rule, floor, control) are
        already applied, identically for every policy.
        """
        ...


class BatchPolicy(Policy, RawPolicy, Protocol):
    """A registered policy: also computes its rule over ``(batch, arms)`` arrays (simulator)."""


_REGISTRY: Final[Mapping[str, Callable[[BanditConfig], BatchPolicy]]] = {
    "thompson": Thompson,
    "gaussian_thompson": GaussianThompson,
    "ucb1": UCB,
    "ucb_tuned": lambda config: UCB(config, tuned=True),
    "epsilon_greedy": EpsilonGreedy,
    "softmax": Softmax,
    "uniform": Uniform,
}


def make_policy(config: BanditConfig) -> BatchPolicy:
    """The policy ``config.algorithm`` names.

    ``thompson`` with ``reward="value"`` is Gaussian Thompson sampling: a Beta posterior is only
    meaningful for rewards in {0, 1}, and Thompson sampling means "sample the right posterior".
    """
    algorithm = config.algorithm
    if algorithm == "thompson" and config.reward == "value":
        algorithm = "gaussian_thompson"
    if algorithm not in _REGISTRY:
        raise ValueError(f"unknown bandit algorithm {config.algorithm!r}")
    return _REGISTRY[algorithm](config)


def choose(weights: Mapping[str, float], rng: np.random.Generator) -> tuple[str, float]:
    """Draw one arm with probability proportional to its weight; return it and its propensity.

    The propensity is the probability the arm had of being drawn (its weight over the total,
    i.e. ``weights[arm]`` when the weights sum to 1), which is what off-policy evaluation needs.
    One uniform draw per call; an arm with weight 0 is never drawn.
    """
    total = 0.0
    for w in weights.values():
        if not w >= 0:  # also rejects NaN
            raise ValueError(f"weights must be non-negative, got {w!r}")
        total += w
    if total <= 0:
        raise ValueError("weights must have a positive sum")
    threshold = float(rng.random()) * total
    cumulative = 0.0
    last = ""
    for arm, w in weights.items():
        if w <= 0:
            continue
        cumulative += w
        last = arm
        if threshold < cumulative:
            return arm, w / total
    # Rounding can leave the threshold a hair above the last cumulative sum.
    return last, weights[last] / total
