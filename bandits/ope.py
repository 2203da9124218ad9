"""Off-policy evaluation: estimate a target policy's mean reward from another policy's log.

Every estimator takes numpy arrays with one entry per logged decision: the propensity the
logging policy gave the arm it chose, the reward observed, and the target policy's probability
of that arm (for doubly robust: of every arm, with a reward model per arm). Confidence intervals
are normal approximations, which suit the service's logs of thousands of decisions; they are
too narrow for a few dozen decisions or for importance weights with a heavy tail.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
from numpy.typing import ArrayLike

from bandits.stats import FloatArray


@dataclass(frozen=True)
class OffPolicyEstimate:
    """An estimated mean reward per decision with its confidence interval."""

    estimate: float
    low: float
    high: float
    n: int  # logged decisions used


def _vector(name: str, values: ArrayLike, size: int | None = None) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or (size is not None and array.shape[0] != size):
        raise ValueError(f"{name} must be a 1-D array with one value per logged decision")
    return array


def _log(
    propensity: ArrayLike, reward: ArrayLike, target: ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    p = _vector("propensity", propensity)
    r = _vector("reward", reward, p.shape[0])
    t = _vector("target", target, p.shape[0])
    if p.shape[0] < 2:
        raise ValueError("need at least 2 logged decisions")
    if not ((p > 0) & (p <= 1)).all():
        raise ValueError("propensities must be above 0 and at most 1")
    if not ((t >= 0) & (t <= 1)).all():
        raise ValueError("target probabilities must be between 0 and 1")
    return p, r, t


def _interval(estimate: float, se: float, n: int, level: float) -> OffPolicyEstimate:
    half = NormalDist().inv_cdf(0.5 + level / 2) * se
    return OffPolicyEstimate(estimate, estimate - half, estimate + half, n)


def _mean_interval(terms: FloatArray, level: float) -> OffPolicyEstimate:
    n = terms.shape[0]
    se = float(terms.std(ddof=1)) / np.sqrt(n)
    return _interval(float(terms.mean()), se, n, level)


def ips(
    propensity: ArrayLike, reward: ArrayLike, target: ArrayLike, level: float = 0.95
) -> OffPolicyEstimate:
    """Inverse propensity scoring: the mean of (target / propensity) * reward.

    Unbiased whenever the logging policy gave every arm the target may choose a positive
    propensity; its variance grows with the importance weights.
    """
    p, r, t = _log(propensity, reward, target)
    return _mean_interval(t / p * r, level)


def snips(
    propensity: ArrayLike, reward: ArrayLike, target: ArrayLike, level: float = 0.95
) -> OffPolicyEstimate:
    """Self-normalised IPS: Σ w·reward / Σ w with w = target / propensity.

    Slightly biased but usually far less variable than IPS, and invariant to a constant added
    to every reward. The interval is the delta method's: the standard error is
    sqrt(Σ (w·(reward - estimate))²) / Σ w.
    """
    p, r, t = _log(propensity, reward, target)
    w = t / p
    total = float(w.sum())
    if total <= 0:
        raise ValueError("the target policy gives probability 0 to every logged decision")
    estimate = float((w * r).sum()) / total
    se = float(np.sqrt(((w * (r - estimate)) ** 2).sum())) / total
    return _interval(estimate, se, p.shape[0], level)


def doubly_robust(
    propensity: ArrayLike,
    arm: ArrayLike,
    reward: ArrayLike,
    target_probs: ArrayLike,
    reward_model: ArrayLike,
    level: float = 0.95,
) -> OffPolicyEstimate:
    """Doubly robust: the reward model's value of the target, corrected by IPS on its residual.

    ``arm`` holds the logged arms' column indices; ``target_probs`` is ``(decisions, arms)``, the
    target's probability of every arm; ``reward_model`` predicts every arm's reward, either per
    decision ``(decisions, arms)`` or the same for all ``(arms,)``. Unbiased if either the
    propensities or the model are right, and less variable than IPS when the model is good.
    """
    arms = np.asarray(arm)
    probs = np.asarray(target_probs, dtype=np.float64)
    if probs.ndim != 2 or arms.ndim != 1 or probs.shape[0] != arms.shape[0]:
        raise ValueError("target_probs must be (decisions, arms) and arm one index per decision")
    if not np.issubdtype(arms.dtype, np.integer) or arms.min() < 0 or arms.max() >= probs.shape[1]:
        raise ValueError("arm must hold column indices into target_probs")
    model = np.broadcast_to(np.asarray(reward_model, dtype=np.float64), probs.shape)
    rows = np.arange(arms.shape[0])
    p, r, t = _log(propensity, reward, probs[rows, arms])
    terms = (probs * model).sum(axis=1) + t / p * (r - model[rows, arms])
    return _mean_interval(terms, level)
