"""CORS for browsers that call /v1/decide and /v1/events directly with a public key.

Only the origins in DECIDE_PUBLIC_ORIGINS, only those two paths, only POST: a preflight from
an allowed origin is answered here; any other origin gets no CORS header at all (its browser
then refuses to read the answer). No origins configured: no CORS (same-origin pages and
sendBeacon, which needs no preflight, still work).
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from decide.request_log import note_route
from decide.responses import json_response

PUBLIC_PATHS = frozenset({"/v1/decide", "/v1/events"})
ALLOW_HEADERS = "content-type, authorization, x-api-key, x-request-id"
EXPOSE_HEADERS = "x-request-id, retry-after"
MAX_AGE_S = "600"


class PublicCors:
    def __init__(self, app: ASGIApp, origins: frozenset[str]) -> None:
        self.app = app
        self.origins = origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.origins or scope["path"] not in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        allowed = origin is not None and origin in self.origins
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            note_route(scope)
            await _preflight(origin if allowed else None, headers)(scope, receive, send)
            return
        if not allowed:
            await self.app(scope, receive, send)
            return
        assert origin is not None
        extra = [
            (b"access-control-allow-origin", origin.encode()),
            (b"access-control-expose-headers", EXPOSE_HEADERS.encode()),
            (b"vary", b"Origin"),
        ]

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        await self.app(scope, receive, send_with_cors)


def _preflight(origin: str | None, headers: Headers) -> Response:
    if origin is None or headers["access-control-request-method"].upper() != "POST":
        message = "this origin or method may not call this path from a browser"
        error = {"code": "cors_refused", "message": message, "details": []}
        return json_response({"error": error}, 403, {"Vary": "Origin"})
    return Response(
        status_code=204,
        headers={
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": "POST",
            "Access-Control-Allow-Headers": ALLOW_HEADERS,
            "Access-Control-Max-Age": MAX_AGE_S,
            "Vary": "Origin",
        },
    )
