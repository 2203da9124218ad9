"""After the choice: caps reserved, the decision recorded, and the answer built and signed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from typing import Any

import orjson
from redis.exceptions import RedisError

from decide import bandit_serving, decisions, metrics, reach
from decide.config.experiments import Experiment
from decide.config.placements import Placement
from decide.config.snapshot import Snapshot
from decide.contact_state import shown_value
from decide.errors import unavailable
from decide.pending import Pending
from decide.reach import language_of
from decide.runtime import Runtime
from decide.store import keys
from decide.store.contact_codec import CHANNEL_CODES, channel_code, nonce_key
from decide.store.experiment_measurement import record_exposure
from decide.store.outcomes import count_outcome
from decide.store.scripts import Batch
from decide.tokens import Decision
from decide.turns import each

log = logging.getLogger("decide")


async def reserve_caps(
    rt: Runtime, snapshot: Snapshot, placement: Placement, pending: list[Pending]
) -> None:
    """Caps are reserved at decision time, atomically per contact, before anything is recorded:
    a contact another campaign reserved meanwhile gets no message, not a recorded phantom."""
    caps = reach.caps_of(placement, snapshot.workspace)
    if not caps:
        return
    batch = Batch(rt.scripts)
    asked: list[tuple[Pending, int]] = []
    for p in pending:
        if p.state is None or p.choice is None or p.choice.message is None or not p.channels:
            continue
        if p.error is not None:
            continue
        primary = p.channels[0]
        if not any(rule.applies(primary) for rule in caps):
            continue
        assert p.timing is not None
        p.token = make_token(rt, placement, p, primary)
        rules = [
            x for rule in caps
            for x in (channel_code(rule.channel) if rule.channel else "*", rule.max, rule.window_s)
        ]  # fmt: skip
        longest = max(rule.window_s for rule in caps)
        asked.append((p, batch.script(
            "reserve_send",
            [keys.contact_state(p.req.contact_id)],
            [p.now, nonce_key(p.token.nonce), channel_code(primary), p.token.send_at,
             p.token.send_at + rt.settings.cap_grace_s, longest, p.token.expires_at,
             rt.settings.attribution_window_s, CHANNEL_CODES["web"], *rules],
        )))  # fmt: skip
    if not asked:
        return
    try:
        results = await batch.execute(rt.pipeliner)
    except (RedisError, OSError):
        results = [RedisError("store unreachable")] * len(batch.ops)
    for p, index in asked:
        result = results[index]
        if isinstance(result, Exception):
            # Caps unknown: a person is never messaged on a channel whose cap could not be read.
            p.error = unavailable("the store did not answer, so frequency caps cannot be kept")
        elif result != 1:
            rule = caps[int(result[1]) - 1]
            source = p.choice.source if p.choice else "rule"
            p.choice = decisions.Choice(
                None, "frequency_cap", source, 0.0, reasons=[f"frequency_cap: {rule.describe()}"]
            )


async def record(
    rt: Runtime, placement: Placement, experiment: Experiment | None, pending: list[Pending],
    confirm: bool = True,
) -> None:  # fmt: skip
    """One pipelined write for every decision made; a decision the store did not take is
    answered, but marked degraded.

    `confirm=False` (a single decision): wait until the write is on the wire, not for its
    answer. The store acknowledges a write only after its fsync (`appendfsync always`), half a
    millisecond of every answer on the test box (1.54 -> 1.02 ms); a decision is not an event the
    caller must be told was stored. The write still precedes the answer, so the caller's next
    request (an impression, a decision for the same contact) reaches the store after it. A
    failure seen only after sending is logged and counted (`decide_degraded_decisions_total`,
    `not_recorded`), not told to the caller."""
    batch = Batch(rt.scripts)
    spans: list[tuple[Pending, int, int]] = []
    decided: dict[tuple[str, str], int] = {}  # (segment, message) -> decisions: one HINCRBY each
    async for p in each(pending):
        if p.error is not None or p.state is None or p.choice is None:
            continue
        if p.choice.message is None or not p.channels:
            continue
        p.token = p.token or make_token(rt, placement, p, p.channels[0])
        group = (p.token.segment, p.token.message)
        decided[group] = decided.get(group, 0) + 1
        start = len(batch.ops)
        _queue_record(rt, batch, placement, experiment, p)
        spans.append((p, start, len(batch.ops)))
    if not spans:
        return
    counters = [
        batch.command("HINCRBY", keys.arm_stats(placement.key, segment), f"{message}:decided", n)
        for (segment, message), n in decided.items()
    ]
    segments = {keys.arm_stats(placement.key, segment) for segment, _ in decided}
    counters.append(batch.command("SADD", keys.arm_stats_registry(placement.key), *segments))
    if confirm:
        await _write(rt, batch, placement.key, counters, spans, None)
        return
    sent: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    written = asyncio.ensure_future(_write(rt, batch, placement.key, counters, spans, sent))
    rt.track_write(written)
    with contextlib.suppress(RedisError, OSError):
        await sent
        return
    await written  # not even sent: _write marks the decisions as not recorded


async def _write(
    rt: Runtime, batch: Batch, placement: str, counters: list[int],
    spans: list[tuple[Pending, int, int]], sent: asyncio.Future[None] | None,
) -> None:  # fmt: skip
    try:
        with metrics.store_call("decide_record"):
            results = await batch.execute(rt.pipeliner, sent=sent)
    except (RedisError, OSError) as failure:
        results = [failure] * len(batch.ops)
    shared_failed = any(isinstance(results[i], Exception) for i in counters)
    failed = [
        p for p, start, end in spans
        if shared_failed or any(isinstance(r, Exception) for r in results[start:end])
    ]  # fmt: skip
    if not failed:
        return
    first = next(r for r in results if isinstance(r, Exception))
    log.warning("%d decisions of %s not recorded: %s", len(failed), placement, first)
    answered = sent is not None and sent.done() and sent.exception() is None
    if answered:  # the callers have their answers already: counted here instead
        metrics.not_recorded(placement, len(failed))
        return
    for p in failed:
        p.reasons.append("store: the decision was not recorded")
        p.recorded = False


def _queue_record(
    rt: Runtime, batch: Batch, placement: Placement, experiment: Experiment | None, p: Pending
) -> None:
    choice, token = p.choice, p.token
    assert choice is not None and token is not None and choice.message is not None
    if choice.in_experiment and experiment is not None and choice.variation is not None:
        counts = decisions.behaviour_counts(p.data)
        record_exposure(
            batch, experiment, token.contact_id, choice.variation, token.issued_at, counts
        )
    if choice.source == "bandit" and not choice.sticky:
        _log_draw(rt, batch, placement, token, p.req)
    if token.exposed_on_decide:
        count_outcome(batch, token, "exposure", token.issued_at, 0.0, token.issued_at,
                      rt.settings.decision_log_max)  # fmt: skip
        batch.script(  # shown now: a touch for attribution
            "add_touch",
            [keys.contact_state(token.contact_id)],
            [p.now, nonce_key(token.nonce), f"{token.placement}|{token.message}",
             channel_code(token.channel), token.issued_at, rt.settings.attribution_window_s],
        )  # fmt: skip
    keep_s = placement.outreach.no_repeat_s
    if keep_s is not None and p.state is not None:
        key = keys.shown(p.req.contact_id)
        batch.command(
            "HSET",
            key,
            placement.key,
            shown_value(p.state.shown, choice.message.key, p.now, keep_s),
        )
        if keep_s:
            batch.command("EXPIRE", key, keep_s + 86_400)


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
            # channel and local hour-of-week slot of the send (-1: none), for the reports' mixes
            "ch", token.channel, "sl", -1 if token.slot is None else token.slot,
        )  # fmt: skip
    if placement.sticky_hours:
        key = keys.bandit_sticky(token.contact_id)
        value = bandit_serving.sticky_value(
            token.message, token.propensity, placement, token.issued_at
        )
        batch.command("HSET", key, placement.key, value)
        batch.command("EXPIRE", key, int(placement.sticky_hours * 3600) + 60)


def make_token(rt: Runtime, placement: Placement, p: Pending, channel: str) -> Decision:
    choice, timing = p.choice, p.timing
    assert choice is not None and choice.message is not None and timing is not None
    issued = int(p.now)
    send_at = int(timing.send_at.timestamp())
    reward = placement.reward
    return Decision(
        placement=placement.key,
        contact_id=p.req.contact_id,
        message=choice.message.key,
        channel=channel,
        send_at=send_at,
        propensity=round(choice.propensity, 6),
        policy_version=rt.snapshot.version,
        issued_at=issued,
        expires_at=max(issued, send_at) + reward.window_s + rt.settings.decision_grace_s,
        nonce=secrets.token_urlsafe(9),
        reward_event=reward.event,
        reward_window_s=reward.window_s,
        reward_value=reward.use_value,
        exposed_on_decide=placement.exposure == "on_decide",
        experiment=choice.experiment,
        variation=choice.variation,
        phase=choice.phase,
        segment=p.segment if p.weights is not None else "",
        daily=placement.bandit is not None and placement.bandit.daily,
        slot=timing.slot if timing.slot >= 0 else None,
        language=language_of(p.state.locale) if p.state is not None else None,
    )


def answer(rt: Runtime, placement: Placement, p: Pending) -> dict[str, Any]:
    choice = p.choice
    assert choice is not None
    degraded = p.state is None or not p.recorded
    answer: dict[str, Any] = {
        "decision_id": None,
        "placement": placement.key,
        "contact_id": p.req.contact_id,
        "message": None,
        "reason": choice.reason,
        "channel": None,
        "send_at": None,
        "assignment": _assignment(placement, choice),
        "degraded": degraded,
        "reasons": [*choice.reasons, *p.reasons],
    }
    if choice.message is None:
        if p.reach is not None and p.reach.excluded:
            answer["excluded_channels"] = dict(p.reach.excluded)
        return answer
    if not p.channels:
        answer["reason"] = "no_channel"
        answer["reasons"].append("channel: the message has no content on an allowed channel")
        return answer
    token = p.token or make_token(rt, placement, p, p.channels[0])
    timing = p.timing
    assert timing is not None
    assert p.rendered is not None
    answer |= {
        "decision_id": rt.signing().sign(token),
        "message": p.rendered,
        "channel": {"primary": p.channels[0], "fallbacks": list(p.channels[1:])},
        "send_at": {
            "utc": timing.send_at.isoformat().replace("+00:00", "Z"),
            "local": timing.local.isoformat(),
            "timezone": str(timing.local.tzinfo),
        },
    }
    return answer


def _assignment(placement: Placement, choice: decisions.Choice) -> dict[str, Any]:
    out: dict[str, Any] = {"source": choice.source, "propensity": round(choice.propensity, 6)}
    if choice.experiment is not None:
        out |= {
            "experiment": choice.experiment,
            "variation": choice.variation,
            "phase": choice.phase,
        }
    elif choice.holdout is not None:
        out["holdout"] = choice.holdout
    elif choice.source == "bandit" and placement.bandit is not None:
        out |= {"policy": placement.bandit.config.algorithm, "sticky": choice.sticky}
    else:
        out["policy"] = "rule"
    return out
