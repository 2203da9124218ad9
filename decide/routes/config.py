"""Configuration API: placements and experiments, validated, versioned, applied within ~1 s."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from decide.bodies import read_json
from decide.config.checks import KEY_PATTERN, KEY_RULE
from decide.config.experiments import Experiment, parse_experiment
from decide.config.holdouts import parse_holdout
from decide.config.placements import Placement, parse_placement
from decide.config.workspace import parse_segment, parse_workspace
from decide.errors import Problem, invalid, not_found
from decide.responses import json_response
from decide.runtime import Runtime
from decide.store.config_store import Kind
from personalization.segments import segment_reference_problems


def _runtime(request: Request, scope: str) -> Runtime:
    rt: Runtime = request.app.state.runtime
    rt.settings.api_keys.require(request, scope)
    return rt


def placement_key(request: Request) -> str:
    """The {key} of a placement or experiment path, validated."""
    key = str(request.path_params["key"])
    if not KEY_PATTERN.match(key):
        raise invalid([Problem("key", KEY_RULE)])
    return key


def live_placement(rt: Runtime, request: Request) -> Placement:
    """The placement a `/v1/placements/{key}/…` path names, as this worker serves it."""
    key = placement_key(request)
    placement = rt.snapshot.placements.get(key)
    if placement is None:
        raise not_found("placement", key)
    return placement


def _expected_version(request: Request) -> str:
    """`If-Match: "7"` makes a write conditional on the version the writer read."""
    value = request.headers.get("if-match", "").strip().strip('"')
    if value and not value.isdigit():
        raise invalid([Problem("If-Match", "must be a version number from a previous GET")])
    return value


def _shown(key: str, version: int, document: dict[str, Any]) -> dict[str, Any]:
    return {"key": key, "version": version, **document}


async def store_placement(
    rt: Runtime, key: str, body: Any, expected: str = "", by: str = "system"
) -> tuple[bool, int, dict[str, Any]]:
    """Validate and store a placement: (created, version, document)."""
    placement = parse_placement(key, body)
    _check_segments(rt, placement.eligibility, "eligibility", "placement")
    experiment = rt.snapshot.experiments.get(placement.experiment or "")
    if experiment is not None:
        _check_messages(experiment, placement, "policy.experiment")
    return await _put(rt, "placements", key, dict(placement.document), expected, by)


async def stop_experiment(request: Request) -> Response:
    rt = _runtime(request, "admin")
    return await _change_status(rt, request, {"status": "stopped"}, "stop")


async def rollout_experiment(request: Request) -> Response:
    rt = _runtime(request, "admin")
    body = await read_json(request, rt.settings.body_limit)
    variation = body.get("variation") if isinstance(body, dict) else None
    if not isinstance(variation, str) or not variation:
        raise invalid([Problem("variation", "must name the variation to serve to everyone")])
    return await _change_status(
        rt, request, {"status": "rolled_out", "rollout_variation": variation}, "rollout"
    )


async def _change_status(
    rt: Runtime, request: Request, change: dict[str, Any], action: str
) -> Response:
    key = placement_key(request)
    stored = await rt.config.get("experiments", key)
    if stored is None:
        raise not_found("experiment", key)
    version, document = stored
    expected = _expected_version(request) or str(version)
    who = rt.settings.api_keys.who(request)
    stored_change = await store_experiment(rt, key, document | change, expected, who, action)
    return _stored_response(*stored_change)


async def store_experiment(
    rt: Runtime, key: str, body: Any, expected: str = "", by: str = "system", action: str = "put"
) -> tuple[bool, int, dict[str, Any]]:
    """Validate and store an experiment, starting a new phase when its randomisation changed."""
    stored = await rt.config.get("experiments", key)
    previous = parse_experiment(key, stored[1]) if stored is not None else None
    experiment = parse_experiment(key, body, previous)
    _check_segments(rt, experiment.spec.condition, "condition", "experiment")
    placement = rt.snapshot.placements.get(experiment.placement)
    if placement is not None:
        _check_messages(experiment, placement, "variations")
    # The phase was computed from `previous`: store only if nobody changed it meanwhile.
    expected = expected or (str(stored[0]) if stored is not None else "0")
    return await _put(rt, "experiments", key, dict(experiment.document), expected, by, action)


def _check_segments(rt: Runtime, condition: Any, path: str, what: str) -> None:
    """A condition on contact.segments that could never match, or names no segment, would
    silently target nobody: refused at PUT instead."""
    if condition is None:
        return
    problems = segment_reference_problems(condition, path, rt.snapshot.segments)
    if problems:
        raise invalid([Problem(where, reason) for where, reason in problems], what)


def _check_messages(experiment: Experiment, placement: Placement, field: str) -> None:
    problems = [
        Problem(
            f"{field}[{i}].message" if field == "variations" else field,
            f"variation {v.key!r} serves message {v.message!r}, which placement "
            f"{placement.key!r} does not have",
        )
        for i, v in enumerate(experiment.spec.variations)
        if v.message not in placement.messages
    ]
    if problems:
        raise invalid(problems, "experiment" if field == "variations" else "placement")


async def store_holdout(
    rt: Runtime, key: str, body: Any, expected: str = "", by: str = "system"
) -> tuple[bool, int, dict[str, Any]]:
    return await _put(rt, "holdouts", key, dict(parse_holdout(key, body).document), expected, by)


async def store_segment(
    rt: Runtime, key: str, body: Any, expected: str = "", by: str = "system"
) -> tuple[bool, int, dict[str, Any]]:
    segment = parse_segment(key, body)
    document = {"condition": dict(segment.condition)}
    if segment.description:
        document["description"] = segment.description
    return await _put(rt, "segments", key, document, expected, by)


async def store_workspace(
    rt: Runtime, key: str, body: Any, expected: str = "", by: str = "system"
) -> tuple[bool, int, dict[str, Any]]:
    document = dict(parse_workspace(body).document)
    return await _put(rt, "workspace", "default", document, expected, by)


async def store_document(
    rt: Runtime, kind: str, key: str, body: Any, expected: str = "", by: str = "system"
) -> tuple[bool, int, dict[str, Any]]:
    """Validate and store one configuration document: (created, version, document); `by`
    names the caller in the audit log."""
    store = {"placements": store_placement, "experiments": store_experiment,
             "holdouts": store_holdout, "segments": store_segment,
             "workspace": store_workspace}[kind]  # fmt: skip
    return await store(rt, key, body, expected, by)


async def put_workspace(request: Request) -> Response:
    rt = _runtime(request, "admin")
    body = await read_json(request, rt.settings.body_limit)
    who = rt.settings.api_keys.who(request)
    stored = await store_workspace(rt, "default", body, _expected_version(request), who)
    return _stored_response(*stored)


async def get_workspace(request: Request) -> Response:
    rt = _runtime(request, "read")
    stored = await rt.config.get("workspace", "default")
    version, document = stored if stored is not None else (0, {})
    return json_response({"version": version, **document}, headers={"ETag": f'"{version}"'})


async def put_config(request: Request, kind: Kind) -> Response:
    rt = _runtime(request, "admin")
    key = placement_key(request)
    body = await read_json(request, rt.settings.body_limit)
    who = rt.settings.api_keys.who(request)
    stored = await store_document(rt, kind, key, body, _expected_version(request), who)
    return _stored_response(*stored)


async def _put(
    rt: Runtime, kind: Kind, key: str, document: dict[str, Any], expected: str,
    by: str, action: str = "put",
) -> tuple[bool, int, dict[str, Any]]:  # fmt: skip
    existed = await rt.config.exists(kind, key)  # not get: a corrupt document is replaceable
    version = await rt.config.put(kind, key, document, expected, by=by, action=action)
    await rt.refresh()  # this worker serves the change at once; the others within a refresh
    return not existed, version, _shown(key, version, document)


def _stored_response(created: bool, version: int, shown: dict[str, Any]) -> Response:
    return json_response(shown, 201 if created else 200, {"ETag": f'"{version}"'})


async def get_config(request: Request, kind: Kind) -> Response:
    rt = _runtime(request, "read")
    key = placement_key(request)
    stored = await rt.config.get(kind, key)
    if stored is None:
        raise not_found(kind[:-1], key)
    version, document = stored
    return json_response(_shown(key, version, document), headers={"ETag": f'"{version}"'})


async def list_config(request: Request, kind: Kind) -> Response:
    rt = _runtime(request, "read")
    stored = await rt.config.all(kind)
    return json_response({kind: [_shown(k, v, d) for k, (v, d) in stored.items()]})


async def delete_config(request: Request, kind: Kind) -> Response:
    rt = _runtime(request, "admin")
    key = placement_key(request)
    version = await rt.config.delete(kind, key, by=rt.settings.api_keys.who(request))
    if version == 0:
        raise not_found(kind[:-1], key)
    await rt.refresh()
    return json_response({"deleted": key, "version": version})
