"""The in-process configuration every decision reads: immutable, swapped whole on change."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

import orjson

from decide.config.experiments import Experiment, parse_experiment
from decide.config.holdouts import Holdout, parse_holdout
from decide.config.placements import Placement, parse_placement
from decide.errors import ApiError

log = logging.getLogger("decide.config")


@dataclass(frozen=True)
class Snapshot:
    version: int
    placements: Mapping[str, Placement] = field(default_factory=dict)
    experiments: Mapping[str, Experiment] = field(default_factory=dict)
    holdouts: Mapping[str, Holdout] = field(default_factory=dict)
    loaded: bool = True  # False until the store was read once


EMPTY = Snapshot(version=0, loaded=False)


def build_snapshot(
    version: int,
    placements: Mapping[bytes, bytes],
    experiments: Mapping[bytes, bytes],
    holdouts: Mapping[bytes, bytes] | None = None,
) -> Snapshot:
    """Compile stored documents; one that no longer validates is skipped and logged, never
    allowed to take the other placements down with it."""
    compiled_placements: dict[str, Placement] = {}
    for raw_key, raw_doc in placements.items():
        key = raw_key.decode()
        try:
            compiled_placements[key] = parse_placement(key, _document(raw_doc))
        except (ApiError, ValueError) as error:
            log.error("stored placement %r is invalid and is not served: %s", key, error)
    compiled_experiments: dict[str, Experiment] = {}
    for raw_key, raw_doc in experiments.items():
        key = raw_key.decode()
        try:
            compiled_experiments[key] = parse_experiment(key, _document(raw_doc))
        except (ApiError, ValueError) as error:
            log.error("stored experiment %r is invalid and is not served: %s", key, error)
    compiled_holdouts: dict[str, Holdout] = {}
    for raw_key, raw_doc in (holdouts or {}).items():
        key = raw_key.decode()
        try:
            compiled_holdouts[key] = parse_holdout(key, _document(raw_doc))
        except (ApiError, ValueError) as error:
            log.error("stored holdout %r is invalid and is not applied: %s", key, error)
    return Snapshot(version, compiled_placements, compiled_experiments, compiled_holdouts)


def stored_version(raw_doc: bytes) -> tuple[int, dict[str, object]]:
    """Split a stored document into its version and its configuration."""
    doc = orjson.loads(raw_doc)
    version = int(doc.pop("version", 0))
    doc.pop("updated_at", None)
    return version, doc


def _document(raw_doc: bytes) -> dict[str, object]:
    return stored_version(raw_doc)[1]
