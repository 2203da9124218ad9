"""GET /v1/audit: who changed what and when — configuration, learned state, erasures."""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from decide.errors import Problem, invalid
from decide.responses import json_response
from decide.runtime import Runtime
from decide.store import keys

MAX_LIMIT = 1000
_NUMBERS = ("at", "version_before", "version_after")


def audit_entry(action: str, kind: str, key: str, by: str, version: int) -> dict[str, Any]:
    """An entry for a change the config scripts do not write themselves (same fields)."""
    return {"action": action, "kind": kind, "key": key, "by": by, "at": f"{time.time():.3f}",
            "version_before": version, "version_after": version}  # fmt: skip


async def list_audit(request: Request) -> Response:
    rt: Runtime = request.app.state.runtime
    rt.settings.api_keys.require(request, "admin")
    raw = request.query_params.get("limit", "100")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise invalid([Problem("limit", f"must be a whole number from 1 to {MAX_LIMIT}")])
    entries = await rt.client.xrevrange(keys.AUDIT_LOG, count=int(raw))
    return json_response({"entries": [_shown(i, f) for i, f in entries]})


def _shown(entry_id: bytes, fields: dict[bytes, bytes]) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": entry_id.decode()}
    for name, value in fields.items():
        text = value.decode()
        entry[name.decode()] = float(text) if name.decode() in _NUMBERS else text
    for version in ("version_before", "version_after"):
        if version in entry:
            entry[version] = int(entry[version])
    return entry
