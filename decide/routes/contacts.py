"""Contact profiles: PUT (replace), PATCH (merge), GET (profile and behaviour), DELETE
(erasure), and POST …/merge (fold an anonymous visitor into a known contact)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from starlette.requests import Request
from starlette.responses import Response

from decide.bodies import read_json
from decide.config.checks import Checks
from decide.contacts import consent_given, flatten, unflatten, validate_attributes
from decide.decisions import contact_id_of
from decide.errors import invalid, not_found
from decide.responses import json_response
from decide.runtime import Runtime
from decide.store import contact_store, keys
from personalization.behaviour import behaviour_view
from personalization.send_time import slot_label
from personalization.slot_estimates import decode_histogram


def _contact(request: Request, scope: str) -> tuple[Runtime, str]:
    rt: Runtime = request.app.state.runtime
    rt.settings.api_keys.require(request, scope)
    c = Checks()
    contact_id = contact_id_of(c, {"id": request.path_params["id"]}, "id")
    if contact_id is None:
        raise invalid(c.problems)
    return rt, contact_id


async def _attributes(request: Request, rt: Runtime, patch: bool) -> dict[str, Any]:
    body = await read_json(request, rt.settings.body_limit)
    c = Checks()
    doc = c.mapping(body, "body")
    if doc is not None:
        c.unknown_fields(doc, {"attributes"})
        attributes = c.mapping(doc.get("attributes", {}), "attributes")
        if attributes is not None:
            c.problems += validate_attributes(attributes, "attributes", patch=patch)
    if not c.ok() or doc is None:
        raise invalid(c.problems, "contact")
    return dict(doc.get("attributes", {}))


async def put_contact(request: Request) -> Response:
    rt, contact_id = _contact(request, "admin")
    attributes = await _attributes(request, rt, patch=False)
    return await _write(rt, contact_id, "replace", attributes)


async def patch_contact(request: Request) -> Response:
    rt, contact_id = _contact(request, "admin")
    attributes = await _attributes(request, rt, patch=True)
    return await _write(rt, contact_id, "patch", attributes)


async def _write(rt: Runtime, contact_id: str, mode: str, attributes: dict[str, Any]) -> Response:
    sets, deletes = flatten(attributes)
    stored = await contact_store.write_profile(
        rt.client, rt.scripts, contact_id, mode, sets, deletes, consent_given(attributes)
    )
    return json_response({"contact_id": contact_id, "fields": len(stored),
                          "attributes": unflatten(stored)})  # fmt: skip


async def get_contact(request: Request) -> Response:
    rt, contact_id = _contact(request, "read")
    now = rt.clock()
    raw = await contact_store.read_everything(rt.client, contact_id, now)
    if not (raw["profile"] or raw["slots"] is not None or raw["sends"] or raw["shown"]):
        raise not_found("contact", contact_id)
    scoring = rt.snapshot.workspace.scoring
    return json_response(
        {
            "contact_id": contact_id,
            "attributes": unflatten(raw["profile"]),
            "behaviour": behaviour_view(raw["behaviour"], now=now, scoring=scoring),
            "send_time": _send_time_summary(raw["slots"]),
            "sends": [{"channel": s.channel, "at": s.at} for s in raw["sends"]],
        }
    )


def _send_time_summary(raw: bytes | None) -> dict[str, Any]:
    """Where this contact's sends went and what they got, by local hour of week."""
    histogram = decode_histogram(raw)
    sends, engaged = histogram.sends, histogram.engaged
    slots = [
        {"slot": int(i), "label": slot_label(int(i)), "sends": int(sends[i]),
         "engaged": int(engaged[i])}
        for i in np.flatnonzero(sends)
    ]  # fmt: skip
    return {"sends": int(sends.sum()), "engaged": int(engaged.sum()), "slots": slots}


async def delete_contact(request: Request) -> Response:
    rt, contact_id = _contact(request, "admin")
    erased = await contact_store.erase(rt.client, contact_id)
    await rt.client.xadd(
        keys.AUDIT_LOG,
        {"action": "erase_contact", "contact": contact_store.contact_hash(contact_id),
         "at": f"{time.time():.3f}", "by": rt.settings.api_keys.who(request)},
        maxlen=100_000, approximate=True,
    )  # fmt: skip
    return json_response({"contact_id": contact_id, "erased": erased})


async def merge_contact(request: Request) -> Response:
    rt, contact_id = _contact(request, "admin")
    body = await read_json(request, rt.settings.body_limit)
    c = Checks()
    doc = c.mapping(body, "body")
    source = contact_id_of(c, doc, "from") if doc is not None else None
    if doc is not None:
        c.unknown_fields(doc, {"from"})
    if source is not None and source == contact_id:
        c.fail("from", "must name another contact than the one merged into")
    if not c.ok() or source is None:
        raise invalid(c.problems)
    scoring = rt.snapshot.workspace.scoring
    half_life = min(scoring.half_life_s, 1e18) if scoring else 30 * 86_400.0
    result = await contact_store.merge(
        rt.client, contact_id, source, rt.settings.dedup_window_s, half_life
    )
    return json_response(result)
