"""Decisions for one placement, for one contact or ten thousand at once.

gather (one pipelined read of every contact's state) → choose (pure) → reserve caps (one
write, only when the placement caps sends) → record (one write) → answer. A single decision
and a batch run the same code, so they cannot disagree.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import orjson
from redis.exceptions import RedisError

from decide import bandit_serving, decisions, reach
from decide.config.experiments import Experiment
from decide.config.holdouts import Holdout, holding
from decide.config.placements import WEB_CHANNELS, Placement
from decide.config.snapshot import Snapshot
from decide.contact_state import (
    ContactReads,
    ContactState,
    plan_contact_reads,
    read_contact,
    shown_value,
)
from decide.errors import ApiError, invalid, not_found, unavailable
from decide.runtime import Runtime
from decide.store import keys
from decide.store.experiment_measurement import record_exposure
from decide.store.outcomes import count_outcome
from decide.store.scripts import Batch
from decide.tokens import Decision
from experiments.conditions import evaluate
from personalization.behaviour import behaviour_view
from personalization.segments import segments_of
from personalization.triggers import trigger_fires

log = logging.getLogger("decide")


@dataclass
class Pending:
    """One contact's decision on its way through the phases."""

    req: decisions.DecideRequest
    holdout: Holdout | None = None
    reads: ContactReads | None = None
    state: ContactState | None = None  # None: degraded, the store could not be read
    data: dict[str, Any] = field(default_factory=dict)
    reach: reach.Reach | None = None
    segment: str = ""
    arms: tuple[str, ...] = ()
    weights: dict[str, float] | None = None  # a bandit's, for this contact's drawable arms
    choice: decisions.Choice | None = None
    channels: tuple[str, ...] = ()
    timing: reach.Timing | None = None
    token: Decision | None = None
    reasons: list[str] = field(default_factory=list)
    error: ApiError | None = None
    recorded: bool = True  # False: the store did not take the decision's write

    @cached_property
    def now(self) -> float:
        return self.req.now.timestamp()


Result = dict[str, Any] | ApiError


async def serve(
    rt: Runtime, placement_key: str, reqs: Sequence[decisions.DecideRequest]
) -> list[Result]:
    snapshot = rt.snapshot
    placement = snapshot.placements.get(placement_key)
    if placement is None:
        raise not_found("placement", placement_key)
    experiment = snapshot.experiments.get(placement.experiment or "")
    pending = [Pending(req) for req in reqs]
    for p in pending:
        missing = decisions.missing_context(placement, p.req)
        if missing:
            p.error = invalid(missing)
    live = [p for p in pending if p.error is None]
    await _gather(rt, snapshot, placement, experiment, live)
    for p in live:
        _prepare(rt, snapshot, placement, p)
    await _bandit_weights(rt, snapshot, placement, live)
    for p in live:
        _choose(rt, snapshot, placement, experiment, p)
    await _reserve(rt, snapshot, placement, live)
    await _record(rt, placement, experiment, live)
    return [p.error if p.error is not None else _answer(rt, placement, p) for p in pending]


def decide_in_memory(
    rt: Runtime, placement_key: str, reqs: Sequence[decisions.DecideRequest],
    states: Sequence[ContactState],
) -> list[Result]:  # fmt: skip
    """The pure core alone, for benchmarks: the same phases as `serve` with every contact's
    state already in memory, and nothing reserved or recorded (no I/O at all)."""
    snapshot = rt.snapshot
    placement = snapshot.placements[placement_key]
    experiment = snapshot.experiments.get(placement.experiment or "")
    namespace = experiment.spec.namespace[0] if experiment and experiment.spec.namespace else None
    pending = [Pending(req, state=state) for req, state in zip(reqs, states, strict=True)]
    for p in pending:
        p.holdout = holding(snapshot.holdouts.values(), p.req.contact_id, namespace)
        _prepare(rt, snapshot, placement, p)
        _choose(rt, snapshot, placement, experiment, p)
    return [p.error if p.error is not None else _answer(rt, placement, p) for p in pending]


async def _gather(
    rt: Runtime, snapshot: Snapshot, placement: Placement, experiment: Experiment | None,
    pending: list[Pending],
) -> None:  # fmt: skip
    namespace = experiment.spec.namespace[0] if experiment and experiment.spec.namespace else None
    caps = bool(reach.caps_of(placement, snapshot.workspace))
    gather = Batch(rt.scripts)
    for p in pending:
        # Pure, so before the gather: a held-out contact needs no experiment or bandit state.
        p.holdout = holding(snapshot.holdouts.values(), p.req.contact_id, namespace)
        p.reads = plan_contact_reads(
            gather, p.req.contact_id, placement, experiment,
            held_out=p.holdout is not None, caps=caps,
        )  # fmt: skip
    try:
        read = await gather.execute(rt.pipeliner)
    except (RedisError, OSError):
        return  # every state stays None: degraded
    for p in pending:
        assert p.reads is not None
        p.state = read_contact(read, p.reads, p.req.attributes, p.now, p.req.stored_profile)


