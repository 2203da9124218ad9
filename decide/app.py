"""The ASGI application: routes, error envelope, and the runtime's lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Callable
from functools import partial

from redis.exceptions import RedisError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from decide import auto_winner, metrics
from decide.config.files import KINDS
from decide.cors import PublicCors
from decide.errors import ApiError
from decide.rate_limit import RateLimitMiddleware
from decide.request_log import RequestLog, configure_logging, request_id_of, route_of
from decide.responses import api_error_handler, json_response, store_error_handler
from decide.routes import (
    attribution,
    audit,
    browser,
    config,
    contacts,
    decide,
    evaluate,
    events,
    export,
    ops,
    preview,
    reports,
    results,
    state,
    stats,
)
from decide.runtime import Runtime
from decide.settings import Settings

log = logging.getLogger("decide")


def _config_routes(kind: str) -> list[Route]:
    """The same verbs for every kind of configuration document."""
    one = f"/v1/{kind}/{{key}}"
    return [
        Route(f"/v1/{kind}", partial(config.list_config, kind=kind), methods=["GET"]),
        Route(one, partial(config.put_config, kind=kind), methods=["PUT"]),
        Route(one, partial(config.get_config, kind=kind), methods=["GET"]),
        Route(one, partial(config.delete_config, kind=kind), methods=["DELETE"]),
    ]


ROUTES = [
    Route("/v1/decide", decide.decide, methods=["POST"]),
    Route("/v1/decide/batch", decide.decide_batch, methods=["POST"]),
    Route("/v1/events", events.post_events, methods=["POST"]),
    *(route for kind in KINDS for route in _config_routes(kind)),
    Route("/v1/contacts/{id}", contacts.put_contact, methods=["PUT"]),
    Route("/v1/contacts/{id}", contacts.patch_contact, methods=["PATCH"]),
    Route("/v1/contacts/{id}", contacts.get_contact, methods=["GET"]),
    Route("/v1/contacts/{id}", contacts.delete_contact, methods=["DELETE"]),
    Route("/v1/contacts/{id}/merge", contacts.merge_contact, methods=["POST"]),
    Route("/v1/workspace", config.put_workspace, methods=["PUT"]),
    Route("/v1/workspace", config.get_workspace, methods=["GET"]),
    Route("/v1/placements/{key}/stats", stats.placement_stats, methods=["GET"]),
    Route("/v1/placements/{key}/stats.csv", stats.placement_stats_csv, methods=["GET"]),
    Route(
        "/v1/placements/{key}/attribution",
        attribution.placement_attribution,
        methods=["GET"],
    ),
    Route("/v1/placements/{key}/evaluate", evaluate.evaluate, methods=["POST"]),
    Route("/v1/placements/{key}/preview", preview.preview, methods=["POST"]),
    Route("/v1/placements/{key}/state", state.export_state, methods=["GET"]),
    Route("/v1/placements/{key}/state", state.import_state, methods=["PUT"]),
    Route("/v1/placements/{key}/decisions.ndjson", export.export_decisions, methods=["GET"]),
    Route("/v1/experiments/{key}/stop", config.stop_experiment, methods=["POST"]),
    Route("/v1/experiments/{key}/rollout", config.rollout_experiment, methods=["POST"]),
    Route("/v1/experiments/{key}/results", results.results, methods=["GET"]),
    Route("/v1/experiments/{key}/results.csv", results.results_csv, methods=["GET"]),
    Route("/v1/experiments/{key}/check", results.check_now, methods=["POST"]),
    Route("/v1/experiments/{key}/log", results.action_log, methods=["GET"]),
    Route("/v1/experiments/{key}/exposures.ndjson", export.export_exposures, methods=["GET"]),
    Route("/v1/export/events", export.export_events, methods=["GET"]),
    Route("/reports/", reports.overview, methods=["GET"]),
    Route("/reports/placements/{key}", reports.placement_report, methods=["GET"]),
    Route("/reports/experiments/{key}", reports.experiment_report, methods=["GET"]),
    Route("/healthz", ops.healthz, methods=["GET"]),
    Route("/readyz", ops.readyz, methods=["GET"]),
    Route("/metrics", ops.metrics_endpoint, methods=["GET"]),
    Route("/v1/audit", audit.list_audit, methods=["GET"]),
    Route("/openapi.json", ops.openapi, methods=["GET"]),
    Route("/docs", browser.docs, methods=["GET"]),
    Route("/static/decide.js", browser.snippet, methods=["GET"]),
]


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
    return json_response(
        {"error": {"code": code, "message": str(error.detail), "details": []}},
        error.status_code,
        dict(error.headers or {}),
    )


async def _unexpected(request: Request, error: Exception) -> Response:
    request_id = request_id_of(request.scope)
    route = route_of(request.scope)  # the template: a raw path may hold a contact id
    log.exception(
        "unhandled error on %s %s request_id=%s", request.method, route, request_id,
        extra={"fields": {"method": request.method, "route": route, "request_id": request_id}},
    )  # fmt: skip
    return json_response(
        {"error": {"code": "internal", "message": "internal error; it was logged", "details": []}},
        500,
        {"X-Request-Id": request_id} if request_id else None,
    )


def _settle_heap() -> None:
    """Everything built at startup (modules, config snapshot, compiled templates) lives as
    long as the worker: freezing it keeps the collector from re-scanning ~100k objects in
    every full collection — 36 ms pauses every ~2,000 decisions, the p99 of a busy worker.
    A larger young generation makes the per-request garbage cheaper to collect (measured
    with loadtest/app_cpu.py: GC 29 -> 3.3 µs a decision). Config snapshots built later are
    collected as usual."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


def create_app(
    settings: Settings | None = None,
    redis_url: str | None = None,
    clock: Callable[[], float] | None = None,
    *,
    settle_heap: bool = False,
) -> Starlette:
    """`settle_heap`: tune the garbage collector for a long-lived worker process (not for tests,
    which build many apps in one process: frozen objects are never collected)."""
    settings = settings or Settings.from_env()
    url = redis_url or settings.redis_url
    if url is None:
        raise RuntimeError("create_app needs a Redis URL (decide serve starts the embedded server)")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        runtime = Runtime(settings, url, clock) if clock else Runtime(settings, url)
        app.state.runtime = runtime
        await runtime.start()
        if settle_heap:
            _settle_heap()
        checks = asyncio.create_task(auto_winner.run_forever(runtime, settings.winner_tick_s))
        try:
            yield
        finally:
            checks.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await checks
            try:  # never hold a shutdown hostage to a store that stopped answering
                await asyncio.wait_for(runtime.stop(), timeout=10)
            except TimeoutError:
                log.warning("the store connection did not close within 10 s")
            metrics.worker_exited()

    return Starlette(
        routes=ROUTES,
        lifespan=lifespan,
        # Outermost first: every request is logged and counted (429s and preflights too),
        # CORS headers reach a browser even on a 429, and a refused request reads no body.
        middleware=[
            Middleware(RequestLog),
            Middleware(PublicCors, origins=settings.api_keys.public_origins),
            Middleware(RateLimitMiddleware, api_keys=settings.api_keys),
        ],
        exception_handlers={
            ApiError: api_error_handler,
            RedisError: store_error_handler,
            OSError: store_error_handler,  # a socket error redis-py did not wrap
            HTTPException: _http_error,
            Exception: _unexpected,
        },
    )


def app_from_env() -> Starlette:
    """Factory for `uvicorn --factory decide.app:app_from_env` (each worker calls it)."""
    settings = Settings.from_env()
    configure_logging(settings.log_format, settings.access_log)
    return create_app(settings, settle_heap=True)
