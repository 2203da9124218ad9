"""POST /v1/placements/{key}/preview: every message on every channel, rendered for a sample
contact — what a reviewer checks before a campaign goes out. Nothing is stored or counted."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from decide import decisions
from decide.bodies import read_json
from decide.config.checks import Checks
from decide.contacts import STANDARD, validate_attributes
from decide.errors import invalid
from decide.responses import json_response
from decide.routes.config import live_placement
from decide.runtime import Runtime
from personalization.behaviour import behaviour_view, parse_behaviour
from personalization.templates import RenderError


async def preview(request: Request) -> Response:
    rt: Runtime = request.app.state.runtime
    rt.settings.api_keys.require(request, "read")
    placement = live_placement(rt, request)
    key = placement.key
    body = await read_json(request, rt.settings.body_limit)
    c = Checks()
    doc = c.mapping(body, "body") or {}
    c.unknown_fields(doc, {"attributes", "context", "behaviour"})
    attributes = c.mapping(doc.get("attributes", {}), "attributes") or {}
    context = c.mapping(doc.get("context", {}), "context") or {}
    stored = c.mapping(doc.get("behaviour", {}), "behaviour") or {}
    standard = {k: v for k, v in attributes.items() if k in STANDARD}
    c.problems += validate_attributes(standard, "attributes")
    for name in sorted(placement.context_fields - set(context)):
        c.fail(f"context.{name}", "is required by this placement")
    if not c.ok():
        raise invalid(c.problems)
    view = behaviour_view(
        parse_behaviour({str(k): str(v) for k, v in stored.items()}), now=rt.clock()
    )
    data = decisions.template_data("preview", attributes, view, context)
    locale = attributes.get("locale") if isinstance(attributes.get("locale"), str) else None
    rendered = []
    for message in placement.messages.values():
        channels = [ch for ch in placement.channels if ch in message.channels]
        try:
            rendered.append(decisions.render(message, channels, locale, data))
        except RenderError as error:
            rendered.append({"key": message.key, "error": {"field": error.path,
                                                           "reason": error.message}})  # fmt: skip
    return json_response({"placement": key, "messages": rendered})
