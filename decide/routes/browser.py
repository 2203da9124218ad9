"""What decide serves to browsers besides the API: the /docs page and /static/decide.js."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from decide.docs_html import docs_page
from decide.openapi import openapi_document

SNIPPET = Path(__file__).resolve().parent.parent / "static" / "decide.js"
# An hour: a fixed snippet reaches every page within the hour; the ETag makes revalidation cheap.
STATIC_CACHE = "public, max-age=3600"


@cache
def _snippet() -> tuple[bytes, str]:
    body = SNIPPET.read_bytes()
    return body, '"' + hashlib.sha256(body).hexdigest()[:16] + '"'


async def snippet(request: Request) -> Response:
    body, etag = _snippet()
    headers = {"Cache-Control": STATIC_CACHE, "ETag": etag}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="text/javascript; charset=utf-8", headers=headers)


async def docs(request: Request) -> Response:
    return HTMLResponse(docs_page(openapi_document(), str(request.base_url)))
