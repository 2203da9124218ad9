"""POST /v1/events: acknowledged only after Redis applied every accepted event."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import Response

from decide import metrics
from decide.bodies import read_json
from decide.config.checks import Checks
from decide.contact_effects import (
    SUPPRESSING,
    ContactRules,
    feed_aggregates,
    queue_contact_event,
    stage_thresholds,
)
from decide.errors import ApiError, Problem, invalid, unavailable
from decide.events import Event, EventRules, Rejection, parse_event
from decide.rate_limit import check_body_key
from decide.reach import capped_channels
from decide.responses import json_response
from decide.runtime import Runtime
from decide.store import keys
from decide.store.experiment_measurement import apply_metric_event
from decide.store.outcomes import count_outcome
from decide.store.scripts import Batch
from personalization.scoring import points_for

log = logging.getLogger("decide")


async def post_events(request: Request) -> Response:
    rt: Runtime = request.app.state.runtime
    body = await read_json(request, rt.settings.events_body_limit)
    api_key = body.get("api_key") if isinstance(body, dict) else None
    caller = rt.settings.api_keys.require(request, "events", api_key)  # sendBeacon: key in body
    await check_body_key(rt, request, api_key)
    c = Checks()
    doc = c.mapping(body, "body")
    raw = doc.get("events") if doc is not None else None
    if doc is not None:
        c.unknown_fields(doc, {"events", "api_key"})
    if doc is not None and not isinstance(raw, list):
        c.fail("events", "must be a list of events")
    if not c.ok():
        raise invalid(c.problems)
    assert isinstance(raw, list)
    if len(raw) > rt.settings.max_events:
        most = f"at most {rt.settings.max_events} events per request"
        raise ApiError(413, "too_many_events", most, [Problem("events", most)])
    return json_response(await apply_events(rt, raw, public=caller.public))


async def apply_events(rt: Runtime, raw: list[Any], public: bool = False) -> dict[str, Any]:
    """`public`: sent with a browser key, which anyone may read from a page: events that stop
    messages to a contact (an unsubscribe, a bounce) are refused from it, one by one, or any
    page could unsubscribe anyone by naming their id."""
    if not rt.signer_ready:
        await rt.refresh()
    if not rt.signer_ready:
        # Without the real signing key every decision_id would look forged: never reject a
        # good event for a store we could not read; let the caller retry.
        raise unavailable()
    signer = rt.signing()
    rules = EventRules(rt.clock(), rt.settings.dedup_window_s, rt.settings.future_skew_s)
    parsed = [parse_event(item, i, rules, signer) for i, item in enumerate(raw)]
    if public:
        parsed = [_not_from_a_page(p) for p in parsed]
    events = [p for p in parsed if isinstance(p, Event)]
    rejected = [p for p in parsed if isinstance(p, Rejection)]

    batch = Batch(rt.scripts)
    experiments = list(rt.snapshot.experiments.values())
    contact_results: list[int] = []
    scoring = rt.snapshot.workspace.scoring
    # An event timed up to the skew ahead is accepted until its time leaves the window: its
    # seen-markers live that long (+1 s for the window's inclusive edge), or a late retry of
    # it would count again.
    marker_ttl_s = rt.settings.dedup_window_s + rt.settings.future_skew_s + 1
    contact_rules = ContactRules(
        marker_ttl_s,
        rt.settings.machine_open_s,
        scoring.half_life_s if scoring else 30 * 86_400,
        rt.settings.attribution_window_s,
        stage_thresholds(scoring.stages) if scoring else "",
    )
    capped: dict[str, frozenset[str]] = {}  # by placement: the channels caps govern
    for event in events:
        placement = event.decision.placement if event.decision is not None else ""
        if placement not in capped:
            found = rt.snapshot.placements.get(placement)
            capped[placement] = capped_channels(found, rt.snapshot.workspace)
        effect = event.arm_effect()
        if effect is not None and event.decision is not None:
            kind, value = effect
            count_outcome(batch, event.decision, kind, event.at, value, rules.now,
                          rt.settings.decision_log_max)  # fmt: skip
        apply_metric_event(
            batch, experiments, event.contact_id, event.event_id, event.type, event.at,
            event.value, event.currency, marker_ttl_s,
        )  # fmt: skip
        points = points_for(scoring, event.type, event.properties) if scoring else 0.0
        contact_results.append(queue_contact_event(
            batch, event, points, contact_rules, rules.now, capped[placement]
        ))  # fmt: skip
    if rt.settings.event_log_max and events:
        # One stream entry per request (its events as NDJSON): a command per event cost ~40% of
        # the event throughput. MAXLEN counts entries, so the cap is in batches.
        rows = b"".join(orjson.dumps(event.export()) + b"\n" for event in events)
        batch.command("XADD", keys.EVENT_LOG, "MAXLEN", "~", rt.settings.event_log_max, "*",
                      "n", len(events), "e", rows)  # fmt: skip
    durability = rt.settings.events_durability
    with metrics.store_call("events_write"):
        results = await batch.execute(rt.pipeliner, durability.command if durability else ())
    if durability is not None and not all(map(durability.satisfied, batch.waited)):
        log.warning("events not acknowledged: %s answered %r", durability.command[0], batch.waited)
        # Applied but maybe not durable yet; a retry counts nothing twice.
        raise unavailable(f"the store did not confirm {durability.command[0]} in time; retry")
    if any(isinstance(r, Exception) for r in results):
        metrics.store_failed("events_write")
        # Every script is idempotent, so the caller may retry the whole batch safely.
        raise unavailable("the store did not apply every event; retry the batch")
    applied = [(events[n], results[i]) for n, i in enumerate(contact_results) if results[i][0] == 1]
    population = Batch(rt.scripts)
    for event, result in applied:
        feed_aggregates(population, result, event)
    # Aggregates only: if this write fails the events stay acknowledged (they are stored); a
    # prior or an attribution misses a count rather than ever counting one twice.
    try:
        await population.execute(rt.pipeliner)
    except (RedisError, OSError) as error:
        log.warning("population priors not updated: %s", error)
    metrics.count_events(len(applied), len(events) - len(applied), (r.reason for r in rejected))
    return {
        "accepted": len(applied),
        "duplicate": len(events) - len(applied),
        "rejected": [r.as_dict() for r in rejected],
    }


def _not_from_a_page(parsed: Event | Rejection) -> Event | Rejection:
    if isinstance(parsed, Event) and parsed.type in SUPPRESSING:
        return Rejection(
            parsed.index, parsed.event_id, "forbidden",
            f"a public (browser) key cannot send {parsed.type!r}: it stops messages to the "
            "contact; send it from your backend with an events key", "type",
        )  # fmt: skip
    return parsed
