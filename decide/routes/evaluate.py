"""POST /v1/placements/{key}/evaluate: how would another policy have done, from the logs.

The decision log (arm, propensity) is joined by nonce to the outcome log (exposure, reward);
only exposed decisions count, and only once their reward window has closed or a reward came.
The candidate is a fixed rule, fixed weights, or a bandit configuration judged by the weights
it would give today (a stationary snapshot of it, not a replay of its learning).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from starlette.requests import Request
from starlette.responses import Response

from bandits.ope import doubly_robust, ips, snips
from decide import bandit_serving
from decide.bodies import read_json
from decide.config.bandit_policy import parse_bandit_policy
from decide.config.checks import Checks
from decide.config.placements import Placement
from decide.errors import Problem, invalid, not_found
from decide.responses import json_response
from decide.routes.config import placement_key
from decide.runtime import Runtime
from decide.store import keys

Logged = tuple[str, float, str, float]  # arm, propensity, segment, reward


def join_logs(
    decisions: Sequence[tuple[bytes, Mapping[bytes, bytes]]],
    outcomes: Sequence[tuple[bytes, Mapping[bytes, bytes]]],
    now: float,
) -> list[Logged]:
    exposed: set[str] = set()
    rewards: dict[str, float] = {}
    for _, fields in outcomes:
        nonce = fields[b"d"].decode()
        if fields[b"k"] == b"reward":  # a later entry is an earlier reward replacing it
            rewards[nonce] = float(fields[b"v"])
        elif fields[b"k"] == b"revoke":  # an earlier exposure put the reward out of its window
            rewards.pop(nonce, None)
        exposed.add(nonce)  # a reward implies the exposure
    rows = []
    for _, fields in decisions:
        nonce = fields[b"d"].decode()
        closed = float(fields[b"t"]) + float(fields[b"w"]) <= now
        if nonce in exposed and (closed or nonce in rewards):
            rows.append((fields[b"a"].decode(), float(fields[b"p"]), fields[b"s"].decode(),
                         rewards.get(nonce, 0.0)))  # fmt: skip
    return rows


async def evaluate(request: Request) -> Response:
    rt: Runtime = request.app.state.runtime
    rt.settings.api_keys.require(request, "read")
    key = placement_key(request)
    placement = rt.snapshot.placements.get(key)
    if placement is None or placement.bandit is None:
        raise not_found("bandit placement", key)
    body = await read_json(request, rt.settings.body_limit)
    candidate = body.get("policy") if isinstance(body, dict) else None
    if not isinstance(candidate, dict):
        raise invalid(
            [Problem("policy", "must be {rule: arm}, {weights: {arm: p}} or a bandit policy")]
        )
    arms = tuple(placement.messages)
    decisions = await rt.client.xrange(keys.decision_log(key))
    outcomes = await rt.client.xrange(keys.outcome_log(key))
    rows = join_logs(decisions, outcomes, rt.clock())
    segments = sorted({segment for _, _, segment, _ in rows})
    targets = {s: await _target(rt, placement, candidate, s, arms) for s in segments}
    if len(rows) < 2:
        raise invalid([Problem("placement", "fewer than two exposed, completed decisions logged")])
    index = {arm: i for i, arm in enumerate(arms)}
    arm = np.array([index[a] for a, _, _, _ in rows])
    propensity = np.array([p for _, p, _, _ in rows])
    reward = np.array([r for _, _, _, r in rows])
    probs = np.array([[targets[s].get(a, 0.0) for a in arms] for _, _, s, _ in rows])
    target = probs[np.arange(len(rows)), arm]
    if not target.any():  # no overlap with the log: nothing logged says how it would do
        raise invalid([Problem("policy", "gives probability 0 to every logged decision's arm, "
                               "so the log cannot evaluate it")])  # fmt: skip
    model = np.array(
        [reward[arm == i].mean() if (arm == i).any() else 0.0 for i in range(len(arms))]
    )
    estimates = {
        "ips": ips(propensity, reward, target),
        "snips": snips(propensity, reward, target),
        "doubly_robust": doubly_robust(propensity, arm, reward, probs, model),
    }
    shown = {
        name: {"estimate": float(e.estimate), "interval": [float(e.low), float(e.high)]}
        for name, e in estimates.items()
    }
    return json_response({
        "placement": key, "decisions": len(rows), "candidate": candidate,
        "logged_policy_value": float(reward.mean()), **shown,
    })  # fmt: skip


async def _target(
    rt: Runtime,
    placement: Placement,
    candidate: dict[str, Any],
    segment: str,
    arms: tuple[str, ...],
) -> dict[str, float]:
    """The candidate's probability of each arm for a decision in `segment`."""
    if "rule" in candidate:
        if candidate["rule"] not in arms:
            raise invalid([Problem("policy.rule", f"names no message: {candidate['rule']!r}")])
        return {candidate["rule"]: 1.0}
    if "weights" in candidate:
        weights = candidate["weights"]
        total = (
            sum(v for v in weights.values() if isinstance(v, int | float))
            if isinstance(weights, dict)
            else 0
        )
        if not total or any(a not in arms for a in weights):
            raise invalid(
                [Problem("policy.weights", "must map this placement's messages to weights")]
            )
        return {a: float(v) / total for a, v in weights.items()}
    c = Checks()
    policy = parse_bandit_policy(c, {k: v for k, v in candidate.items() if k != "type"}, set(arms))
    if not c.ok():
        raise invalid(c.problems)
    own = bandit_serving.arm_stats_of(
        await rt.client.hgetall(keys.arm_stats(placement.key, segment)), arms
    )
    if segment:
        population = bandit_serving.arm_stats_of(
            await rt.client.hgetall(keys.arm_stats(placement.key, "")), arms
        )
        strength = rt.weights.strengths.get(placement.key)
        own = bandit_serving.stats_with_prior(own, population, policy, strength)
    return bandit_serving.compute_weights(policy, own, rt.rng)