def _prepare(rt: Runtime, snapshot: Snapshot, placement: Placement, p: Pending) -> None:
    """Template data, and what the draw may choose from (filter, then draw)."""
    if p.state is None:
        p.data = decisions.template_data(p.req.contact_id, p.req.attributes, {}, p.req.context)
        return
    state, now = p.state, p.now
    view = behaviour_view(state.behaviour, now=now, scoring=snapshot.workspace.scoring)
    p.data = decisions.template_data(p.req.contact_id, state.attributes, view, p.req.context)
    contact = p.data["contact"]
    contact.setdefault("lifecycle_stage", view.get("lifecycle_stage"))
    contact["lead_score"] = view.get("score")
    contact["segments"] = segments_of(list(snapshot.segments.values()), p.data)
    p.reach = reach.reach(placement, snapshot.workspace, state, view, p.req.channels, now)
    arms = decisions.drawable_arms(placement, p.reach.channels)
    keep_s = placement.outreach.no_repeat_s
    if keep_s is not None:
        fresh = tuple(
            a for a in arms if a not in state.shown or (keep_s and now - state.shown[a] >= keep_s)
        )
        if len(fresh) < len(arms):
            p.reasons.append(
                f"no_repeat: already decided {', '.join(sorted(set(arms) - set(fresh)))}"
            )
        arms = fresh
    p.arms = arms
    if placement.bandit is not None and p.holdout is None:
        p.segment = bandit_serving.segment_of(placement.bandit, p.data)


async def _bandit_weights(
    rt: Runtime, snapshot: Snapshot, placement: Placement, pending: list[Pending]
) -> None:
    """Weights per (segment, drawable arms) from the worker's cache, else from the counters:
    one more round trip, shared by every contact of the batch that needs the same ones."""
    if placement.bandit is None:
        return
    groups: dict[tuple[str, tuple[str, ...]], list[Pending]] = {}
    for p in pending:
        if p.state is not None and p.holdout is None:
            groups.setdefault((p.segment, p.arms), []).append(p)
    if not groups:
        return
    batch = Batch(rt.scripts)
    now = pending[0].now
    reads = {
        (segment, arms): bandit_serving.plan_read(
            batch, rt.weights, placement, snapshot.version, arms, segment, now
        )
        for segment, arms in groups
    }
    try:
        results = await batch.execute(rt.pipeliner)
    except (RedisError, OSError) as error:
        results = [error] * len(batch.ops)
    readable = not any(isinstance(r, Exception) for r in results)
    for group, read in reads.items():
        weights = read.weights
        if weights is None and readable:
            weights = bandit_serving.weights_for(read, results, placement, rt.weights, rt.rng, now)
        for p in groups[group]:
            if weights is None:
                p.state = None  # counters unreadable: served as degraded
            p.weights = weights
    if any(segment for segment, _ in groups):
        rt.estimate_strength_soon(
            placement.key, tuple(placement.messages), placement.bandit.config.prior_strength
        )


def _choose(
    rt: Runtime, snapshot: Snapshot, placement: Placement, experiment: Experiment | None,
    p: Pending,
) -> None:  # fmt: skip
    if p.state is None:
        _choose_degraded(placement, p)
        return
    gate = _gate(placement, p)
    if gate is not None:
        p.choice = gate
        return
    assert p.reach is not None
    if not p.reach.channels:
        p.choice = decisions.Choice(None, _why_unreachable(p.reach), "rule", 0.0)
        return
    if p.holdout is not None:
        p.choice = decisions.held_out(placement, p.holdout.key, p.data)
    elif p.weights is not None:
        sticky = bandit_serving.sticky_of(p.state.bandit_sticky, p.arms, p.now)
        p.choice = decisions.choose_bandit(placement, p.data, p.weights, rt.rng, sticky, p.segment)
    else:
        p.choice = decisions.choose(
            placement, experiment, p.req.contact_id, p.data, p.state.experiment_sticky
        )
        if p.choice.message is not None and p.choice.message.key not in p.arms:
            why = "no_repeat" if placement.outreach.no_repeat_s is not None else "no_channel"
            p.choice = decisions.Choice(None, why, p.choice.source, 0.0, reasons=p.choice.reasons)
    if p.choice.message is None:
        return
    usable = [c for c in p.reach.channels if c in p.choice.message.channels]
    p.channels, why = reach.rank(placement, usable, p.data["behaviour"], rt.priors, rt.rng)
    p.reasons += why
    primary = p.channels[0]
    p.timing = reach.when(
        placement, snapshot.workspace, primary, p.reach.earliest[primary], p.state, rt.priors,
        rt.rng, p.now,
    )  # fmt: skip
    p.reasons.append(p.timing.reason)


