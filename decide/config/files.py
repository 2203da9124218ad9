"""Configuration files (YAML or JSON) for `decide apply -f` and the demo."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

# Apply order: what later documents refer to comes first.
KINDS = ("holdouts", "segments", "placements", "experiments")
WORKSPACE = "workspace"  # one document, not keyed


def read_config_file(path: Path | str) -> list[tuple[str, str, Any]]:
    """(kind, key, document) in apply order: placements first, then experiments that use them.

    The file is `{"workspace": doc, "holdouts": {key: doc}, "segments": {key: doc},
    "placements": {key: doc}, "experiments": {key: doc}}`; the workspace comes back as
    ("workspace", "default", doc).
    """
    loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    if not isinstance(loaded, dict) or set(loaded) - {WORKSPACE, *KINDS}:
        raise ValueError(f"{path}: expected top-level keys {WORKSPACE}, {', '.join(KINDS)}")
    items: list[tuple[str, str, Any]] = []
    if loaded.get(WORKSPACE) is not None:
        items.append((WORKSPACE, "default", loaded[WORKSPACE]))
    for kind in KINDS:
        section = loaded.get(kind) or {}
        if not isinstance(section, dict):
            raise ValueError(f"{path}: {kind} must map keys to documents")
        items.extend((kind, str(key), doc) for key, doc in section.items())
    return items


def demo_config_path() -> Path:
    return Path(__file__).resolve().parent.parent / "demo" / "demo.yaml"
