"""The OpenAPI 3.1 document for every route (kept beside the routes it describes)."""

from __future__ import annotations

from functools import cache
from typing import Any

from decide.config.checks import KEY_PATTERN
from decide.config.placements import CHANNELS
from decide.events import MAX_PROPERTIES, TYPE_PATTERN
from decide.openapi_examples import with_examples

_ERROR = {"$ref": "#/components/schemas/Error"}
_OBJ: dict[str, Any] = {"type": "object"}
# One JSON object a line; the schema describes each line.
_NDJSON = "application/x-ndjson"


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _op(
    summary: str,
    scope: str | None,
    ok: dict[str, Any],
    body: dict[str, Any] | None = None,
    errors: tuple[int, ...] = (401, 403, 422, 503),
    media: str = "application/json",
) -> dict[str, Any]:
    # Every route that reads a body also answers 400 (not JSON) and 413 (too large), and
    # 422 for a document that fails validation; every authorised route can meet a store
    # outage (503). Path-parameter routes add 422 for a malformed key in `_path_errors`.
    statuses = set(errors)
    if body is not None:
        statuses |= {400, 413, 422}
    if scope is not None:
        statuses |= {401, 403, 503}
    op: dict[str, Any] = {
        "summary": summary,
        "responses": {"200": {"description": "OK", "content": {media: {"schema": ok}}}},
    }
    for status in sorted(statuses):
        op["responses"][str(status)] = {"description": "error", **_json(_ERROR)}
    if body is not None:
        op["requestBody"] = {"required": True, **_json(body)}
    if scope is not None:
        op["security"] = [{"bearer": []}]
        op["x-scope"] = scope
    return op


_AUDIT: dict[str, Any] = {
    "type": "object",
    "required": ["entries"],
    "properties": {
        "entries": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "action", "by", "at"],
                "properties": {
                    "id": {"type": "string"},
                    "action": {"enum": ["put", "delete", "stop", "rollout", "import_state",
                                        "erase_contact"]},
                    "kind": {"type": "string"},
                    "key": {"type": "string"},
                    "by": {"type": "string", "description": "key:<digest prefix>, anonymous, "
                           "auto_winner, demo or system"},
                    "at": {"type": "number"},
                    "version_before": {"type": "integer"},
                    "version_after": {"type": "integer"},
                    "contact": {"type": "string", "description": "erasures: hashed contact id"},
                },
            },
        }
    },
}  # fmt: skip


def _text(summary: str, media: str) -> dict[str, Any]:
    ok = {"description": "OK", "content": {media: {"schema": {"type": "string"}}}}
    return {"summary": summary, "responses": {"200": ok}}


_KEY = [
    {
        "name": "key",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"},
    }
]
_ID = [{"name": "id", "in": "path", "required": True,
        "schema": {"type": "string", "minLength": 1, "maxLength": 256}}]  # fmt: skip


def _with_ndjson(op: dict[str, Any]) -> dict[str, Any]:
    """The 200 may also stream one JSON object a line, when the client accepts NDJSON."""
    op["responses"]["200"]["content"][_NDJSON] = {"schema": _OBJ}
    return op


def _creates(op: dict[str, Any]) -> dict[str, Any]:
    """A PUT that stores a new document answers 201 with the same body as the 200 for a replace."""
    op["responses"]["201"] = {**op["responses"]["200"], "description": "Created"}
    return op


def _path_errors(paths: dict[str, Any]) -> dict[str, Any]:
    """A malformed key or id in the path is a 422 naming it, on every route that takes one."""
    for item in paths.values():
        if "parameters" not in item:
            continue
        for name, op in item.items():
            if name != "parameters":
                op["responses"].setdefault("422", {"description": "error", **_json(_ERROR)})
    return paths


