"""GET /reports/…: the analysts' pages, self-contained HTML (no script, no CDN).

- /reports/                    every placement and experiment: traffic, leader, alerts
- /reports/placements/{key}    arm weights over time, channel and send-time mix, attribution
- /reports/experiments/{key}   results table and cumulative charts
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from decide import auto_winner
from decide.contact_effects import CONVERSIONS
from decide.errors import Problem, invalid
from decide.experiment_results import add_totals, analyse, results_document, totals_of
from decide.report_html import experiment_page
from decide.report_overview import experiment_summary, overview_page, placement_summary
from decide.report_placement import placement_page
from decide.routes.attribution import attribution_table
from decide.routes.config import live_placement
from decide.routes.results import experiment_of
from decide.routes.stats import stats_document
from decide.runtime import Runtime
from decide.store import keys
from decide.store.outcomes import DAY_S

MAX_DAYS = 120
DECISIONS_READ = 5_000  # newest decision-log entries a placement page reads, by default …
MAX_DECISIONS_READ = 50_000  # … and at most (?decisions=N)
ACTIONS_SHOWN = 3  # newest auto-winner actions per experiment on the overview


async def overview(request: Request) -> Response:
    rt: Runtime = request.app.state.runtime
    rt.settings.api_keys.require(request, "read")
    snapshot = rt.snapshot
    placements = [
        placement_summary(p, await stats_document(rt, p))
        for _, p in sorted(snapshot.placements.items())
    ]
    experiments = []
    for key, experiment in sorted(snapshot.experiments.items()):
        document = results_document(
            experiment, await auto_winner.load_totals(rt, experiment), rt.clock()
        )
        entries = await rt.client.xrevrange(keys.experiment_log(key), count=ACTIONS_SHOWN)
        actions = [{"action": f[b"action"].decode(), "verdict": orjson.loads(f[b"verdict"])}
                   for _, f in entries]  # fmt: skip
        experiments.append(experiment_summary(document, actions, experiment.analysis.alpha))
    return HTMLResponse(overview_page(placements, experiments))


async def placement_report(request: Request) -> Response:
    rt: Runtime = request.app.state.runtime
    rt.settings.api_keys.require(request, "read")
    placement = live_placement(rt, request)
    raw_limit = request.query_params.get("decisions", str(DECISIONS_READ))
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_DECISIONS_READ:
        raise invalid(
            [Problem("decisions", f"must be a whole number from 1 to {MAX_DECISIONS_READ}")]
        )
    limit = int(raw_limit)
    stats = await stats_document(rt, placement)
    logged = await rt.client.xrevrange(keys.decision_log(placement.key), count=limit)
    entries = [_log_entry(fields) for _, fields in logged]
    raw = await rt.client.hgetall(keys.attribution(placement.key))
    attribution = {
        "window_days": rt.settings.attribution_window_s / 86_400,
        "conversion_events": list(CONVERSIONS),
        "models": attribution_table(raw),
    }
    document = {"key": placement.key, **placement.document}
    return HTMLResponse(placement_page(document, stats, entries, limit, attribution))


def _log_entry(fields: dict[bytes, bytes]) -> dict[str, Any]:
    """The fields a chart needs: issued at, arm, propensity, channel, send slot (-1: none)."""
    return {
        "t": int(fields[b"t"]), "a": fields[b"a"].decode(), "p": float(fields[b"p"]),
        "ch": fields[b"ch"].decode() if b"ch" in fields else None,
        "sl": int(fields[b"sl"]) if b"sl" in fields else -1,
    }  # fmt: skip


async def experiment_report(request: Request) -> Response:
    rt, experiment = experiment_of(request, "read")
    key, phase = experiment.key, experiment.spec.phase
    totals = totals_of(await rt.client.hgetall(keys.experiment_totals(key, phase)))
    # The last MAX_DAYS days by name, one pipeline: a SCAN would walk the whole keyspace.
    today = int(rt.clock() // DAY_S)
    window = range(today - MAX_DAYS + 1, today + 1)
    pipe = rt.client.pipeline(transaction=False)
    for day in window:
        pipe.hgetall(keys.experiment_daily(key, phase, day))
    found = [(day, raw) for day, raw in zip(window, await pipe.execute(), strict=True) if raw]
    days = [day for day, _ in found]
    daily = [totals_of(raw) for _, raw in found]
    timeline = []
    for i, day in enumerate(days):
        cumulative = analyse(experiment, add_totals(daily[: i + 1]))
        if cumulative is not None:
            timeline.append((day, cumulative.to_dict()))
    document = results_document(experiment, totals, rt.clock())
    return HTMLResponse(experiment_page(document, timeline))
