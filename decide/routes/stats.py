"""GET /v1/placements/{key}/stats (and stats.csv): per segment and arm, what was learned and
how it is used."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from bandits.summary import summarize
from decide import bandit_serving
from decide.config.placements import Placement
from decide.responses import json_response
from decide.results_csv import STATS_COLUMNS, csv_response, stats_rows
from decide.routes.config import live_placement
from decide.runtime import Runtime
from decide.store import keys
from decide.store.outcomes import arm_stats_keys


async def placement_stats(request: Request) -> Response:
    rt: Runtime = request.app.state.runtime
    rt.settings.api_keys.require(request, "read")
    return json_response(await stats_document(rt, live_placement(rt, request)))


async def placement_stats_csv(request: Request) -> Response:
    rt: Runtime = request.app.state.runtime
    rt.settings.api_keys.require(request, "read")
    document = await stats_document(rt, live_placement(rt, request))
    return csv_response(
        request, f"{document['placement']}-stats.csv", STATS_COLUMNS, stats_rows(document)
    )


async def stats_document(rt: Runtime, placement: Placement) -> dict[str, Any]:
    key = placement.key
    found = await arm_stats_keys(rt.client, key)
    segments = sorted({k.segment for k in found if k.day is None} | {""})
    pipe = rt.client.pipeline(transaction=False)
    for segment in segments:
        pipe.hgetall(keys.arm_stats(key, segment))
    raw = await pipe.execute()

    arms = tuple(placement.messages)
    bandit = placement.bandit
    reward = "value" if placement.reward.use_value else "binary"
    out: list[dict[str, Any]] = []
    for segment, counters in zip(segments, raw, strict=True):
        stats = bandit_serving.arm_stats_of(counters, arms)
        summary = summarize(stats, reward, rt.rng)
        weights: dict[str, float] = {}
        if bandit is not None:
            strength = rt.weights.strengths.get(key)
            seen = stats if not segment else bandit_serving.stats_with_prior(
                stats, bandit_serving.arm_stats_of(raw[0], arms), bandit, strength
            )  # fmt: skip
            weights = bandit_serving.compute_weights(bandit, seen, rt.rng)
        decided = {
            k.decode().rpartition(":")[0]: int(float(v))
            for k, v in counters.items()
            if k.decode().endswith(":decided")
        }
        out.append({
            "segment": segment,
            "arms": [
                {"arm": arm, "decided": decided.get(arm, 0), "trials": stats[arm].n,
                 "rewards": stats[arm].sum, "mean": summary[arm].mean,
                 "interval": [summary[arm].low, summary[arm].high],
                 "chance_best": summary[arm].chance_best,
                 **({"weight": weights.get(arm, 0.0)} if bandit is not None else {})}
                for arm in arms
            ],
        })  # fmt: skip
    body: dict[str, Any] = {"placement": key, "policy": placement.policy, "reward": reward}
    if bandit is not None:
        body["algorithm"] = bandit.config.algorithm
        if bandit.segment_by:
            body["segment_by"] = bandit.segment_by
            # pseudo-trials the population prior is worth per arm (None: not estimated yet)
            body["prior_strength"] = rt.weights.strengths.get(key)
        if bandit.daily:
            body["note"] = "trials and rewards are all-time; weights use the forgetting window"
    return body | {"segments": out}