_KEY_SCHEMA = {"type": "string", "pattern": KEY_PATTERN.pattern}
# No control characters: ids end up in logs and NDJSON lines.
_CONTACT_ID = {
    "type": "string",
    "minLength": 1,
    "maxLength": 256,
    "pattern": "^[^\\x00-\\x1f\\x7f]+$",
}
_CHANNELS = {"type": "array", "uniqueItems": True, "items": {"enum": list(CHANNELS)}}
_KEY = [{"name": "key", "in": "path", "required": True, "schema": _KEY_SCHEMA}]
_ID = [{"name": "id", "in": "path", "required": True, "schema": _CONTACT_ID}]
_IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
    "description": "store only if the object is still at this version",
}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "details"],
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "details": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "field": {"type": "string"},
                                "reason": {"type": "string"},
                            },
                        },
                    },
                },
            }
        },
    },
    "DecideRequest": {
        "type": "object",
        "required": ["contact_id", "placement"],
        "additionalProperties": False,
        "properties": {
            "contact_id": _CONTACT_ID,
            "placement": _KEY_SCHEMA,
            "attributes": {
                "type": "object",
                "description": "override the stored profile for this "
                "decision: first_name, locale (fa-IR), timezone (Asia/Tehran), consent…",
            },
            "context": {
                "type": "object",
                "description": "the placement's context_fields, and "
                "optionally now (ISO 8601) to decide for another moment",
            },
            "channels": _CHANNELS,
            "api_key": {"type": "string", "description": "a public key, for browsers"},
            "contact_token": {
                "type": "string",
                "description": "hex HMAC-SHA256 of contact_id under DECIDE_CONTACT_TOKEN_SECRET, "
                "from your backend: lets a public key use the stored profile",
            },
        },
    },
    "Decision": {
        "type": "object",
        "required": [
            "decision_id",
            "placement",
            "message",
            "reason",
            "channel",
            "send_at",
            "assignment",
            "degraded",
            "reasons",
        ],
        "properties": {
            "decision_id": {
                "type": ["string", "null"],
                "description": "signed token; send it with events",
            },
            "placement": {"type": "string"},
            "message": {
                "type": ["object", "null"],
                "properties": {
                    "key": {"type": "string"},
                    "locale": {
                        "type": ["string", "null"],
                        "description": "the translation chosen; null when the content of the "
                        "channel is not localised",
                    },
                    "direction": {"enum": ["ltr", "rtl"]},
                    "content": {
                        "type": "object",
                        "description": "channel -> field -> rendered text",
                    },
                },
            },
            "reason": {
                "type": ["string", "null"],
                "description": "why message is null: not_eligible, no_channel, "
                "frequency_cap, goal_reached, no_repeat",
            },
            "channel": {
                "type": ["object", "null"],
                "properties": {
                    "primary": {"enum": list(CHANNELS)},
                    "fallbacks": {"type": "array", "maxItems": 2},
                },
            },
            "send_at": {
                "type": ["object", "null"],
                "properties": {
                    "utc": {"type": "string"},
                    "local": {"type": "string"},
                    "timezone": {"type": "string"},
                },
            },
            "assignment": {
                "type": "object",
                "properties": {
                    "source": {"enum": ["experiment", "bandit", "rule", "holdout", "default"]},
                    "experiment": {"type": "string"},
                    "variation": {"type": "string"},
                    "phase": {"type": "integer"},
                    "policy": {"type": "string"},
                    "propensity": {"type": "number"},
                },
            },
            "degraded": {"type": "boolean"},
            "reasons": {"type": "array", "items": {"type": "string"}},
        },
    },
    "Event": {
        "type": "object",
        "required": ["event_id", "type", "contact_id"],
        "additionalProperties": False,
        "properties": {
            "event_id": {"type": "string", "minLength": 1, "maxLength": 200},
            "type": {"type": "string", "pattern": TYPE_PATTERN.pattern, "maxLength": 64},
            "contact_id": _CONTACT_ID,
            "decision_id": {"type": "string", "minLength": 1, "maxLength": 4096},
            "value": {"type": "number"},
            "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
            "channel": {"enum": list(CHANNELS)},
            "timestamp": {"type": "string", "format": "date-time"},
            "properties": {"type": "object", "maxProperties": MAX_PROPERTIES},
        },
    },
    "EventsResult": {
        "type": "object",
        "properties": {
            "accepted": {"type": "integer"},
            "duplicate": {"type": "integer"},
            "rejected": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "index": {"type": "integer"},
                        "event_id": {"type": ["string", "null"]},
                        "reason": {
                            "enum": [
                                "invalid",
                                "too_old",
                                "in_future",
                                "bad_signature",
                                "malformed_decision_id",
                                "contact_mismatch",
                                "decision_expired",
                                "key_retired",
                                "before_decision",
                                "forbidden",
                            ]
                        },
                        "field": {"type": "string"},
                        "message": {"type": "string"},
                    },
                },
            },
        },
    },
    "BatchRequest": {
        "type": "object",
        "required": ["placement", "contacts"],
        "additionalProperties": False,
        "properties": {
            "placement": _KEY_SCHEMA,
            "request_id": {"type": "string", "minLength": 1, "maxLength": 200},
            "context": {"type": "object", "description": "shared by every contact"},
            "attributes": {
                "type": "object",
                "description": "shared by every contact; a contact's own override them, "
                "`consent` and `custom` one key at a time",
            },
            "channels": _CHANNELS,
            "contacts": {
                "type": "array",
                "maxItems": 10_000,
                "items": {
                    "type": "object",
                    "required": ["contact_id"],
                    "additionalProperties": False,
                    "properties": {
                        "contact_id": _CONTACT_ID,
                        "attributes": {"type": "object"},
                        "context": {"type": "object"},
                        "channels": _CHANNELS,
                    },
                },
            },
        },
    },
    "BatchResult": {
        "type": "object",
        "properties": {
            "placement": {"type": "string"},
            "count": {"type": "integer"},
            "decisions": {
                "type": "array",
                "description": "in request order: a Decision with its index, or "
                "{index, contact_id, status, error}",
                "items": {"type": "object"},
            },
        },
    },
    "ContactWrite": {
        "type": "object",
        "additionalProperties": False,
        "properties": {"attributes": {"type": "object"}},
    },
    "Placement": {
        "type": "object",
        "required": ["channels", "messages"],
        "description": "see README: channels, exposure, context_fields, eligibility, "
        "policy, messages, default_message, default_locale, channel",
    },
    "Experiment": {
        "type": "object",
        "required": ["placement", "variations"],
        "description": "see README: placement, status, phase, seed, hash_version, "
        "variations, coverage, namespace, condition, metrics, forced; past_phases (each "
        "earlier phase's split, kept by the server)",
    },
}


