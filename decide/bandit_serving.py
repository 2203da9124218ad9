"""Serving a bandit placement: segment, counters read, weights cached per worker, the draw.

Arm weights are recomputed from the Redis counters at most every `refresh_ms` per
(placement, segment, drawable arms) and reused in between — the batched refresh the
simulations measure — so a decision costs one categorical draw, and the propensity logged
is exactly the weight drawn from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bandits.forgetting import decayed, windowed
from bandits.hierarchical import prior_strength, shrink
from bandits.policy import apply_safety, make_policy
from bandits.stats import ArmStats
from decide.config.bandit_policy import BanditPolicy
from decide.config.placements import Placement
from decide.store import keys
from decide.store.outcomes import DAY_S, arm_stats_keys
from decide.store.scripts import Batch

MAX_SEGMENT_LENGTH = 64
MISSING_SEGMENT = "(none)"


def segment_of(policy: BanditPolicy, data: Mapping[str, Any]) -> str:
    """The value at `segment_by` (e.g. contact.locale → "fa"); "" when not segmented."""
    if policy.segment_by is None:
        return ""
    value: Any = data
    for part in policy.segment_by.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    if value is None or isinstance(value, dict | list):
        return MISSING_SEGMENT
    return str(value).strip().lower()[:MAX_SEGMENT_LENGTH] or MISSING_SEGMENT


@dataclass(frozen=True)
class CounterReads:
    """Where in a gather batch the counters of one (placement, segment) are."""

    segment: int
    population: int | None
    days: tuple[tuple[int, int, int | None], ...]  # (age in days, segment idx, population idx)


def read_counters(
    batch: Batch, placement: str, segment: str, policy: BanditPolicy, now: float
) -> CounterReads:
    if policy.daily:
        today = int(now // DAY_S)
        days = tuple(
            (
                age,
                batch.command("HGETALL", keys.arm_stats_daily(placement, segment, today - age)),
                batch.command("HGETALL", keys.arm_stats_daily(placement, "", today - age))
                if segment
                else None,
            )
            for age in range(policy.days_read)
        )
        return CounterReads(-1, None, days)
    population = batch.command("HGETALL", keys.arm_stats(placement, "")) if segment else None
    return CounterReads(
        batch.command("HGETALL", keys.arm_stats(placement, segment)), population, ()
    )


def arm_stats_of(raw: Mapping[bytes, bytes], arms: Sequence[str]) -> dict[str, ArmStats]:
    """`<arm>:n`, `<arm>:sum`, `<arm>:sum_sq` fields → ArmStats per arm (0 when absent)."""
    fields: dict[str, dict[str, float]] = {arm: {} for arm in arms}
    for raw_key, raw_value in raw.items():
        arm, _, name = raw_key.decode().rpartition(":")
        if arm in fields and name in ("n", "sum", "sum_sq"):
            fields[arm][name] = float(raw_value)
    return {
        arm: ArmStats(f.get("n", 0.0), f.get("sum", 0.0), f.get("sum_sq", 0.0))
        for arm, f in fields.items()
    }


def stats_from(
    results: Sequence[Any],
    reads: CounterReads,
    arms: Sequence[str],
    policy: BanditPolicy,
    strength: Mapping[str, float] | None = None,
) -> dict[str, ArmStats]:
    """The statistics the policy sees: forgotten over days if configured, and a segment's
    shrunk toward the population so a small segment starts from what everyone taught."""

    if reads.days:
        own = _forget(
            [(age, arm_stats_of(results[s], arms)) for age, s, _ in reads.days], arms, policy
        )
        if reads.days[0][2] is None:
            return own
        population = _forget(
            [(age, arm_stats_of(results[p], arms)) for age, _, p in reads.days if p is not None],
            arms, policy,
        )  # fmt: skip
        return stats_with_prior(own, population, policy, strength)
    own = arm_stats_of(results[reads.segment], arms)
    if reads.population is None:
        return own
    return stats_with_prior(own, arm_stats_of(results[reads.population], arms), policy, strength)


# Until the between-segment spread has been estimated, the population prior is worth this
# many trials per arm (or the configured cap, if lower).
UNESTIMATED_STRENGTH = 10.0


def stats_with_prior(
    own: Mapping[str, ArmStats],
    population: Mapping[str, ArmStats],
    policy: BanditPolicy,
    strength: Mapping[str, float] | None = None,
) -> dict[str, ArmStats]:
    """A segment's statistics shrunk toward the population's (hierarchical prior). `strength`
    is the per-arm estimate from every segment (`prior_strength`), capped by the config."""
    if strength is None:
        return shrink(own, population, min(policy.config.prior_strength, UNESTIMATED_STRENGTH))
    return shrink(own, population, strength)


async def estimate_strength(
    client: Any, placement: str, arms: Sequence[str], cap: float
) -> dict[str, float]:
    """Method-of-moments prior strength per arm from all of a placement's segments: how alike
    the segments really are decides how much a small one borrows from the population."""
    found = await arm_stats_keys(client, placement)
    segments = [k.name for k in found if k.segment and k.day is None]  # not population or days
    pipe = client.pipeline(transaction=False)
    for name in segments:
        pipe.hgetall(name)
    rows = [arm_stats_of(raw, arms) for raw in await pipe.execute()]
    return prior_strength(rows, cap) if len(rows) >= 2 else {}


def _forget(
    per_day: Sequence[tuple[int, dict[str, ArmStats]]], arms: Sequence[str], policy: BanditPolicy
) -> dict[str, ArmStats]:
    out = {}
    for arm in arms:
        buckets = [(float(age), stats[arm]) for age, stats in per_day]
        if policy.window_days is not None:
            out[arm] = windowed(buckets, policy.window_days)
        else:
            out[arm] = decayed(buckets, policy.discount_per_day or 1.0)
    return out


def compute_weights(
    policy: BanditPolicy, stats: Mapping[str, ArmStats], rng: np.random.Generator
) -> dict[str, float]:
    raw = make_policy(policy.config).weights(stats, rng)
    return apply_safety(raw, stats, policy.config)


class WeightsCache:
    """Per worker: weights per (placement, config version, segment, drawable arms).

    One request refreshes stale weights while the others go on drawing from the previous
    ones (their logged propensity is what they drew with, so it stays exact): when every
    request in flight recomputed them at once, the 2,000-draw computation ran dozens of times
    in the same instant, a stall of tens of milliseconds each `refresh_ms` (a bandit's p99)."""

    def __init__(self, max_entries: int = 10_000) -> None:
        # key -> (computed at, weights, a refresh started at, or None)
        self._entries: dict[tuple[Any, ...], tuple[float, dict[str, float], float | None]] = {}
        self.max_entries = max_entries
        self.strengths: dict[str, dict[str, float]] = {}  # per segmented placement
        self.strengths_at: dict[str, float] = {}

    def get(
        self, key: tuple[Any, ...], now: float, refresh_s: float
    ) -> tuple[dict[str, float] | None, bool]:
        """The weights to draw with (None: none yet) and whether this caller refreshes them.
        A refresh that never finished (its read failed, its request ended) is taken over
        after another `refresh_s`."""
        entry = self._entries.get(key)
        if entry is None:
            return None, True
        computed_at, weights, refreshing = entry
        if now - computed_at < refresh_s:
            return weights, False
        if refreshing is not None and now - refreshing < refresh_s:
            return weights, False
        self._entries[key] = (computed_at, weights, now)
        return weights, True

    def clear(self) -> None:
        self._entries.clear()
        self.strengths.clear()
        self.strengths_at.clear()

    def put(self, key: tuple[Any, ...], now: float, weights: dict[str, float]) -> None:
        if len(self._entries) >= self.max_entries:
            self._entries.clear()  # segments churn rarely; a full reset is simplest and bounded
        self._entries[key] = (now, weights, None)


@dataclass(frozen=True)
class BanditRead:
    """What the weights of one (segment, drawable arms) asked a read batch for."""

    segment: str
    arms: tuple[str, ...]  # drawable: filtered before the draw
    cache_key: tuple[Any, ...]
    weights: dict[str, float] | None  # from the cache, fresh or being refreshed; None: none yet
    counters: CounterReads | None  # set when this read refreshes the weights


def plan_read(
    batch: Batch, cache: WeightsCache, placement: Placement, version: int,
    arms: tuple[str, ...], segment: str, now: float,
) -> BanditRead:  # fmt: skip
    policy = placement.bandit
    assert policy is not None
    cache_key = (placement.key, version, segment, arms)
    weights, refresh = cache.get(cache_key, now, policy.refresh_s)
    counters = read_counters(batch, placement.key, segment, policy, now) if refresh else None
    return BanditRead(segment, arms, cache_key, weights, counters)


def weights_for(
    read: BanditRead, results: Sequence[Any], placement: Placement, cache: WeightsCache,
    rng: np.random.Generator, now: float,
) -> dict[str, float]:  # fmt: skip
    """Fresh weights from the counters `read` asked for (read.counters is set)."""
    policy = placement.bandit
    assert policy is not None and read.counters is not None
    if not read.arms:
        return {}
    strength = cache.strengths.get(placement.key)
    stats = stats_from(results, read.counters, read.arms, policy, strength)
    weights = compute_weights(policy, stats, rng)
    cache.put(read.cache_key, now, weights)
    return weights


def sticky_of(raw: bytes | None, arms: Sequence[str], now: float) -> tuple[str, float] | None:
    """The arm (and its original propensity) this contact was shown, while it still holds."""
    if raw is None:
        return None
    arm, propensity, expires = raw.decode().split("|")
    if float(expires) <= now or arm not in arms:
        return None
    return arm, float(propensity)


def sticky_value(arm: str, propensity: float, placement: Placement, now: float) -> str:
    return f"{arm}|{propensity:.6g}|{now + placement.sticky_hours * 3600:.0f}"