def _gate(placement: Placement, p: Pending) -> decisions.Choice | None:
    """Whole-decision filters that hold before any draw: eligibility, trigger, goal exit."""
    if placement.eligibility is not None and not evaluate(placement.eligibility, p.data):
        source = "holdout" if p.holdout else "bandit" if placement.bandit else "rule"
        holdout = p.holdout.key if p.holdout else None
        why = ["eligibility: not met"]
        return decisions.Choice(None, "not_eligible", source, 0.0, holdout=holdout, reasons=why)
    outreach = placement.outreach
    if outreach.trigger is not None:
        fires, why = trigger_fires(
            outreach.trigger, p.data["behaviour"], p.data["contact"], p.req.now,
            p.state.timezone if p.state else None,
        )  # fmt: skip
        if not fires:
            return decisions.Choice(None, "not_eligible", "rule", 0.0, reasons=[f"trigger: {why}"])
    goal = outreach.goal
    if goal is not None:
        last = p.data["behaviour"].get("last_at", {}).get(goal.event)
        if last is not None and (goal.within_s is None or p.now - last <= goal.within_s):
            return decisions.Choice(None, "goal_reached", "rule", 0.0,
                                    reasons=[f"goal: {goal.event} already done"])  # fmt: skip
    return None


def _why_unreachable(r: reach.Reach) -> str:
    reasons = set(r.excluded.values())
    return "frequency_cap" if reasons == {"frequency_cap"} else "no_channel"


def _choose_degraded(placement: Placement, p: Pending) -> None:
    """Fail closed: a person is messaged only on a channel whose consent the request itself
    carries; content inside the caller's own page or app may still be served."""
    consent = p.req.attributes.get("consent")
    consent = consent if isinstance(consent, dict) else {}
    usable = tuple(
        c for c in placement.channels
        if (p.req.channels is None or c in p.req.channels)
        and (c in WEB_CHANNELS or consent.get(c) is True)
    )  # fmt: skip
    if not usable:
        p.error = unavailable(
            "the store is unreachable, so consent for this placement's channels cannot be read; "
            "retry, or send attributes.consent for the channel"
        )
        return
    p.choice = decisions.default_choice(placement, "store unreachable: serving the default message")
    channels = (
        decisions.channels_for(placement, p.choice.message, usable) if p.choice.message else ()
    )
    p.channels = channels[: 1 + placement.max_fallbacks]
    if p.channels:
        start = p.req.now.replace(microsecond=0)
        p.timing = reach.Timing(
            start, start.astimezone(p.req.timezone or reach.UTC_ZONE), -1, "send_at: now"
        )


async def _reserve(
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
        p.token = _token(rt, placement, p, primary)
        send_at = p.timing.send_at.timestamp()
        rules = [x for rule in caps for x in (rule.channel or "*", rule.max, rule.window_s)]
        longest = max(rule.window_s for rule in caps)
        asked.append((p, batch.script(
            "reserve_send",
            [keys.sends(p.req.contact_id), keys.pending_sends(p.req.contact_id)],
            [p.now, p.token.nonce, primary, send_at, send_at + rt.settings.cap_grace_s, longest,
             *rules],
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


async def _record(
    rt: Runtime, placement: Placement, experiment: Experiment | None, pending: list[Pending]
) -> None:
    """One pipelined write for every decision made; a decision the store did not take is
    answered, but marked degraded."""
    batch = Batch(rt.scripts)
    spans: list[tuple[Pending, int, int]] = []
    decided: dict[tuple[str, str], int] = {}  # (segment, message) -> decisions: one HINCRBY each
    for p in pending:
        if p.error is not None or p.state is None or p.choice is None:
            continue
        if p.choice.message is None or not p.channels:
            continue
        p.token = p.token or _token(rt, placement, p, p.channels[0])
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
    try:
        results = await batch.execute(rt.pipeliner)
    except (RedisError, OSError) as error:
        log.warning("decisions not recorded: %s", error)
        results = [error] * len(batch.ops)
    shared_failed = any(isinstance(results[i], Exception) for i in counters)
    for p, start, end in spans:
        if shared_failed or any(isinstance(r, Exception) for r in results[start:end]):
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
        touches = keys.touches(token.contact_id)  # shown now: a touch for attribution
        batch.command(
            "LPUSH", touches, f"{token.placement}|{token.message}|{token.channel}|{token.issued_at}"
        )
        batch.command("LTRIM", touches, 0, 19)
        batch.command("EXPIRE", touches, rt.settings.attribution_window_s)  # fmt: skip
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
        )  # fmt: skip
    if placement.sticky_hours:
        key = keys.bandit_sticky(token.contact_id)
        value = bandit_serving.sticky_value(
            token.message, token.propensity, placement, token.issued_at
        )
        batch.command("HSET", key, placement.key, value)
        batch.command("EXPIRE", key, int(placement.sticky_hours * 3600) + 60)


def _token(rt: Runtime, placement: Placement, p: Pending, channel: str) -> Decision:
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
    )


def _answer(rt: Runtime, placement: Placement, p: Pending) -> dict[str, Any]:
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
    token = p.token or _token(rt, placement, p, p.channels[0])
    timing = p.timing
    assert timing is not None
    locale = p.state.locale if p.state is not None else p.req.attributes.get("locale")
    answer |= {
        "decision_id": rt.signing().sign(token),
        "message": decisions.render(choice.message, p.channels, locale, p.data),
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
