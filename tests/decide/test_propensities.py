"""The logged propensity is the probability the service really drew with (IPS check).

20,000 decisions through the service's decide path (everything but the HTTP framing) against
a real server, with learned, unequal weights recomputed every 50 decisions: for every arm k,
mean(1{arm=k} / p_k) must be within 4 standard errors of 1. And with arms filtered out per
contact before the draw (no-repeat), over the decisions where k was drawable.
"""

from __future__ import annotations

import asyncio
import math

from decide.routes.config import store_placement
from decide.routes.decide import decide_one
from decide.runtime import Runtime
from decide.settings import Settings
from decide.store import keys
from tests.conftest import Clock, Store

DECISIONS = 20_000
FILTERED_CONTACTS = 3_000  # two decisions each
ARMS = ("a", "b", "c", "d")


def test_inverse_propensity_weights_average_one(store: Store, clock: Clock) -> None:
    counters = {"a:n": 400, "a:sum": 40, "b:n": 400, "b:sum": 52, "c:n": 400, "c:sum": 30,
                "d:n": 20, "d:sum": 2}  # fmt: skip
    store.client().hset(keys.arm_stats("hero", ""), mapping=counters)
    ratios = asyncio.run(_run(store.url, clock, _banner()))
    _assert_unbiased(ratios)


def _banner(**extra: object) -> dict[str, object]:
    return {
        "channels": ["web"],
        "policy": {"type": "bandit", "algorithm": "thompson", "floor": 0.05, "refresh_ms": 50},
        "messages": [{"key": k, "content": {"web": {"t": k}}} for k in ARMS],
        **extra,
    }


def _assert_unbiased(terms_by_arm: dict[str, list[float]]) -> None:
    """Per arm, the mean of 1{drawn} / p within 4 standard errors of 1."""
    for arm in ARMS:
        terms = terms_by_arm[arm]
        mean = sum(terms) / len(terms)
        variance = sum((t - mean) ** 2 for t in terms) / (len(terms) - 1)
        se = math.sqrt(variance / len(terms))
        assert abs(mean - 1) < 4 * se, (arm, mean, se)


async def _run(url: str, clock: Clock, placement: dict) -> dict[str, list[float]]:
    runtime = Runtime(Settings(seed=1, decision_log_max=0), url, clock)
    await runtime.start()
    try:
        await store_placement(runtime, "hero", placement)
        ratios: dict[str, list[float]] = {arm: [] for arm in ARMS}
        for i in range(DECISIONS):
            clock.advance(0.001)  # 50 decisions per weights refresh
            answer = await decide_one(runtime, {"contact_id": f"c-{i}", "placement": "hero"})
            chosen, p = answer["message"]["key"], answer["assignment"]["propensity"]
            for arm in ARMS:
                ratios[arm].append(1 / p if arm == chosen else 0.0)
        return ratios
    finally:
        await runtime.stop()


def test_propensities_are_over_the_arms_left_after_filtering(store: Store, clock: Clock) -> None:
    """Each contact decides twice under no_repeat: its second draw is over the three arms it
    has not seen. A propensity taken over all four arms would be too small there, and the
    IPS mean of the arms drawn would come out near 4/3 instead of 1."""
    counters = {"a:n": 400, "a:sum": 40, "b:n": 400, "b:sum": 60, "c:n": 400, "c:sum": 30,
                "d:n": 400, "d:sum": 45}  # fmt: skip
    store.client().hset(keys.arm_stats("hero", ""), mapping=counters)
    _assert_unbiased(asyncio.run(_run_twice(store.url, clock, _banner(no_repeat=True))))


async def _run_twice(url: str, clock: Clock, placement: dict) -> dict[str, list[float]]:
    """Per arm, 1{drawn} / p over the decisions where the arm could be drawn."""
    runtime = Runtime(Settings(seed=2, decision_log_max=0), url, clock)
    await runtime.start()
    try:
        await store_placement(runtime, "hero", placement)
        terms: dict[str, list[float]] = {arm: [] for arm in ARMS}
        for i in range(FILTERED_CONTACTS):
            seen: set[str] = set()
            for _ in range(2):
                clock.advance(0.001)
                answer = await decide_one(runtime, {"contact_id": f"c-{i}", "placement": "hero"})
                chosen, p = answer["message"]["key"], answer["assignment"]["propensity"]
                assert chosen not in seen
                for arm in set(ARMS) - seen:
                    terms[arm].append(1 / p if arm == chosen else 0.0)
                seen.add(chosen)
        return terms
    finally:
        await runtime.stop()
