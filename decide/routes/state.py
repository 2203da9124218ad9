"""Save and restore a placement's learned state: `decide state export|import` (JSON)."""

from __future__ import annotations

import math
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from decide.bodies import read_json
from decide.errors import Problem, invalid
from decide.responses import json_response
from decide.routes.audit import audit_entry
from decide.routes.config import live_placement
from decide.runtime import Runtime
from decide.store import keys
from decide.store.outcomes import arm_stats_keys

FIELDS = ("n", "sum", "sum_sq", "decided")


def _placement(request: Request, scope: str) -> tuple[Runtime, str]:
    rt: Runtime = request.app.state.runtime
    rt.settings.api_keys.require(request, scope)
    return rt, live_placement(rt, request).key


async def export_state(request: Request) -> Response:
    rt, key = _placement(request, "read")
    found = await arm_stats_keys(rt.client, key)
    pipe = rt.client.pipeline(transaction=False)
    for counter in found:
        pipe.hgetall(counter.name)
    raw = await pipe.execute()
    segments: dict[str, Any] = {}
    daily: dict[str, Any] = {}
    for counter, counters in zip(found, raw, strict=True):
        arms: dict[str, dict[str, float]] = {}
        for field, value in counters.items():
            arm, _, stat = field.decode().rpartition(":")
            arms.setdefault(arm, {})[stat] = float(value)
        target = segments if counter.day is None else daily.setdefault(str(counter.day), {})
        target[counter.segment] = arms
    return json_response({"placement": key, "exported_at": time.time(), "segments": segments,
                          "daily": daily})  # fmt: skip


async def import_state(request: Request) -> Response:
    """Replace the placement's counters with an export's, atomically (one slot, MULTI), then
    audit it."""
    rt, key = _placement(request, "admin")
    body = await read_json(request, rt.settings.batch_body_limit)
    problems: list[Problem] = []
    writes: dict[str, dict[str, float]] = {}
    doc = body if isinstance(body, dict) else {}
    for segment, arms in _mapping(doc.get("segments", {}), "segments", problems).items():
        writes[keys.arm_stats(key, segment)] = _fields(arms, f"segments.{segment}", problems)
    for day, segments in _mapping(doc.get("daily", {}), "daily", problems).items():
        if not day.isdigit():
            problems.append(Problem(f"daily.{day}", "must be an epoch day number"))
            continue
        for segment, arms in _mapping(segments, f"daily.{day}", problems).items():
            name = keys.arm_stats_daily(key, segment, int(day))
            writes[name] = _fields(arms, f"daily.{day}.{segment}", problems)
    if not writes:
        problems.append(Problem("segments", "nothing to import: send what export gave"))
    if problems:
        raise invalid(problems, "state")
    existing = [counter.name for counter in await arm_stats_keys(rt.client, key)]
    registry = keys.arm_stats_registry(key)
    pipe = rt.client.pipeline(transaction=True)
    pipe.delete(registry, *existing)
    for name, fields in writes.items():
        if fields:
            pipe.hset(name, mapping=fields)
            pipe.sadd(registry, name)
    await pipe.execute()
    # The audit entry is a second write: on Redis Cluster one MULTI cannot span `{p:…}` and
    # `{cfg}`. Should it fail, the 503 asks for a retry, and importing the same export again
    # sets the same counters, so the retry writes the entry and changes nothing else.
    await rt.client.xadd(keys.AUDIT_LOG, audit_entry("import_state", "placements", key,
                         rt.settings.api_keys.who(request), rt.snapshot.version),
                         maxlen=keys.AUDIT_LOG_MAX, approximate=True)  # fmt: skip
    rt.weights.clear()
    return json_response({"placement": key, "imported": len(writes)})


def _mapping(value: Any, path: str, problems: list[Problem]) -> dict[str, Any]:
    if not isinstance(value, dict):
        problems.append(Problem(path, "must be an object"))
        return {}
    return value


def _fields(arms: Any, path: str, problems: list[Problem]) -> dict[str, float]:
    out: dict[str, float] = {}
    for arm, stats in _mapping(arms, path, problems).items():
        for stat, value in _mapping(stats, f"{path}.{arm}", problems).items():
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if stat not in FIELDS or not number or not math.isfinite(value) or value < 0:
                problems.append(Problem(f"{path}.{arm}.{stat}", f"must be one of {FIELDS}, >= 0"))
                continue
            out[f"{arm}:{stat}"] = float(value)
    return out
