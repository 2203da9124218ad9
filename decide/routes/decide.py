"""POST /v1/decide: gather (one pipelined read) → choose (pure) → record (one write) → answer."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import Response

from decide import bandit_serving, decisions
from decide.bodies import read_json
from decide.config.experiments import Experiment
from decide.config.holdouts import holding
from decide.config.placements import WEB_CHANNELS, Placement
from decide.errors import invalid, not_found, unavailable
from decide.responses import json_response
from decide.runtime import Runtime
from decide.store import keys
from decide.store.experiment_measurement import record_exposure
from decide.store.outcomes import count_outcome
from decide.store.scripts import Batch
from decide.tokens import Decision

log = logging.getLogger("decide")


async def decide(request: Request) -> Response:
    rt: Runtime = request.app.state.runtime
    rt.settings.api_keys.require(request, "decide")
    body = await read_json(request, rt.settings.body_limit)
    return json_response(await decide_one(rt, body))


async def decide_one(rt: Runtime, body: Any) -> dict[str, Any]:
    req = decisions.parse_decide_request(body, datetime.fromtimestamp(rt.clock(), UTC))
    snapshot = rt.snapshot
    placement = snapshot.placements.get(req.placement)
    if placement is None:
        raise not_found("placement", req.placement)
    missing = decisions.missing_context(placement, req)
    if missing:
        raise invalid(missing)
    experiment = snapshot.experiments.get(placement.experiment or "")
    now = req.now.timestamp()
    namespace = experiment.spec.namespace[0] if experiment and experiment.spec.namespace else None
    # Pure, so before the gather: a held-out contact needs no experiment or bandit state.
    holdout = holding(snapshot.holdouts.values(), req.contact_id, namespace)

    # Gather: everything this decision reads, in one pipelined round trip. A failed read means
    # consent, suppression and history are unknown: outbound channels then fail closed.
    gather = Batch(rt.scripts)
    behaviour_at = gather.command("HGETALL", keys.behaviour(req.contact_id))
    sticky_at = bandit_read = None
    if holdout is None and experiment is not None and experiment.spec.status == "running":
        spec = experiment.spec
        sticky_at = gather.command(
            "HGET", keys.experiment_assignments(spec.key, spec.phase), req.contact_id
        )
    if holdout is None and placement.bandit is not None:
        segment = bandit_serving.segment_of(placement.bandit, decisions.template_data(req, {}))
        arms = decisions.drawable_arms(placement, req.channels)
        bandit_read = bandit_serving.plan_read(
            gather, rt.weights, placement, snapshot.version, req.contact_id, arms, segment, now
        )
    try:
        read = await gather.execute(rt.pipeliner)
        degraded = any(isinstance(r, Exception) for r in read)
    except (RedisError, OSError):
        read, degraded = [], True

    allowed = req.channels
    if degraded:
        allowed = _channels_without_store(placement, req)
        data = decisions.template_data(req, {})
        choice = decisions.default_choice(
            placement, "store unreachable: serving the default message"
        )
    else:
        data = decisions.template_data(req, decisions.behaviour_of(read[behaviour_at]))
        if holdout is not None:
            choice = decisions.held_out(placement, holdout.key, data)
        elif bandit_read is not None:
            if bandit_read.segment and placement.bandit is not None:
                cap = placement.bandit.config.prior_strength
                rt.estimate_strength_soon(placement.key, tuple(placement.messages), cap)
            weights = bandit_serving.weights_for(
                bandit_read, read, placement, rt.weights, rt.rng, now
            )
            sticky_arm = bandit_serving.sticky_of(bandit_read, read, now)
            choice = decisions.choose_bandit(
                placement, data, weights, rt.rng, sticky_arm, bandit_read.segment
            )
        else:
            held = read[sticky_at] if sticky_at is not None else None
            sticky = held.decode().partition("|")[0] if held is not None else None
            choice = decisions.choose(placement, experiment, req.contact_id, data, sticky)

    answer: dict[str, Any] = {
        "decision_id": None,
        "placement": placement.key,
        "message": None,
        "reason": choice.reason,
        "channel": None,
        "send_at": None,
        "assignment": _assignment(choice),
        "degraded": degraded,
        "reasons": list(choice.reasons),
    }
    if choice.message is None:
        return answer
    channels = decisions.channels_for(placement, choice.message, allowed)
    if not channels:
        answer["reason"] = "no_channel"
        answer["reasons"].append("channel: the message has no content on an allowed channel")
        return answer
    channels = channels[: 1 + placement.max_fallbacks]
    segment = bandit_read.segment if bandit_read is not None else ""
    token = _decision(
        rt, placement, choice, choice.message.key, req, channels[0], snapshot.version, segment
    )
    if not degraded:
        answer["degraded"] = not await _record(rt, placement, experiment, choice, token, req, data)
    answer |= {
        "decision_id": rt.signing().sign(token),
        "message": decisions.render(choice.message, channels, req, data),
        "channel": {"primary": channels[0], "fallbacks": list(channels[1:])},
        "send_at": _send_at(req),
    }
    return answer


def _channels_without_store(placement: Placement, req: decisions.DecideRequest) -> tuple[str, ...]:
    """Fail closed: a person is messaged only on a channel whose consent the request itself
    carries; content inside the caller's own page or app may still be served."""
    consent = req.attributes.get("consent")
    consent = consent if isinstance(consent, dict) else {}
    usable = tuple(
        channel
        for channel in placement.channels
        if (req.channels is None or channel in req.channels)
        and (channel in WEB_CHANNELS or consent.get(channel) is True)
    )
    if not usable:
        raise unavailable(
            "the store is unreachable, so consent for this placement's channels cannot be read; "
            "retry, or send attributes.consent for the channel"
        )
    return usable


