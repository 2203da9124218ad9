"""POST /v1/decide (one contact) and POST /v1/decide/batch (up to 10,000 of them)."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import orjson
from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from decide import decisions
from decide.auth import Caller, contact_token_valid
from decide.bodies import parse_json, read_body, read_json
from decide.config.checks import Checks
from decide.contacts import merged_attributes
from decide.errors import ApiError, Problem, invalid, not_found
from decide.rate_limit import check_body_key
from decide.responses import json_response
from decide.runtime import Runtime
from decide.serving import serve
from decide.store import keys
from decide.turns import each

CHUNK = 1000  # contacts per gather/write round trip in a batch
BATCH_FIELDS = {"placement", "contacts", "context", "channels", "attributes", "request_id"}
CONTACT_FIELDS = {"contact_id", "attributes", "context", "channels"}
NDJSON = "application/x-ndjson"
SERVER = Caller()  # a caller with a server-side key (or none configured)


async def decide(request: Request) -> Response:
    rt: Runtime = request.app.state.runtime
    body = await read_json(request, rt.settings.body_limit)
    caller = rt.settings.api_keys.require(request, "decide", _field(body, "api_key"))
    await check_body_key(rt, request, _field(body, "api_key"))
    return json_response(await decide_one(rt, body, caller))


def _field(body: Any, name: str) -> Any:
    return body.get(name) if isinstance(body, dict) else None


async def decide_one(rt: Runtime, body: Any, caller: Caller = SERVER) -> dict[str, Any]:
    req = decisions.parse_decide_request(body, _now(rt))
    if caller.public:
        placement = rt.snapshot.placements.get(req.placement)
        if placement is not None and not placement.web_only:
            raise ApiError(403, "forbidden", "a public key may only decide web placements")
        token = _field(body, "contact_token")
        trusted = contact_token_valid(rt.settings.contact_token_secret, req.contact_id, token)
        req = replace(req, stored_profile=trusted)
    (result,) = await serve(
        rt, req.placement, [req], rt.settings.redis_timeout_s, confirm_writes=False
    )
    if isinstance(result, ApiError):
        raise result
    return result


async def decide_batch(request: Request) -> Response:
    rt: Runtime = request.app.state.runtime
    if rt.settings.api_keys.require(request, "decide").public:
        raise ApiError(403, "forbidden", "a public key may not decide in batches")
    raw = await read_body(request, rt.settings.batch_body_limit)
    body = parse_json(raw)
    batch = _parse_batch(rt, body)
    if batch["placement"] not in rt.snapshot.placements:
        raise not_found("placement", batch["placement"])
    replay = await _Replay.open(rt, batch["request_id"], raw) if batch["request_id"] else None
    lines = _decisions(rt, batch, replay)
    if NDJSON in request.headers.get("accept", ""):
        return StreamingResponse(
            (orjson.dumps(item) + b"\n" async for item in lines), media_type=NDJSON
        )
    items = [item async for item in lines]
    return json_response({"placement": batch["placement"], "count": len(items), "decisions": items})


def _now(rt: Runtime) -> datetime:
    return datetime.fromtimestamp(rt.clock(), UTC)


def _parse_batch(rt: Runtime, body: Any) -> dict[str, Any]:
    c = Checks()
    doc = c.mapping(body, "body")
    if doc is None:
        raise invalid(c.problems)
    c.unknown_fields(doc, BATCH_FIELDS)
    placement = c.key(doc, "placement", "")
    request_id = c.string(doc, "request_id", "", default=None, max_len=200)
    contacts = doc.get("contacts")
    if not isinstance(contacts, list) or not contacts:
        c.fail("contacts", "must be a non-empty list of {contact_id, attributes, context}")
    elif len(contacts) > rt.settings.max_batch:
        most = f"at most {rt.settings.max_batch} contacts"
        raise ApiError(413, "too_many_contacts", most, [Problem("contacts", most)])
    for name in ("context", "attributes"):
        if name in doc:
            c.mapping(doc[name], name)
    if not c.ok():
        raise invalid(c.problems)
    return {
        "placement": placement,
        "request_id": request_id,
        "contacts": contacts,
        "context": doc.get("context", {}),
        "attributes": doc.get("attributes", {}),
        "channels": doc.get("channels"),
    }


def _contact_request(
    batch: dict[str, Any], item: Any, now: datetime
) -> decisions.DecideRequest | ApiError:
    """One contact of a batch as a single decide request: shared context and attributes,
    overridden by the contact's own (attributes one level deep, as over a stored profile)."""
    if not isinstance(item, dict):
        return invalid([Problem("contact", "must be an object with contact_id")])
    unknown = sorted(set(item) - CONTACT_FIELDS)
    if unknown:
        return invalid([Problem(name, "unknown field") for name in unknown])
    own_context = item.get("context", {})
    own_attributes = item.get("attributes", {})
    body = {
        "contact_id": item.get("contact_id"),
        "placement": batch["placement"],
        # As a request's attributes over the stored profile: one level deep, so a contact that
        # adds one consent flag keeps the batch's others (a refusal above all).
        "attributes": merged_attributes(batch["attributes"], own_attributes)
        if isinstance(own_attributes, dict)
        else own_attributes,
        "context": (batch["context"] | own_context)
        if isinstance(own_context, dict)
        else own_context,
    }
    channels = item.get("channels", batch["channels"])
    if channels is not None:
        body["channels"] = channels
    try:
        return decisions.parse_decide_request(body, now)
    except ApiError as error:
        return error


