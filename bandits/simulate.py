"""A vectorised bandit simulator: many replicates (seeds) of the service's loop at once.

Each round, every replicate gets one visitor from some segment, the policy's current weights for
that segment pick an arm, the arm's trial is counted at once (as at exposure in the service) and
its reward lands ``delay`` rounds later. Weights are recomputed every ``refresh_every`` rounds
(the service serves weights from a snapshot refreshed on a cadence), through the same
:func:`bandits.safety.policy_weights` the service's policies use. Regret is pseudo-regret:
the best rate in force minus the chosen arm's rate, summed over rounds.

Thompson sampling with ``mc_draws=1`` and ``refresh_every=1`` is exact per-decision Thompson
sampling (one posterior draw per arm, play the best), which is how "fully online" is simulated
at scale. (With ``refresh_every > 1`` it would play one sampled arm for a whole batch.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from bandits.config import BanditConfig
from bandits.environment import Environment, IntArray
from bandits.hierarchical import shrink_arrays, strength_arrays
from bandits.policy import BatchPolicy, make_policy
from bandits.safety import policy_weights
from bandits.stats import FloatArray


@dataclass(frozen=True)
class Simulation:
    """How the service would run the bandit: policy, cadence, feedback delay, forgetting."""

    config: BanditConfig
    rounds: int
    seeds: int  # replicates, run side by side
    refresh_every: int = 1  # rounds between weight refreshes (1 = fully online)
    delay: int = 0  # rounds before a reward is known (trials count at once)
    discount_per_day: float = 1.0  # forgetting; 1 keeps everything
    rounds_per_day: int = 1000  # decisions per daily bucket, for forgetting
    arm_names: tuple[str, ...] = ()  # names used by config.control; default "0", "1", ...
    first_seed: int = 0  # replicate ids are first_seed, first_seed + 1, ...

    def __post_init__(self) -> None:
        if self.rounds < 1 or self.seeds < 1 or self.refresh_every < 1 or self.rounds_per_day < 1:
            raise ValueError("rounds, seeds, refresh_every and rounds_per_day must be at least 1")
        if self.delay < 0 or not 0 < self.discount_per_day <= 1:
            raise ValueError("delay must be at least 0 and discount_per_day in (0, 1]")


@dataclass(frozen=True, eq=False)
class SimulationResult:
    regret: FloatArray  # (seeds,) cumulative pseudo-regret at the end
    best_share: FloatArray  # (rounds,) share of replicates choosing the arm best at that round
    # (rounds,) share of replicates whose leader, the arm with the highest posterior mean in the
    # visitor's segment (own statistics, after forgetting), is the arm best at that round
    leader_share: FloatArray
    regret_curve: FloatArray  # (rounds,) mean cumulative regret over replicates after each round


@dataclass
class _State:
    """Mutable per-run counters (local to one ``simulate`` call): ``(seeds, segments, arms)``."""

    old_n: FloatArray  # decayed statistics of past days
    old_s: FloatArray
    n: FloatArray  # today's statistics
    s: FloatArray
    pulls: NDArray[np.int64]  # pulls so far per cell: the reward stream's counter

    def effective(self) -> tuple[FloatArray, FloatArray]:
        return self.old_n + self.n, self.old_s + self.s

    def end_day(self, discount: float) -> None:
        self.old_n = (self.old_n + self.n) * discount
        self.old_s = (self.old_s + self.s) * discount
        self.n = np.zeros_like(self.n)
        self.s = np.zeros_like(self.s)


def _weights(
    policy: BatchPolicy,
    n: FloatArray,
    s: FloatArray,
    population: tuple[FloatArray, FloatArray] | None,
    strength: FloatArray | None,
    rng: np.random.Generator,
    control: int | None,
) -> FloatArray:
    """Weights for ``(..., arms)`` rows (binary rewards: sum_sq = sum)."""
    shape = n.shape
    if population is not None and strength is not None:
        pop_n, pop_s = population
        n, s, _ = shrink_arrays(n, s, s, (pop_n, pop_s, pop_s), strength)
    n2, s2 = n.reshape(-1, shape[-1]), s.reshape(-1, shape[-1])
    return policy_weights(policy, n2, s2, s2, rng, control).reshape(shape)


def simulate(
    env: Environment,
    sim: Simulation,
    rng: np.random.Generator,
    progress: Callable[[int, int], None] | None = None,
) -> SimulationResult:
    """Run ``sim.seeds`` replicates of ``sim.rounds`` decisions in ``env``.

    Hierarchical pooling is on when the environment has several segments and
    ``config.prior_strength > 0``: each refresh pools the (forgetting-adjusted) statistics over
    segments, estimates the prior strength by method of moments (capped by ``prior_strength``)
    and shrinks every segment, as :mod:`bandits.hierarchical` describes.
    """
    config, seeds, arms, segments = sim.config, sim.seeds, env.arms, env.segments
    policy = make_policy(config)
    names = sim.arm_names or tuple(str(i) for i in range(arms))
    control = names.index(config.control) if config.control in names else None
    if config.control_share <= 0:
        control = None
    pooled = segments > 1 and config.prior_strength > 0
    replicates = np.arange(sim.first_seed, sim.first_seed + seeds, dtype=np.intp)
    rows = np.arange(seeds)
    zeros = np.zeros((seeds, segments, arms))
    state = _State(
        zeros.copy(), zeros.copy(), zeros.copy(), zeros.copy(), np.zeros_like(zeros, np.int64)
    )
    pending_seg = np.zeros((max(sim.delay, 1), seeds), dtype=np.intp)
    pending_arm = np.zeros_like(pending_seg)
    pending_reward = np.zeros((max(sim.delay, 1), seeds))
    regret = np.zeros(seeds)
    best_share = np.zeros(sim.rounds)
    leader_share = np.zeros(sim.rounds)
    curve = np.zeros(sim.rounds)
    report_every = max(1, sim.rounds // 100)
    current = np.full((seeds, segments, arms), 1.0 / arms)

    for t in range(sim.rounds):
        if t > 0 and t % sim.rounds_per_day == 0 and sim.discount_per_day < 1:
            state.end_day(sim.discount_per_day)
        seg = env.segment_of(replicates, t)
        if t % sim.refresh_every == 0:
            n, s = state.effective()
            population = (n.sum(axis=1), s.sum(axis=1)) if pooled else None
            strength = strength_arrays(n, s, s, config.prior_strength) if pooled else None
            if sim.refresh_every == 1:
                # Online: only the segment each replicate is in this round needs weights.
                current[rows, seg] = _weights(
                    policy, n[rows, seg], s[rows, seg], population, strength, rng, control
                )
            else:
                pop = (
                    None if population is None else (population[0][:, None], population[1][:, None])
                )
                strength_b = None if strength is None else strength[:, None]
                current = _weights(policy, n, s, pop, strength_b, rng, control)
        arm = _draw(current[rows, seg], rng)

        rates = env.rates_at(t)
        best = rates.max(axis=1)
        chosen = rates[seg, arm]
        regret += best[seg] - chosen
        curve[t] = regret.mean()
        if progress is not None and (t + 1) % report_every == 0:
            progress(t + 1, sim.rounds)
        best_share[t] = float(np.mean(chosen == best[seg]))
        leader = _leader(*(x[rows, seg] for x in state.effective()))
        leader_share[t] = float(np.mean(rates[seg, leader] == best[seg]))

        pull = state.pulls[rows, seg, arm]
        reward = env.rewards(replicates, seg, arm, pull, t)
        state.pulls[rows, seg, arm] += 1
        state.n[rows, seg, arm] += 1.0
        if sim.delay == 0:
            state.s[rows, seg, arm] += reward
            continue
        slot = t % sim.delay
        if t >= sim.delay:
            state.s[rows, pending_seg[slot], pending_arm[slot]] += pending_reward[slot]
        pending_seg[slot], pending_arm[slot], pending_reward[slot] = seg, arm, reward
    return SimulationResult(regret, best_share, leader_share, curve)


def _leader(n: FloatArray, s: FloatArray) -> IntArray:
    """Each row's arm with the highest Beta(1 + s, 1 + n - s) mean (first on ties)."""
    leader: IntArray = ((1.0 + s) / (2.0 + n)).argmax(axis=-1)
    return leader


def _draw(weights: FloatArray, rng: np.random.Generator) -> IntArray:
    """One arm per row with probability ``weights`` (one uniform per row, as in ``choose``)."""
    cumulative = np.cumsum(weights, axis=-1)
    u = rng.random(weights.shape[0]) * cumulative[:, -1]
    picked = (cumulative <= u[:, None]).sum(axis=-1)
    arms: IntArray = np.minimum(picked, weights.shape[-1] - 1).astype(np.intp)
    return arms