def _decision(
    rt: Runtime,
    placement: Placement,
    choice: decisions.Choice,
    message: str,
    req: decisions.DecideRequest,
    channel: str,
    version: int,
    segment: str,
) -> Decision:
    issued = int(req.now.timestamp())
    reward = placement.reward
    return Decision(
        placement=placement.key,
        contact_id=req.contact_id,
        message=message,
        channel=channel,
        send_at=issued,
        propensity=round(choice.propensity, 6),
        policy_version=version,
        issued_at=issued,
        expires_at=issued + reward.window_s + rt.settings.decision_grace_s,
        nonce=secrets.token_urlsafe(9),
        reward_event=reward.event,
        reward_window_s=reward.window_s,
        reward_value=reward.use_value,
        exposed_on_decide=placement.exposure == "on_decide",
        experiment=choice.experiment,
        variation=choice.variation,
        phase=choice.phase,
        segment=segment,
        daily=placement.bandit is not None and placement.bandit.daily,
    )


async def _record(
    rt: Runtime, placement: Placement, experiment: Experiment | None, choice: decisions.Choice,
    token: Decision, req: decisions.DecideRequest, data: Mapping[str, Any],
) -> bool:  # fmt: skip
    """One pipelined write; False when the store did not take all of it."""
    batch = Batch(rt.scripts)
    if choice.in_experiment and experiment is not None and choice.variation is not None:
        counts = decisions.behaviour_counts(data)
        record_exposure(
            batch, experiment, token.contact_id, choice.variation, token.issued_at, counts
        )
    batch.command(
        "HINCRBY", keys.arm_stats(placement.key, token.segment), f"{token.message}:decided", 1
    )
    if choice.source == "bandit" and not choice.sticky:
        _log_draw(rt, batch, placement, token, req)
    if token.exposed_on_decide:
        count_outcome(batch, token, "exposure", token.issued_at, 0.0, token.issued_at,
                      rt.settings.decision_log_max)  # fmt: skip
    try:
        results = await batch.execute(rt.pipeliner)
    except (RedisError, OSError) as error:
        log.warning("decision not recorded: %s", error)
        return False
    return not any(isinstance(r, Exception) for r in results)


def _log_draw(
    rt: Runtime, batch: Batch, placement: Placement, token: Decision, req: decisions.DecideRequest
) -> None:
    """The decision log (capped stream) that off-policy evaluation replays, and stickiness."""
    if rt.settings.decision_log_max:
        batch.command(
            "XADD", keys.decision_log(placement.key), "MAXLEN", "~", rt.settings.decision_log_max,
            "*", "d", token.nonce, "c", token.contact_id, "a", token.message,
            "p", token.propensity, "s", token.segment, "v", token.policy_version,
            "t", token.issued_at, "w", token.reward_window_s,
            "ctx", orjson.dumps(req.context),
        )  # fmt: skip
    if placement.sticky_hours:
        key = keys.bandit_sticky(token.contact_id)
        value = bandit_serving.sticky_value(
            token.message, token.propensity, placement, token.issued_at
        )
        batch.command("HSET", key, placement.key, value)
        batch.command("EXPIRE", key, int(placement.sticky_hours * 3600) + 60)


def _assignment(choice: decisions.Choice) -> dict[str, Any]:
    out: dict[str, Any] = {"source": choice.source, "propensity": round(choice.propensity, 6)}
    if choice.experiment is not None:
        out |= {
            "experiment": choice.experiment,
            "variation": choice.variation,
            "phase": choice.phase,
        }
    elif choice.holdout is not None:
        out["holdout"] = choice.holdout
    elif choice.source == "bandit":
        out |= {"policy": "bandit", "sticky": choice.sticky}
    else:
        out["policy"] = "rule"
    return out


def _send_at(req: decisions.DecideRequest) -> dict[str, str]:
    utc = req.now.replace(microsecond=0)
    local = utc.astimezone(req.timezone) if req.timezone else utc
    return {
        "utc": utc.isoformat().replace("+00:00", "Z"),
        "local": local.isoformat(),
        "timezone": str(req.timezone) if req.timezone else "UTC",
    }
