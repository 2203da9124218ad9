"""Turn scores or posterior draws into choice probabilities, splitting ties evenly."""

from __future__ import annotations

import numpy as np

from bandits.stats import FloatArray


def split_argmax(scores: FloatArray) -> FloatArray:
    """Put weight 1 on each row's highest score, split evenly between tied arms.

    ``scores`` is ``(batch, arms)``; ties are exact equality, which is what identical
    statistics produce. Splitting (rather than taking the first maximum) keeps arm order
    from favouring anyone, so the logged propensity of a tied arm is honest.
    """
    is_top = scores == scores.max(axis=-1, keepdims=True)
    weights: FloatArray = is_top / is_top.sum(axis=-1, keepdims=True)
    return weights


def max_share(draws: FloatArray) -> FloatArray:
    """The share of draws in which each arm is the maximum.

    ``draws`` is ``(batch, arms, draws)``; the result is ``(batch, arms)``.

    A draw where several arms tie at the maximum counts 1/k for each of the k tied arms, so the
    shares always sum to 1.
    """
    is_top = draws == draws.max(axis=-2, keepdims=True)
    ties = is_top.sum(axis=-2, keepdims=True)
    # Continuous posteriors almost never tie: skip the division on the common path.
    shares: FloatArray = is_top.mean(axis=-1) if int(ties.max()) == 1 else (is_top / ties).mean(-1)
    return shares


def greedy_weights(scores: FloatArray, n: FloatArray) -> FloatArray:
    """Weight 1 on the best score, but untried arms (``n == 0``) first, split evenly among them.

    Trying every arm once before trusting any score is what UCB's bound (infinite for an untried
    arm) implies, and it keeps a greedy rule from never learning about an arm.
    """
    untried = n <= 0
    any_untried = untried.any(axis=-1, keepdims=True)
    first = untried / np.where(any_untried, untried.sum(axis=-1, keepdims=True), 1)
    weights: FloatArray = np.where(any_untried, first, split_argmax(scores))
    return weights
