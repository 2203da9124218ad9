"""JSON responses with orjson, and the one place errors become the envelope."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from decide.errors import ApiError, unavailable


def json_response(
    content: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(orjson.dumps(content), status, headers, media_type="application/json")


async def api_error_handler(request: Request, error: Exception) -> Response:
    assert isinstance(error, ApiError)
    return json_response(error.body(), error.status, error.headers)


async def store_error_handler(request: Request, error: Exception) -> Response:
    """Any request the store could not serve: 503 with Retry-After, in the one envelope.
    (Decisions and readiness handle the store's absence themselves, before this.)"""
    return await api_error_handler(request, unavailable())
