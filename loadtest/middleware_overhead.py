"""What the operations middleware costs per request, in-process (no HTTP, no Redis):

    python -m loadtest.middleware_overhead [--requests 100000] [--rounds 20]

The same trivial route is called through raw ASGI with and without decide's middleware
(request id + log line + metrics, CORS, rate-limit check for a key without a limit), with
the access log written as JSON to /dev/null as in production, and with it off. Also times
the per-decision counter (`metrics.count_decisions`) alone. Prints microseconds per call,
the best of interleaved rounds (the machine may be busy with other work).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import time
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from decide import metrics
from decide.auth import parse_api_keys
from decide.cors import PublicCors
from decide.decisions import Choice
from decide.pending import Pending
from decide.rate_limit import RateLimitMiddleware
from decide.request_log import RequestLog, configure_logging


async def _ok(request: Request) -> Response:
    return Response(b"{}", media_type="application/json")


def _app(observed: bool) -> Starlette:
    keys = parse_api_keys("limited:decide@100/s;plain:decide", "https://shop.example")
    middleware = [
        Middleware(RequestLog),
        Middleware(PublicCors, origins=keys.public_origins),
        Middleware(RateLimitMiddleware, api_keys=keys),
    ]
    return Starlette(
        routes=[Route("/v1/things/{key}", _ok, methods=["GET"])],
        middleware=middleware if observed else [],
    )


async def _per_call_us(app: Starlette, n: int) -> float:
    scope: dict[str, Any] = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": "/v1/things/x1", "raw_path": b"/v1/things/x1",
        "query_string": b"", "root_path": "", "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 8080),
        "headers": [(b"host", b"127.0.0.1"), (b"authorization", b"Bearer plain")],
    }  # fmt: skip

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        return None

    started = time.perf_counter()
    for _ in range(n):
        await app(dict(scope, state={}), receive, send)
    return (time.perf_counter() - started) / n * 1e6


def _count_decisions_us(n: int) -> float:
    class _Message:
        key = "hello"

    p = Pending.__new__(Pending)
    p.error, p.state, p.recorded = None, object(), True  # type: ignore[assignment]
    p.choice = Choice(_Message(), None, "rule", 1.0)  # type: ignore[arg-type]
    pending = [p]
    started = time.perf_counter()
    for _ in range(n):
        metrics.count_decisions("hero", pending)
    return (time.perf_counter() - started) / n * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args(argv)
    configure_logging("json")  # as a worker does, writing to /dev/null instead of stderr
    (handler,) = logging.getLogger("decide").handlers
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(open(os.devnull, "w"))  # noqa: SIM115 - for the whole run
    access = logging.getLogger("decide.access")

    bare_app, observed_app = _app(False), _app(True)
    bare = observed = quiet = float("inf")
    for _ in range(args.rounds):  # interleaved, best of each: other load on the machine
        chunk = args.requests // args.rounds
        bare = min(bare, asyncio.run(_per_call_us(bare_app, chunk)))
        access.setLevel(logging.INFO)
        observed = min(observed, asyncio.run(_per_call_us(observed_app, chunk)))
        access.setLevel(logging.WARNING)
        quiet = min(quiet, asyncio.run(_per_call_us(observed_app, chunk)))
    print(f"bare route:                          {bare:6.1f} µs/request")
    print(f"with middleware, JSON access log:    {observed:6.1f} µs/request "
          f"(+{observed - bare:.1f})")  # fmt: skip
    print(f"with middleware, access log off:     {quiet:6.1f} µs/request (+{quiet - bare:.1f})")
    print(f"metrics.count_decisions, 1 decision: {_count_decisions_us(args.requests):6.2f} µs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
