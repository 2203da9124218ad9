"""Analysts' experiment surfaces: results as JSON, a forced winner check, the action log."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from decide import auto_winner
from decide.config.experiments import Experiment
from decide.errors import Problem, invalid, not_found
from decide.experiment_results import results_document
from decide.responses import json_response
from decide.results_csv import RESULT_COLUMNS, csv_response, result_rows
from decide.routes.config import placement_key
from decide.runtime import Runtime
from decide.store import keys


def experiment_of(request: Request, scope: str) -> tuple[Runtime, Experiment]:
    rt: Runtime = request.app.state.runtime
    rt.settings.api_keys.require(request, scope)
    key = placement_key(request)
    experiment = rt.snapshot.experiments.get(key)
    if experiment is None:
        raise not_found("experiment", key)
    return rt, experiment


async def results(request: Request) -> Response:
    document, _ = await _results(request)
    return json_response(document)


async def results_csv(request: Request) -> Response:
    """The same numbers as /results, one row per metric and variation."""
    document, totals = await _results(request)
    name = f"{document['experiment']}-phase{document['phase']}-results.csv"
    return csv_response(request, name, RESULT_COLUMNS, result_rows(document, totals))


async def _results(request: Request) -> tuple[dict[str, Any], dict[str, float]]:
    rt, experiment = experiment_of(request, "read")
    phase = request.query_params.get("phase")
    if phase is not None and (not phase.isdigit() or not 1 <= int(phase) <= experiment.spec.phase):
        raise invalid([Problem("phase", f"must be a phase from 1 to {experiment.spec.phase}")])
    number = int(phase) if phase else None
    totals = await auto_winner.load_totals(rt, experiment, number)
    return results_document(experiment, totals, rt.clock(), number), totals


async def check_now(request: Request) -> Response:
    """Run the auto-winner rule now (it also runs on its own schedule)."""
    rt, experiment = experiment_of(request, "admin")
    return json_response(await auto_winner.check(rt, experiment, force=True))


async def action_log(request: Request) -> Response:
    rt, experiment = experiment_of(request, "read")
    entries = await rt.client.xrange(keys.experiment_log(experiment.key))
    actions = [
        {"action": f[b"action"].decode(), "at": float(f[b"at"]), "phase": int(f[b"phase"]),
         "verdict": orjson.loads(f[b"verdict"])}
        for _, f in entries
    ]  # fmt: skip
    return json_response({"experiment": experiment.key, "actions": actions})