@cache
def openapi_document() -> dict[str, Any]:
    def ref(name: str) -> dict[str, Any]:
        return {"$ref": f"#/components/schemas/{name}"}

    def stored(name: str) -> dict[str, Any]:
        key_and_version = {"key": {"type": "string"}, "version": {"type": "integer"}}
        return {"allOf": [ref(name), {"properties": key_and_version}]}

    paths: dict[str, Any] = {
        "/v1/decide": {
            "post": _op(
                "One decision: message, channel, send time",
                "decide",
                ref("Decision"),
                ref("DecideRequest"),
                (401, 403, 404, 413, 422, 503),
            )
        },
        "/v1/events": {
            "post": _op(
                "Outcome events, idempotent by event_id",
                "events",
                ref("EventsResult"),
                {
                    "type": "object",
                    "required": ["events"],
                    "additionalProperties": False,
                    "properties": {
                        "events": {"type": "array", "items": ref("Event")},
                        "api_key": {
                            "type": "string",
                            "description": "a public key, for sendBeacon",
                        },
                    },
                },
                (401, 403, 413, 422, 503),
            )
        },
        "/v1/placements": {"get": _op("All placements", "read", _OBJ)},
        "/v1/placements/{key}": {
            "parameters": _KEY,
            "put": _creates(
                _op(
                    "Create or replace a placement",
                    "admin",
                    stored("Placement"),
                    ref("Placement"),
                    (401, 403, 409, 412, 413, 422, 503),
                )
            )
            | {"parameters": [_IF_MATCH]},
            "get": _op("One placement", "read", stored("Placement"), errors=(401, 403, 404, 503)),
            "delete": _op("Delete a placement", "admin", _OBJ, errors=(401, 403, 404, 503)),
        },
        "/v1/placements/{key}/stats": {
            "parameters": _KEY,
            "get": _op(
                "Per segment and arm: decided, trials, rewards, mean, interval, weight, "
                "chance of being best",
                "read",
                _OBJ,
                errors=(401, 403, 404, 503),
            ),
        },
        "/v1/placements/{key}/stats.csv": {
            "parameters": _KEY,
            "get": _op(
                "The stats as CSV (UTF-8 with BOM; ?bom=0 without), one row per segment and arm",
                "read",
                _OBJ,
                errors=(401, 403, 404, 503),
            ),
        },
        "/v1/placements/{key}/attribution": {
            "parameters": _KEY,
            "get": _op(
                "Conversions and revenue credited to the messages and channels exposed before "
                "them (last touch, linear), within the attribution window",
                "read",
                _OBJ,
                errors=(401, 403, 404, 503),
            ),
        },
        "/v1/placements/{key}/preview": {
            "parameters": _KEY,
            "post": _op(
                "Every message on every channel rendered for a sample contact: "
                "{attributes, context, behaviour}; nothing is stored or counted",
                "read",
                _OBJ,
                _OBJ,
                (401, 403, 404, 413, 422),
            ),
        },
        "/v1/placements/{key}/evaluate": {
            "parameters": _KEY,
            "post": _op(
                "Off-policy evaluation from the decision log: IPS, SNIPS and doubly robust "
                "estimates (95% intervals) of a candidate {rule}, {weights} or bandit policy",
                "read",
                _OBJ,
                {"type": "object", "required": ["policy"]},
                (401, 403, 404, 422, 503),
            ),
        },
        "/v1/placements/{key}/state": {
            "parameters": _KEY,
            "get": _op(
                "Learned counters per segment (and daily buckets), to save",
                "read",
                _OBJ,
                errors=(401, 403, 404, 503),
            ),
            "put": _op(
                "Replace the learned counters with a saved export",
                "admin",
                _OBJ,
                _OBJ,
                (401, 403, 404, 413, 422, 503),
            ),
        },
        "/v1/experiments": {"get": _op("All experiments", "read", _OBJ)},
        "/v1/experiments/{key}": {
            "parameters": _KEY,
            "put": _creates(
                _op(
                    "Create or replace an experiment (a new phase when variations change)",
                    "admin",
                    stored("Experiment"),
                    ref("Experiment"),
                    (401, 403, 409, 412, 413, 422, 503),
                )
            )
            | {"parameters": [_IF_MATCH]},
            "get": _op("One experiment", "read", stored("Experiment"), errors=(401, 403, 404, 503)),
            "delete": _op("Delete an experiment", "admin", _OBJ, errors=(401, 403, 404, 503)),
        },
        "/v1/experiments/{key}/results": {
            "parameters": _KEY,
            "get": _op(
                "Per metric and variation: lift, CIs, p-values (fixed, sequential, corrected), "
                "Bayesian chance to beat control, SRM, CUPED, and the winner rule's state",
                "read",
                _OBJ,
                errors=(401, 403, 404, 422, 503),
            ),
        },
        "/v1/experiments/{key}/results.csv": {
            "parameters": _KEY,
            "get": _op(
                "The results as CSV (UTF-8 with BOM; ?bom=0 without), one row per metric "
                "and variation",
                "read",
                _OBJ,
                errors=(401, 403, 404, 422, 503),
            ),
        },
        "/v1/experiments/{key}/check": {
            "parameters": _KEY,
            "post": _op(
                "Run the auto-winner rule now; rolls out a winner",
                "admin",
                _OBJ,
                errors=(404, 422),
            ),
        },
        "/v1/experiments/{key}/log": {
            "parameters": _KEY,
            "get": _op(
                "Automatic actions with the numbers that triggered them",
                "read",
                _OBJ,
                errors=(404,),
            ),
        },
        "/v1/experiments/{key}/stop": {
            "parameters": _KEY,
            "post": _op(
                "Stop: everyone gets the placement default",
                "admin",
                stored("Experiment"),
                errors=(404,),
            ),
        },
        "/v1/experiments/{key}/rollout": {
            "parameters": _KEY,
            "post": _op(
                "Roll out one variation to everyone",
                "admin",
                stored("Experiment"),
                {
                    "type": "object",
                    "required": ["variation"],
                    "properties": {"variation": {"type": "string"}},
                },
                (404,),
            ),
        },
        "/v1/holdouts": {"get": _op("All holdouts", "read", _OBJ)},
        "/v1/holdouts/{key}": {
            "parameters": _KEY,
            "put": _creates(
                _op(
                    "Create or replace a holdout: {share, namespaces, seed}; contacts in it get "
                    "every covered placement's default and enter no experiment or bandit",
                    "admin",
                    _OBJ,
                    _OBJ,
                    (401, 403, 409, 412, 413, 422, 503),
                )
            ),
            "get": _op("One holdout", "read", _OBJ, errors=(401, 403, 404, 503)),
            "delete": _op("Delete a holdout", "admin", _OBJ, errors=(401, 403, 404, 503)),
        },
        "/v1/decide/batch": {
            "post": _with_ndjson(
                _op(
                    "Decisions for up to 10,000 contacts of one placement, in order; a contact "
                    "that fails validation gets its own error entry. Accept: application/x-ndjson "
                    "streams them; a retried request_id returns the same decisions",
                    "decide",
                    ref("BatchResult"),
                    ref("BatchRequest"),
                    (404, 409),
                )
            )
        },
        "/v1/contacts/{id}": {
            "parameters": _ID,
            "put": _op(
                "Replace a contact's profile: {attributes: {first_name, last_name, email, "
                "phone, locale, timezone, birthday, lifecycle_stage, city, country, "
                "push_tokens, web_push, consent: {channel: bool}, custom: {…}}}",
                "admin",
                _OBJ,
                ref("ContactWrite"),
                (401, 403, 413, 422, 503),
            ),
            "patch": _op(
                "Merge into a contact's profile (JSON merge patch: null deletes a field)",
                "admin",
                _OBJ,
                ref("ContactWrite"),
                (401, 403, 413, 422, 503),
            ),
            "get": _op(
                "The profile, behaviour, send-time histogram and recent sends",
                "read",
                _OBJ,
                errors=(401, 403, 404, 503),
            ),
            "delete": _op(
                "Erase everything decide holds about the contact, and say what was erased",
                "admin",
                _OBJ,
                errors=(401, 403, 422, 503),
            ),
        },
        "/v1/contacts/{id}/merge": {
            "parameters": _ID,
            "post": _op(
                "Fold an anonymous visitor into this contact: {from: id}",
                "admin",
                _OBJ,
                {
                    "type": "object",
                    "required": ["from"],
                    "additionalProperties": False,
                    "properties": {"from": _CONTACT_ID},
                },
                (401, 403, 413, 422, 503),
            ),
        },
        "/v1/segments": {"get": _op("All segments", "read", _OBJ)},
        "/v1/segments/{key}": {
            "parameters": _KEY,
            "put": _creates(
                _op(
                    "Create or replace a named segment: {condition, description}; targeted as "
                    '{"contact.segments": {"$in": [key]}}',
                    "admin",
                    _OBJ,
                    _OBJ,
                    (401, 403, 409, 412, 413, 422, 503),
                )
            ),
            "get": _op("One segment", "read", _OBJ, errors=(401, 403, 404, 503)),
            "delete": _op("Delete a segment", "admin", _OBJ, errors=(401, 403, 404, 503)),
        },
        "/v1/workspace": {
            "put": _creates(
                _op(
                    "Settings for every placement: {scoring, frequency_caps, quiet_hours}",
                    "admin",
                    _OBJ,
                    _OBJ,
                    (401, 403, 409, 412, 413, 422, 503),
                )
            ),
            "get": _op("The workspace settings", "read", _OBJ, errors=(401, 403, 503)),
        },
        "/v1/export/events": {
            "get": _op(
                "Events as NDJSON, oldest first; ?after=<X-Next-After>&limit=N",
                "read",
                _OBJ,
                errors=(422,),
                media=_NDJSON,
            ),
        },
        "/v1/placements/{key}/decisions.ndjson": {
            "parameters": _KEY,
            "get": _op(
                "The bandit decision log as NDJSON",
                "read",
                _OBJ,
                errors=(404,),
                media=_NDJSON,
            ),
        },
        "/v1/experiments/{key}/exposures.ndjson": {
            "parameters": _KEY,
            "get": _op(
                "Exposures of the current phase as NDJSON",
                "read",
                _OBJ,
                errors=(404,),
                media=_NDJSON,
            ),
        },
        "/reports/": {
            "get": _op(
                "Every placement and experiment: traffic, leader, alerts (HTML)",
                "read",
                _OBJ,
                errors=(401, 403, 503),
            ),
        },
        "/reports/placements/{key}": {
            "parameters": _KEY,
            "get": _op(
                "The placement report: weights over time, channel and send-time mix, "
                "attribution (HTML; ?decisions=N log entries read)",
                "read",
                _OBJ,
                errors=(401, 403, 404, 422, 503),
            ),
        },
        "/reports/experiments/{key}": {
            "parameters": _KEY,
            "get": _op(
                "The experiment report: table and charts, self-contained HTML",
                "read",
                {"type": "string"},
                errors=(404,),
                media="text/html",
            ),
        },
        "/healthz": {"get": _op("The process is alive", None, _OBJ, errors=())},
        "/readyz": {
            "get": _op("The store answers and config is loaded", None, _OBJ, errors=(503,))
        },
        "/openapi.json": {"get": _op("This document", None, _OBJ, errors=())},
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics (text exposition format); no key needed",
                "responses": {
                    "200": {
                        "description": "OK",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
        "/v1/audit": {
            "get": {
                **_op(
                    "Admin actions, newest first: who, when, what, config version before/after",
                    "admin",
                    _AUDIT,
                    errors=(401, 403, 422, 503),
                ),
                "parameters": [
                    {
                        "name": "limit",
                        "in": "query",
                        "required": False,
                        "schema": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": 1000,
                            "default": 100,
                        },
                    }
                ],
            }
        },
        "/docs": {"get": _text("This document as a page: every route with examples", "text/html")},
        "/static/decide.js": {
            "get": _text("The browser snippet (README: In the browser)", "text/javascript")
        },
    }
    document = {
        "openapi": "3.1.0",
        "info": {
            "title": "decide",
            "version": "1",
            "description": "Which message, on which channel, at what time.",
        },
        "paths": _path_errors(paths),
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
    return with_examples(document)