async def _decisions(
    rt: Runtime, batch: dict[str, Any], replay: _Replay | None
) -> AsyncIterator[dict[str, Any]]:
    contacts = batch["contacts"]
    now = _now(rt)
    for start in range(0, len(contacts), CHUNK):
        chunk = list(enumerate(contacts[start : start + CHUNK], start))
        done = await replay.read([i for i, _ in chunk]) if replay else {}
        todo = [(i, item) for i, item in chunk if i not in done]
        parsed = [(i, _contact_request(batch, item, now)) async for i, item in each(todo)]
        valid = [(i, r) for i, r in parsed if isinstance(r, decisions.DecideRequest)]
        served = await serve(rt, batch["placement"], [r for _, r in valid])
        fresh: dict[int, dict[str, Any]] = {}
        for (i, _), result in zip(valid, served, strict=True):
            fresh[i] = _entry(i, result, contacts[i])
        for i, request in parsed:
            if isinstance(request, ApiError):
                fresh[i] = _entry(i, request, contacts[i])
        if replay:
            await replay.write({i: e for i, e in fresh.items() if "error" not in e})
        for i, _ in chunk:
            yield done.get(i) or fresh[i]


def _entry(index: int, result: dict[str, Any] | ApiError, item: Any) -> dict[str, Any]:
    """A contact's line of the batch; an error names the contact too, when it had an id."""
    if isinstance(result, ApiError):
        contact = item.get("contact_id") if isinstance(item, dict) else None
        return {"index": index, "contact_id": contact, "status": result.status,
                **result.body()}  # fmt: skip
    return {"index": index, **result}


class _Replay:
    """A batch's decisions kept for a while under its request_id: a retried batch (say, after
    a timeout mid-stream) gets the same decisions back, and caps are not reserved twice."""

    def __init__(self, rt: Runtime, key: str) -> None:
        self.rt, self.key = rt, key

    @classmethod
    async def open(cls, rt: Runtime, request_id: str, raw: bytes) -> _Replay:
        replay = cls(rt, keys.batch_replay(request_id))
        digest = hashlib.sha256(raw).hexdigest()[:32]
        stored = await rt.client.hget(replay.key, "digest")
        if stored is not None and stored.decode() != digest:
            raise ApiError(409, "request_id_reused",
                           "request_id was used for a different batch; use a new one")  # fmt: skip
        if stored is None:
            await rt.client.hset(replay.key, "digest", digest)
            await rt.client.expire(replay.key, rt.settings.batch_replay_s)
        return replay

    async def read(self, indices: list[int]) -> dict[int, dict[str, Any]]:
        values = await self.rt.client.hmget(self.key, [str(i) for i in indices])
        return {i: orjson.loads(v) for i, v in zip(indices, values, strict=True) if v is not None}

    async def write(self, entries: dict[int, dict[str, Any]]) -> None:
        if not entries:
            return
        # Served anyway if this fails; a retry of these contacts decides them afresh.
        with contextlib.suppress(RedisError, OSError):
            await self.rt.client.hset(
                self.key, mapping={str(i): orjson.dumps(e) for i, e in entries.items()}
            )
