"""POST /v1/decide: gather (one pipelined read) → choose (pure) → record (one write) → answer."""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime
from typing import Any

from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import Response

from decide import decisions
from decide.bodies import read_json
from decide.config.placements import WEB_CHANNELS, Placement
from decide.errors import invalid, not_found, unavailable
from decide.responses import json_response
from decide.runtime import Runtime
from decide.store import keys
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

    # Gather: everything this decision reads, in one pipelined round trip. A failed read means
    # consent, suppression and history are unknown: outbound channels then fail closed.
    gather = Batch(rt.scripts)
    behaviour_at = gather.command("HGETALL", keys.behaviour(req.contact_id))
    sticky_at = None
    if experiment is not None and experiment.spec.status == "running":
        spec = experiment.spec
        sticky_at = gather.command(
            "HGET", keys.experiment_assignments(spec.key, spec.phase), req.contact_id
        )
    try:
        read = await gather.execute(rt.client)
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
        held = read[sticky_at] if sticky_at is not None else None
        sticky = held.decode() if held is not None else None
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
    token = _decision(rt, placement, choice, choice.message.key, req, channels[0], snapshot.version)
    if not degraded:
        answer["degraded"] = not await _record(rt, placement, choice, token)
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
    )


async def _record(
    rt: Runtime, placement: Placement, choice: decisions.Choice, token: Decision
) -> bool:
    """One pipelined write; False when the store did not take all of it."""
    batch = Batch(rt.scripts)
    if choice.in_experiment and choice.experiment is not None and choice.phase is not None:
        batch.script(
            "record_exposure",
            [
                keys.experiment_assignments(choice.experiment, choice.phase),
                keys.experiment_exposures(choice.experiment, choice.phase),
            ],
            [token.contact_id, choice.variation or ""],
        )
    arms = keys.arm_stats(placement.key, token.segment)
    batch.command("HINCRBY", arms, f"{token.message}:decided", 1)
    if token.exposed_on_decide:
        count_outcome(batch, token, "exposure", token.issued_at, 0.0, token.issued_at,
                      rt.settings.decision_log_max)  # fmt: skip
    try:
        results = await batch.execute(rt.client)
    except (RedisError, OSError) as error:
        log.warning("decision not recorded: %s", error)
        return False
    return not any(isinstance(r, Exception) for r in results)


def _assignment(choice: decisions.Choice) -> dict[str, Any]:
    out: dict[str, Any] = {"source": choice.source, "propensity": round(choice.propensity, 6)}
    if choice.experiment is not None:
        out |= {
            "experiment": choice.experiment,
            "variation": choice.variation,
            "phase": choice.phase,
        }
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
