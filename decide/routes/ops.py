"""Operator endpoints: liveness, readiness, Prometheus metrics, the OpenAPI document."""

from __future__ import annotations

import asyncio
import time

from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import Response

from decide import metrics
from decide.openapi import openapi_document
from decide.responses import json_response
from decide.runtime import Runtime

PING_BUDGET_S = 1.0  # a probe's usual timeout: a store slower than this is not ready


async def healthz(request: Request) -> Response:
    return json_response({"status": "ok"})


async def readyz(request: Request) -> Response:
    """Ready = the store answers and a configuration snapshot is loaded.

    A snapshot that could not be refreshed (a stored document that does not compile) is
    reported, not failed on: every worker reads the same store, so failing readiness would
    take them all out of the load balancer at once, turning a bad document into an outage,
    while the last good snapshot still serves correct, if older, decisions."""
    rt: Runtime = request.app.state.runtime
    try:
        async with asyncio.timeout(min(PING_BUDGET_S, rt.settings.redis_op_timeout_s)):
            store = bool(await rt.client.ping())
    except (RedisError, OSError, TimeoutError):
        store = False
    if store and not rt.snapshot.loaded:
        await rt.refresh()
    checks = {"store": store, "config_loaded": rt.snapshot.loaded}
    ready = all(checks.values())
    age = None if rt.refreshed_at is None else round(time.monotonic() - rt.refreshed_at, 3)
    body = {
        "status": "ready" if ready else "not_ready",
        "checks": checks,
        "config_version": rt.snapshot.version,
        "config_fresh": rt.refresh_error is None,  # reported, not a check: see the docstring
        "snapshot_age_s": age,  # since the snapshot was last known to be current
        "last_refresh_error": rt.refresh_error,
    }
    return json_response(body, 200 if ready else 503, None if ready else {"Retry-After": "1"})


async def openapi(request: Request) -> Response:
    return json_response(openapi_document())


async def metrics_endpoint(request: Request) -> Response:
    """Prometheus text format; no key needed, like /healthz (no label names a contact)."""
    body, content_type = metrics.exposition()
    return Response(body, media_type=content_type)
