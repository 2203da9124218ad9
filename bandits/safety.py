"""Guard rails every policy shares: warm-up, stop rule, floor and control share, in that order.

1. Warm-up: until every bandit arm has ``warmup`` trials, the bandit arms share uniformly.
2. Stop rule: once the leader's value remaining is below ``stop_loss`` of its mean, the leader
   takes the whole bandit share (exploration stops; the floor and control below still apply).
3. Floor: every bandit arm gets at least ``floor`` of all traffic, taken from the arms above it
   in proportion to their weight (capped at an even split when the floor cannot be met).
4. Control: the control arm gets exactly ``control_share``; the bandit arms share the rest.

The control arm is outside the bandit: policies, warm-up and the stop rule see only the other
arms, so a fixed baseline cannot distort the learning. Steps 1 and 2 come before the policy so
a policy's (possibly costly) weights are not computed when they would be discarded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from bandits.config import BanditConfig
from bandits.stats import ArmStats, FloatArray, to_arrays
from bandits.stopping import should_stop


class RawPolicy(Protocol):
    """A policy's own rule, before the guard rails: ``(batch, arms)`` statistics in, weights out."""

    @property
    def config(self) -> BanditConfig: ...

    def raw_weights(
        self, n: FloatArray, s: FloatArray, ss: FloatArray, rng: np.random.Generator
    ) -> FloatArray: ...


def control_index(arms: list[str], config: BanditConfig) -> int | None:
    """The control's position among the drawable arms, or None when it is not drawable here."""
    if config.control is None or config.control_share <= 0 or config.control not in arms:
        return None
    return arms.index(config.control)


def warming_up(n: FloatArray, config: BanditConfig) -> NDArray[np.bool_]:
    """Per row, whether some bandit arm still has fewer than ``warmup`` trials."""
    warm: NDArray[np.bool_] = np.asarray((n < config.warmup).any(axis=-1))
    return warm


def _apply_floor(w: FloatArray, floor: float) -> FloatArray:
    """Raise every weight to at least ``floor`` (already capped at 1/arms), taking the mass
    proportionally from the arms above it: water-filling, at most one pass per arm."""
    low = w < floor
    if floor <= 0 or not low.any():
        return w
    for _ in range(w.shape[-1]):
        rest = np.where(low, 0.0, w)
        rest_sum = rest.sum(axis=-1, keepdims=True)
        free = 1.0 - floor * low.sum(axis=-1, keepdims=True)
        scaled = np.where(low, floor, rest * free / np.where(rest_sum > 0, rest_sum, 1.0))
        grown = low | (scaled < floor)
        if (grown == low).all():
            return scaled
        low = grown
    return scaled


def _combine(
    raw: FloatArray,
    warm: NDArray[np.bool_],
    stop: NDArray[np.bool_],
    leader: NDArray[np.intp],
    config: BanditConfig,
    control: int | None,
) -> FloatArray:
    """Apply the four steps to bandit-arm weights ``raw``; return weights over all arms."""
    arms = raw.shape[-1]
    w = raw
    if warm.any():
        w = np.where(warm[:, None], 1.0 / arms, w)
    stopped = stop & ~warm
    if stopped.any():
        w = np.where(stopped[:, None], np.eye(arms)[leader], w)
    bandit_share = 1.0 - config.control_share if control is not None else 1.0
    # The floor is a share of all traffic; within the bandit's share it is proportionally larger.
    w = _apply_floor(w, min(config.floor / bandit_share, 1.0 / arms))
    if control is None:
        return w
    out = np.empty((w.shape[0], arms + 1))
    out[:, :control] = w[:, :control] * bandit_share
    out[:, control] = config.control_share
    out[:, control + 1 :] = w[:, control:] * bandit_share
    return out


def _stop_rule(
    n: FloatArray, s: FloatArray, ss: FloatArray, config: BanditConfig
) -> tuple[NDArray[np.bool_], NDArray[np.intp]]:
    if config.stop_loss is None:
        return np.zeros(n.shape[0], dtype=bool), np.zeros(n.shape[0], dtype=np.intp)
    return should_stop(n, s, ss, config.reward, config.mc_draws, config.stop_loss)


def policy_weights(
    policy: RawPolicy,
    n: FloatArray,
    s: FloatArray,
    ss: FloatArray,
    rng: np.random.Generator,
    control: int | None = None,
) -> FloatArray:
    """A policy's weights with the guard rails, over ``(batch, arms)`` arrays of all drawable
    arms (``control`` is the control's column, if drawable). The simulator's entry point."""
    config = policy.config
    if control is not None and n.shape[-1] == 1:
        return np.ones_like(n)
    if control is None:
        nb, sb, ssb = n, s, ss
    else:
        keep = [i for i in range(n.shape[-1]) if i != control]
        nb, sb, ssb = n[:, keep], s[:, keep], ss[:, keep]
    warm = warming_up(nb, config)
    stop, leader = _stop_rule(nb, sb, ssb, config)
    needed = ~(warm | stop)
    if needed.all():
        raw = policy.raw_weights(nb, sb, ssb, rng)
    else:
        # Rows in warm-up or stopped get their weights from _combine; skip the policy for them.
        raw = np.full(nb.shape, 1.0 / nb.shape[-1])
        if needed.any():
            raw[needed] = policy.raw_weights(nb[needed], sb[needed], ssb[needed], rng)
    return _combine(raw, warm, stop, leader, config, control)


def safe_weights(
    policy: RawPolicy, stats: Mapping[str, ArmStats], rng: np.random.Generator
) -> dict[str, float]:
    """A policy's weights with the guard rails over the drawable arms, in their order."""
    if not stats:
        raise ValueError("no drawable arms")
    arms = list(stats)
    n, s, ss = to_arrays(stats)
    w = policy_weights(policy, n, s, ss, rng, control_index(arms, policy.config))
    return dict(zip(arms, w[0].tolist(), strict=True))


def apply_safety(
    weights: Mapping[str, float], stats: Mapping[str, ArmStats], config: BanditConfig
) -> dict[str, float]:
    """Apply the guard rails to weights a policy computed; return weights over ``stats``' arms.

    ``weights`` may cover all drawable arms or all but the control; a control's weight is
    dropped and the rest renormalised (all-zero weights become an even split).
    """
    if not stats:
        raise ValueError("no drawable arms")
    arms = list(stats)
    control = control_index(arms, config)
    if control is not None and len(arms) == 1:
        return {arms[0]: 1.0}
    bandit = [arm for i, arm in enumerate(arms) if i != control]
    raw = np.array([[max(float(weights.get(arm, 0.0)), 0.0) for arm in bandit]])
    total = raw.sum()
    raw = raw / total if total > 0 else np.full_like(raw, 1.0 / len(bandit))
    n, s, ss = to_arrays({arm: stats[arm] for arm in bandit})
    stop, leader = _stop_rule(n, s, ss, config)
    w = _combine(raw, warming_up(n, config), stop, leader, config, control)
    return dict(zip(arms, w[0].tolist(), strict=True))
