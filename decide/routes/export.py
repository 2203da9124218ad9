"""Raw data out as NDJSON, for warehouses: counters cannot be re-sliced later, rows can."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
from redis.exceptions import ResponseError
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from decide.errors import Problem, invalid
from decide.routes.config import live_placement
from decide.routes.results import experiment_of
from decide.runtime import Runtime
from decide.store import keys

NDJSON = "application/x-ndjson"
MAX_LIMIT = 100_000


def _page(request: Request) -> tuple[str, int]:
    after = request.query_params.get("after", "-")
    raw_limit = request.query_params.get("limit", "10000")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIMIT:
        raise invalid([Problem("limit", f"must be a whole number from 1 to {MAX_LIMIT}")])
    return ("(" + after if after != "-" else "-"), int(raw_limit)


async def _stream(rt: Runtime, key: str, start: str, limit: int) -> tuple[list[Any], str | None]:
    try:
        entries = await rt.client.xrange(key, min=start, max="+", count=limit)
    except ResponseError as error:
        if "Invalid stream ID" in str(error):
            raise invalid([Problem("after", "must be a stream id from X-Next-After")]) from None
        raise
    last = entries[-1][0].decode() if len(entries) == limit else None
    return entries, last


def _ndjson(rows: list[bytes], next_after: str | None) -> Response:
    headers = {"X-Next-After": next_after} if next_after else {}
    return Response(b"".join(row + b"\n" for row in rows), media_type=NDJSON, headers=headers)


async def export_events(request: Request) -> Response:
    """GET /v1/export/events?after=<id>&limit=N: one event per line, oldest first; page on
    with the X-Next-After header. Consumers dedup on event_id (retries are logged too).
    Events are stored a request at a time, so a page ends on a request boundary: it holds at
    least `limit` events when that many remain (a little more if a request straddles it)."""
    rt: Runtime = request.app.state.runtime
    rt.settings.api_keys.require(request, "read")
    start, limit = _page(request)
    rows: list[bytes] = []
    last: str | None = None
    while len(rows) < limit:
        entries, _ = await _stream(rt, keys.EVENT_LOG, start, 100)
        if not entries:
            break
        for entry_id, fields in entries:
            rows.extend(fields[b"e"].splitlines())
            last = entry_id.decode()
            if len(rows) >= limit:
                break
        start = "(" + entries[-1][0].decode()
    return _ndjson(rows, last if len(rows) >= limit else None)


async def export_decisions(request: Request) -> Response:
    """GET /v1/placements/{key}/decisions.ndjson: the bandit decision log."""
    rt: Runtime = request.app.state.runtime
    rt.settings.api_keys.require(request, "read")
    key = live_placement(rt, request).key
    start, limit = _page(request)
    entries, last = await _stream(rt, keys.decision_log(key), start, limit)
    rows = [orjson.dumps(_decision_row(fields)) for _, fields in entries]
    return _ndjson(rows, last)


def _decision_row(fields: dict[bytes, bytes]) -> dict[str, Any]:
    text = {k.decode(): v.decode() for k, v in fields.items()}
    return {
        "nonce": text["d"], "contact_id": text["c"], "arm": text["a"],
        "propensity": float(text["p"]), "segment": text["s"], "policy_version": int(text["v"]),
        "issued_at": int(text["t"]), "reward_window_s": int(text["w"]),
        "context": orjson.loads(text["ctx"]),
        # entries written before these fields existed have neither
        "channel": text.get("ch"), "send_slot": _slot(text.get("sl")),
    }  # fmt: skip


def _slot(raw: str | None) -> int | None:
    return None if raw is None or int(raw) < 0 else int(raw)


async def export_exposures(request: Request) -> StreamingResponse:
    """GET /v1/experiments/{key}/exposures.ndjson: who saw which variation when (this phase)."""
    rt, experiment = experiment_of(request, "read")
    phase = experiment.spec.phase

    async def rows() -> AsyncIterator[bytes]:
        key = keys.experiment_assignments(experiment.key, phase)
        async for contact, held in rt.client.hscan_iter(key, count=1000):
            variation, _, at = held.decode().partition("|")
            yield orjson.dumps({"experiment": experiment.key, "phase": phase,
                                "contact_id": contact.decode(), "variation": variation,
                                "exposed_at": float(at)}) + b"\n"  # fmt: skip

    return StreamingResponse(rows(), media_type=NDJSON)
