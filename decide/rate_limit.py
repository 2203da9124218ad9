"""Per-key rate limits: a token bucket in Redis, one Lua script call per limited request.

Only keys configured with a limit (`secret:scopes@200/s` in DECIDE_API_KEYS) pay for it; the
others cost a dict lookup. A store that does not answer lets the request through: a Redis
outage must degrade decisions as before, never turn into 429s.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from decide.auth import ApiKeys, presented_key
from decide.errors import ApiError
from decide.key_limits import RateLimit
from decide.request_log import note_route
from decide.responses import json_response
from decide.store import keys
from decide.store.scripts import Batch

if TYPE_CHECKING:
    from decide.runtime import Runtime

log = logging.getLogger("decide")


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after_s: int = 0  # whole seconds, >= 1 when refused (HTTP Retry-After)


async def take(rt: Runtime, bucket_id: str, limit: RateLimit) -> Verdict:
    """One token from the key's bucket, at the service's (injectable) clock."""
    batch = Batch(rt.scripts)
    batch.script(
        "rate_limit", [keys.rate_bucket(bucket_id)], [repr(rt.clock()), limit.rate, limit.capacity]
    )
    try:
        (result,) = await batch.execute(rt.pipeliner)
        if isinstance(result, Exception):
            raise result
    except (RedisError, OSError) as error:
        log.warning("rate limit not checked, request let through: %s", error)
        return Verdict(True)
    allowed, wait = result
    if int(allowed):
        return Verdict(True)
    return Verdict(False, max(1, math.ceil(float(wait))))


def rate_limited(retry_after_s: int) -> ApiError:
    return ApiError(
        429,
        "rate_limited",
        f"this API key is over its rate limit; retry in {retry_after_s} s",
        headers={"Retry-After": str(retry_after_s)},
    )


async def check_body_key(rt: Runtime, request: Request, body_key: object) -> None:
    """A key sent in the body (navigator.sendBeacon) is limited here, after authentication;
    a key in the headers was already limited by the middleware."""
    if not isinstance(body_key, str) or presented_key(request) is not None:
        return
    limited = rt.settings.api_keys.limit_of(body_key)
    if limited is not None:
        verdict = await take(rt, *limited)
        if not verdict.allowed:
            raise rate_limited(verdict.retry_after_s)


class RateLimitMiddleware:
    """Pure ASGI, before routing: a refused request costs no body read and no handler."""

    def __init__(self, app: ASGIApp, api_keys: ApiKeys) -> None:
        self.app = app
        self.api_keys = api_keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.api_keys.limits:
            await self.app(scope, receive, send)
            return
        presented = presented_key(Request(scope))
        limited = self.api_keys.limit_of(presented) if presented else None
        if limited is not None:
            verdict = await take(scope["app"].state.runtime, *limited)
            if not verdict.allowed:
                note_route(scope)
                error = rate_limited(verdict.retry_after_s)
                response = json_response(error.body(), error.status, error.headers)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
