"""The baseline every benchmark ratio is measured against: a bare Starlette app that parses a
JSON body with orjson and returns it (`uvicorn --factory loadtest.baseline:create_app`)."""

from __future__ import annotations

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


async def echo(request: Request) -> Response:
    return Response(orjson.dumps(orjson.loads(await request.body())), media_type="application/json")


def create_app() -> Starlette:
    return Starlette(routes=[Route("/v1/decide", echo, methods=["POST"])])
