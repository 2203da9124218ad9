"""`decide apply --dry-run`: what applying a config file would change, as a unified diff of
YAML per document, computed without writing anything.

Each document from the file is normalised with the same parse functions the server's PUT
uses (defaults filled in, an experiment's phase bumped when its randomisation changes), then
compared with the live document. The server stays the judge: references between documents
(an experiment's messages, a condition's segments) are only checked by a real apply.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from decide.config.experiments import parse_experiment
from decide.config.files import WORKSPACE
from decide.config.holdouts import parse_holdout
from decide.config.placements import parse_placement
from decide.config.workspace import parse_segment, parse_workspace

SERVER_FIELDS = ("key", "version", "updated_at")  # added by the server, never in a file


@dataclass(frozen=True)
class DocumentDiff:
    label: str  # e.g. "placement homepage_hero"
    change: str  # "created" | "updated" | "unchanged"
    diff: str  # unified diff of the YAML ("" when unchanged)


def normalised(kind: str, key: str, body: Any, live: Mapping[str, Any] | None) -> dict[str, Any]:
    """The document a PUT of `body` would store; raises ApiError (422) as the PUT would."""
    if kind == "placements":
        return dict(parse_placement(key, body).document)
    if kind == "experiments":
        previous = parse_experiment(key, stored(live)) if live is not None else None
        return dict(parse_experiment(key, body, previous).document)
    if kind == "holdouts":
        return dict(parse_holdout(key, body).document)
    if kind == "segments":  # as routes/config.store_segment stores it
        segment = parse_segment(key, body)
        document: dict[str, Any] = {"condition": dict(segment.condition)}
        if segment.description:
            document["description"] = segment.description
        return document
    if kind == WORKSPACE:
        return dict(parse_workspace(body).document)
    raise ValueError(f"unknown kind {kind}")


def stored(live: Mapping[str, Any]) -> dict[str, Any]:
    """A GET answer without the fields the server adds."""
    return {k: v for k, v in live.items() if k not in SERVER_FIELDS}


def compare(label: str, live: Mapping[str, Any] | None, new: Mapping[str, Any]) -> DocumentDiff:
    """`live` is None when the document does not exist yet. Compared as data, shown as YAML
    with sorted keys, so the order of fields in a file is never a difference."""
    before = _json_like(stored(live)) if live is not None else None
    after = _json_like(new)
    if before == after:
        return DocumentDiff(label, "unchanged", "")
    old_text = _yaml(before) if before is not None else ""
    lines = difflib.unified_diff(
        old_text.splitlines(keepends=True),
        _yaml(after).splitlines(keepends=True),
        fromfile=f"live/{label}" if before is not None else "/dev/null",
        tofile=f"file/{label}",
    )
    return DocumentDiff(label, "created" if before is None else "updated", "".join(lines))


def _yaml(document: Any) -> str:
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=True)


def _json_like(document: Mapping[str, Any]) -> Any:
    """Tuples as lists and 1.0 as 1, as the document comes back from JSON."""
    return yaml.safe_load(yaml.safe_dump(_plain(document), allow_unicode=True))


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
