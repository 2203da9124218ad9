"""Operator endpoints: liveness, readiness, Prometheus metrics, the OpenAPI document."""

from __future__ import annotations

from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import Response

from decide import metrics
from decide.openapi import openapi_document
from decide.responses import json_response
from decide.runtime import Runtime


async def healthz(request: Request) -> Response:
    return json_response({"status": "ok"})


async def readyz(request: Request) -> Response:
    """Ready = the store answers and a configuration snapshot is loaded."""
    rt: Runtime = request.app.state.runtime
    try:
        store = bool(await rt.client.ping())
    except (RedisError, OSError):
        store = False
    if store and not rt.snapshot.loaded:
        await rt.refresh()
    checks = {"store": store, "config_loaded": rt.snapshot.loaded}
    ready = all(checks.values())
    body = {
        "status": "ready" if ready else "not_ready",
        "checks": checks,
        "config_version": rt.snapshot.version,
    }
    return json_response(body, 200 if ready else 503, None if ready else {"Retry-After": "1"})


async def openapi(request: Request) -> Response:
    return json_response(openapi_document())


async def metrics_endpoint(request: Request) -> Response:
    """Prometheus text format; no key needed, like /healthz (no label names a contact)."""
    body, content_type = metrics.exposition()
    return Response(body, media_type=content_type)
