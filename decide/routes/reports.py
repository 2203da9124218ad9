"""GET /reports/experiments/{key}: the analyst's page, self-contained HTML (no CDN)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from decide.experiment_results import add_totals, analyse, results_document, totals_of
from decide.report_html import experiment_page
from decide.routes.results import experiment_of
from decide.store import keys

MAX_DAYS = 120


async def experiment_report(request: Request) -> Response:
    rt, experiment = experiment_of(request, "read")
    key, phase = experiment.key, experiment.spec.phase
    totals = totals_of(await rt.client.hgetall(keys.experiment_totals(key, phase)))
    prefix = keys.experiment_daily(key, phase, 0)[: -len("0")]
    found = [
        k.decode()
        async for k in rt.client.scan_iter(match=keys.glob_escape(prefix) + "*", count=500)
    ]
    days = sorted(int(k[len(prefix) :]) for k in found if k[len(prefix) :].isdigit())[-MAX_DAYS:]
    pipe = rt.client.pipeline(transaction=False)
    for day in days:
        pipe.hgetall(keys.experiment_daily(key, phase, day))
    daily = [totals_of(raw) for raw in await pipe.execute()]
    timeline = []
    for i, day in enumerate(days):
        cumulative = analyse(experiment, add_totals(daily[: i + 1]))
        if cumulative is not None:
            timeline.append((day, cumulative.to_dict()))
    document = results_document(experiment, totals, rt.clock())
    return HTMLResponse(experiment_page(document, timeline))
