"""Exposures and rewards of one decision, counted into its arm's statistics."""

from __future__ import annotations

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
    """Every arm-statistics key of a placement (segments, population, daily buckets), by name.
    They share the placement's hash tag, so on a cluster one node holds them all."""
    match = keys.glob_escape(keys.arm_stats(placement, "")) + "*"
    names = sorted([k.decode() async for k in client.scan_iter(match=match, count=1000)])
    return [CounterKey(name, *keys.parse_arm_stats(placement, name)) for name in names]


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
         keys.outcome_log(decision.placement), *counters],
        [decision.message, kind, at, value, decision.reward_window_s,
         max(1, int(decision.expires_at - now)), kept, DAILY_TTL_S, log_cap, decision.nonce],
    )  # fmt: skip
