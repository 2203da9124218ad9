"""The in-process configuration every decision reads: immutable, swapped whole on change."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson

from decide.config.experiments import Experiment, parse_experiment
from decide.config.holdouts import Holdout, parse_holdout
from decide.config.placements import Placement, parse_placement
from decide.config.workspace import Workspace, parse_segment, parse_workspace
from decide.errors import ApiError
from personalization.segments import Segment

log = logging.getLogger("decide.config")
T = TypeVar("T")


@dataclass(frozen=True)
class Snapshot:
    version: int
    placements: Mapping[str, Placement] = field(default_factory=dict)
    experiments: Mapping[str, Experiment] = field(default_factory=dict)
    holdouts: Mapping[str, Holdout] = field(default_factory=dict)
    segments: Mapping[str, Segment] = field(default_factory=dict)
    workspace: Workspace = field(default_factory=Workspace)
    loaded: bool = True  # False until the store was read once


EMPTY = Snapshot(version=0, loaded=False)


def build_snapshot(
    version: int,
    placements: Mapping[bytes, bytes],
    experiments: Mapping[bytes, bytes],
    holdouts: Mapping[bytes, bytes] | None = None,
    segments: Mapping[bytes, bytes] | None = None,
    workspace: Mapping[bytes, bytes] | None = None,
) -> Snapshot:
    """Compile stored documents; one that no longer validates is skipped and logged, never
    allowed to take the other placements down with it."""
    return Snapshot(
        version,
        _compile("placement", placements, parse_placement),
        _compile("experiment", experiments, parse_experiment),
        _compile("holdout", holdouts or {}, parse_holdout),
        _compile("segment", segments or {}, parse_segment),
        _compile("workspace", workspace or {}, lambda _, doc: parse_workspace(doc)).get(
            "default", Workspace()
        ),
    )


def _compile(
    kind: str, stored: Mapping[bytes, bytes], parse: Callable[[str, Any], T]
) -> dict[str, T]:
    compiled: dict[str, T] = {}
    for raw_key, raw_doc in stored.items():
        key = raw_key.decode()
        try:
            compiled[key] = parse(key, _document(raw_doc))
        except (ApiError, ValueError) as error:
            log.error("stored %s %r is invalid and is not served: %s", kind, key, error)
    return compiled


def stored_version(raw_doc: bytes) -> tuple[int, dict[str, object]]:
    """Split a stored document into its version and its configuration."""
    doc = orjson.loads(raw_doc)
    version = int(doc.pop("version", 0))
    doc.pop("updated_at", None)
    return version, doc


def _document(raw_doc: bytes) -> dict[str, object]:
    return stored_version(raw_doc)[1]
