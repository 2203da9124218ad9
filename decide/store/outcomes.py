"""Exposures and rewards of one decision, counted into its arm's statistics."""

from __future__ import annotations

import math
from dataclasses import dataclass

import redis.asyncio as aioredis

from decide.store import keys
from decide.store.scripts import Batch
from decide.tokens import Decision

DAY_S = 86_400
DAILY_TTL_S = 120 * DAY_S  # forgetting reads at most this far back


@dataclass(frozen=True)
class CounterKey:
    name: str
    segment: str  # "" is the population
    day: int | None  # a daily bucket's epoch day; None for the all-time counters


async def arm_stats_keys(client: aioredis.Redis, placement: str) -> list[CounterKey]:
    """Every arm-statistics key of a placement that exists (segments, population, daily
    buckets), from its registry set: no SCAN, whose cost grows with the whole store. Names of
    expired daily buckets are dropped from the set on the way."""
    registry = keys.arm_stats_registry(placement)
    listed = {name.decode() for name in await client.smembers(registry)}
    names = sorted(listed | {keys.arm_stats(placement, "")})
    pipe = client.pipeline(transaction=False)
    for name in names:
        pipe.exists(name)
    alive = [bool(n) for n in await pipe.execute()]
    gone = [name for name, ok in zip(names, alive, strict=True) if not ok and name in listed]
    if gone:
        await client.srem(registry, *gone)
    live = [name for name, ok in zip(names, alive, strict=True) if ok]
    return [CounterKey(name, *keys.parse_arm_stats(placement, name)) for name in live]


def count_outcome(
    batch: Batch, decision: Decision, kind: str, at: float, value: float, now: float, log_cap: int
) -> int:
    """Queue the idempotent apply_decision_event script; returns its index in the batch."""
    counters = [keys.arm_stats(decision.placement, decision.segment)]
    if decision.segment:
        counters.append(keys.arm_stats(decision.placement, ""))  # the population, for priors
    kept = len(counters)
    if decision.daily:
        day = decision.issued_at // DAY_S  # both trial and reward land on the decision's day
        counters += [keys.arm_stats_daily(decision.placement, s, day) for s in
                     dict.fromkeys((decision.segment, ""))]  # fmt: skip
    return batch.script(
        "apply_decision_event",
        [keys.decision_state(decision.placement, decision.nonce),
         keys.outcome_log(decision.placement), keys.arm_stats_registry(decision.placement),
         *counters],
        [decision.message, kind, at, value, decision.reward_window_s,
         _state_ttl_s(decision, now), kept, DAILY_TTL_S, log_cap, decision.nonce],
    )  # fmt: skip


def _state_ttl_s(decision: Decision, now: float) -> int:
    """The decision's state outlives its token (rounded up, +1 s): while the token is good an
    event of it must find the exposure and reward already counted, or it counts them again."""
    return max(1, math.ceil(decision.expires_at - now) + 1)
