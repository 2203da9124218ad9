"""GET /v1/placements/{key}/attribution: conversions and revenue credited to the messages and
channels exposed before them, by last touch and linear multi-touch."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from decide.contact_effects import CONVERSIONS
from decide.responses import json_response
from decide.routes.config import live_placement
from decide.runtime import Runtime
from decide.store import keys
from personalization.attribution import MODELS


def attribution_table(raw: dict[bytes, bytes]) -> dict[str, list[dict[str, Any]]]:
    """`<model>|<message>|<channel>|conversions|revenue:<CUR>` fields as rows per model,
    most credited first."""
    rows: dict[tuple[str, str, str], dict[str, Any]] = {}
    for raw_field, raw_value in raw.items():
        parts = raw_field.decode().split("|")
        if len(parts) != 4 or parts[0] not in MODELS:
            continue
        model, message, channel, measure = parts
        row = rows.setdefault((model, message, channel),
                              {"message": message, "channel": channel, "conversions": 0.0,
                               "revenue": {}})  # fmt: skip
        if measure == "conversions":
            row["conversions"] = round(float(raw_value), 6)
        elif measure.startswith("revenue:"):
            row["revenue"][measure[8:]] = round(float(raw_value), 6)
    return {
        model: sorted((r for (m, _, _), r in rows.items() if m == model),
                      key=lambda r: (-r["conversions"], r["message"], r["channel"]))
        for model in MODELS
    }  # fmt: skip


async def placement_attribution(request: Request) -> Response:
    rt: Runtime = request.app.state.runtime
    rt.settings.api_keys.require(request, "read")
    key = live_placement(rt, request).key
    raw = await rt.client.hgetall(keys.attribution(key))
    return json_response({
        "placement": key,
        "window_days": rt.settings.attribution_window_s / 86_400,
        "conversion_events": list(CONVERSIONS),
        "models": attribution_table(raw),
    })  # fmt: skip
