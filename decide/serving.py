"""Decisions for one placement, for one contact or ten thousand at once.

gather (one pipelined read of every contact's state) → filter and choose (pure) → reserve
caps (one write, only when the placement caps sends) → record (one write) → answer (the last
three in recording.py). A single decision and a batch run the same code, so they cannot
disagree.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeout

from decide import bandit_serving, decisions, metrics, reach
from decide.config.experiments import Experiment
from decide.config.holdouts import holding
from decide.config.placements import WEB_CHANNELS, Placement
from decide.config.snapshot import Snapshot
from decide.contact_state import ContactState, plan_contact_reads, read_contact
from decide.errors import ApiError, Problem, invalid, not_found, unavailable
from decide.pending import Pending, Result
from decide.recording import answer, record, reserve_caps
from decide.runtime import Runtime
from decide.store.scripts import Batch
from decide.turns import each
from experiments.conditions import evaluate
from personalization.behaviour import EMPTY, behaviour_view
from personalization.segments import segments_of
from personalization.templates import RenderError
from personalization.triggers import trigger_fires


async def serve(
    rt: Runtime, placement_key: str, reqs: Sequence[decisions.DecideRequest],
    budget_s: float | None = None, confirm_writes: bool = True,
) -> list[Result]:  # fmt: skip
    """`budget_s`: how long the reads may take in all (a single decision's Redis timeout);
    past it the decision is served degraded. None: the store's own timeout (batches).
    `confirm_writes=False`: answer once the record is sent, not stored (recording.record)."""
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
    reader = _Reads(rt, budget_s)
    await _gather(rt, reader, snapshot, placement, experiment, live)
    async for p in each(live):
        _prepare(rt, snapshot, placement, p)
    await _bandit_weights(rt, reader, snapshot, placement, live)
    decided: dict[str, set[str]] = {}
    async for p in each(live):
        _choose(rt, snapshot, placement, experiment, p)
        _no_repeat_within(placement, p, decided)
        _render(p)
    await reserve_caps(rt, snapshot, placement, live)
    await record(rt, placement, experiment, live, confirm_writes)
    metrics.count_decisions(placement.key, live)
    return [
        p.error if p.error is not None else answer(rt, placement, p) async for p in each(pending)
    ]


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
    decided: dict[str, set[str]] = {}
    for p in pending:
        p.holdout = holding(snapshot.holdouts.values(), p.req.contact_id, namespace)
        _prepare(rt, snapshot, placement, p)
        _choose(rt, snapshot, placement, experiment, p)
        _no_repeat_within(placement, p, decided)
        _render(p)
    return [p.error if p.error is not None else answer(rt, placement, p) for p in pending]


class _Reads:
    """A decision's reads: within one deadline on the decision pipeline, or (a batch) on the
    shared one with the store's timeout."""

    def __init__(self, rt: Runtime, budget_s: float | None) -> None:
        self.deadline = None if budget_s is None else asyncio.get_running_loop().time() + budget_s
        self.target = rt.pipeliner if budget_s is None else rt.decision_reads

    async def execute(self, batch: Batch) -> list[Any]:
        try:
            return await batch.execute(self.target, deadline=self.deadline)
        except TimeoutError as error:  # the pipeline goes on; its answer is not waited for
            raise RedisTimeout("the decision's read budget ran out") from error


def _render(p: Pending) -> None:
    """Render before anything is reserved or recorded: content that fails for this contact
    (its data hits a loop or output limit) is a 422 naming the template, never a decision
    that was counted but not answered."""
    choice = p.choice
    if p.error is not None or choice is None or choice.message is None or not p.channels:
        return
    locale = p.state.locale if p.state is not None else p.req.attributes.get("locale")
    try:
        p.rendered = decisions.render(choice.message, p.channels, locale, p.data)
    except RenderError as error:
        p.choice = None
        p.error = ApiError(
            422,
            "render_failed",
            f"message {choice.message.key!r} cannot be rendered for this contact: {error}",
            [Problem(error.path, error.message)],
        )


async def _gather(
    rt: Runtime, reader: _Reads, snapshot: Snapshot, placement: Placement,
    experiment: Experiment | None, pending: list[Pending],
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
        with metrics.store_call("decide_read"):
            read = await reader.execute(gather)
    except (RedisError, OSError):
        return  # every state stays None: degraded
    async for p in each(pending):
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
    rt: Runtime, reader: _Reads, snapshot: Snapshot, placement: Placement,
    pending: list[Pending],
) -> None:  # fmt: skip
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
        results = await reader.execute(batch)
    except (RedisError, OSError) as error:
        results = [error] * len(batch.ops)
    readable = not any(isinstance(r, Exception) for r in results)
    for group, read in reads.items():
        weights = read.weights  # fresh, or the previous ones while this read refreshes them
        if read.counters is not None and readable:
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
        _choose_degraded(rt, snapshot, placement, p)
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
        p.choice = decisions.held_out(placement, p.holdout.key)
    elif p.weights is not None:
        sticky = bandit_serving.sticky_of(p.state.bandit_sticky, p.arms, p.now)
        p.choice = decisions.choose_bandit(placement, p.weights, rt.rng, sticky, p.segment)
    else:
        p.choice = decisions.choose(
            placement, experiment, p.req.contact_id, p.data, p.state.experiment_sticky
        )
    # A bandit draws among the drawable arms; a rule, an experiment or a holdout names its
    # message, which may have been filtered out (no channel for it, or seen already).
    if p.choice.message is not None and p.choice.message.key not in p.arms:
        why = "no_repeat" if placement.outreach.no_repeat_s is not None else "no_channel"
        p.choice = decisions.Choice(
            None, why, p.choice.source, 0.0, holdout=p.choice.holdout, reasons=p.choice.reasons
        )
    if p.choice.message is None:
        return
    usable = [c for c in p.reach.channels if c in p.choice.message.channels]
    ranked, why = reach.rank(placement, usable, p.data["behaviour"], rt.priors, rt.rng)
    primary = ranked[0]
    p.timing = reach.when(
        placement, snapshot.workspace, primary, p.reach.earliest[primary], p.state, rt.priors,
        rt.rng, p.now,
    )  # fmt: skip
    p.channels = reach.with_fallbacks(
        placement, snapshot.workspace, p.state, ranked, p.timing.send_at.timestamp()
    )
    p.reasons += [why[c] for c in p.channels if c in why]
    p.reasons.append(p.timing.reason)


def _no_repeat_within(placement: Placement, p: Pending, decided: dict[str, set[str]]) -> None:
    """no_repeat within one batch too: every entry read the contact's state before any was
    recorded, so a contact listed twice would get the same message twice; the second gets
    none, as the second of two decisions in a row would."""
    if placement.outreach.no_repeat_s is None or p.choice is None or p.choice.message is None:
        return
    key = p.choice.message.key
    mine = decided.setdefault(p.req.contact_id, set())
    if key in mine:
        why = [f"no_repeat: {key} decided earlier in this batch"]
        p.choice = decisions.Choice(
            None, "no_repeat", p.choice.source, 0.0, holdout=p.choice.holdout, reasons=why
        )
        p.channels, p.timing = (), None
    mine.add(key)


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


def _choose_degraded(rt: Runtime, snapshot: Snapshot, placement: Placement, p: Pending) -> None:
    """Fail closed: a person is messaged only on a channel whose consent the request itself
    carries and no frequency cap governs (it could not be read, nor a send reserved); content
    inside the caller's own page or app may still be served. What the store could tell before
    it failed (a bandit's counters unread after the contact was) still filters, and the send
    keeps to the placement's send time and quiet hours in the request's timezone."""
    consent = p.req.attributes.get("consent")
    consent = consent if isinstance(consent, dict) else {}
    caps = reach.caps_of(placement, snapshot.workspace)
    known = p.reach.channels if p.reach is not None else None
    usable = tuple(
        c for c in placement.channels
        if (p.req.channels is None or c in p.req.channels)
        and (known is None or c in known)
        and (c in WEB_CHANNELS
             or (consent.get(c) is True and not any(rule.applies(c) for rule in caps)))
    )  # fmt: skip
    if not usable:
        p.error = unavailable(
            "the store is unreachable, so consent and frequency caps for this placement's "
            "channels cannot be read; retry, or send attributes.consent for an uncapped channel"
        )
        return
    p.choice = decisions.default_choice(placement, "store unreachable: serving the default message")
    channels = (
        decisions.channels_for(placement, p.choice.message, usable) if p.choice.message else ()
    )
    if channels:
        now = p.req.now.replace(microsecond=0).timestamp()
        alone = ContactState(attributes=dict(p.req.attributes), behaviour=EMPTY)
        p.timing = reach.when(
            placement, snapshot.workspace, channels[0], now, alone, rt.priors, rt.rng, now
        )
        p.reasons.append(p.timing.reason)
        at = p.timing.send_at.timestamp()
        p.channels = reach.with_fallbacks(placement, snapshot.workspace, alone, channels, at)
