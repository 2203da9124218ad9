"""Named segments: conditions over contact, behaviour and context that label a contact.

`segments_of` returns the keys a contact is in; the caller puts that list at
`contact.segments`. Conditions compare with strict equality (as GrowthBook's Python SDK),
so a list attribute is never equal to a string. What works against `contact.segments`:

- in a segment:            ``{"contact.segments": {"$in": ["vip_tehran"]}}``
- in any of several:       ``{"contact.segments": {"$in": ["vip_tehran", "churn_risk"]}}``
- in all of several:       ``{"contact.segments": {"$all": ["vip_tehran", "churn_risk"]}}``
- in none of several:      ``{"contact.segments": {"$nin": ["churn_risk"]}}``
- in no segment at all:    ``{"contact.segments": {"$size": 0}}``

``{"contact.segments": "vip_tehran"}`` never matches (a list is not that string), and a
list literal matches only that exact list in that order; `segment_reference_problems`
reports both so a placement cannot silently target nobody.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from experiments.conditions import evaluate, fields_tested, validate_condition

Problem = tuple[str, str]

SEGMENTS_FIELD: Final = "contact.segments"
KEY_PATTERN: Final = re.compile(r"[A-Za-z0-9_.-]{1,64}")
MAX_SEGMENTS: Final = 500
_FIELDS: Final = frozenset({"key", "condition", "description"})


@dataclass(frozen=True)
class Segment:
    key: str
    condition: Mapping[str, Any]
    description: str = ""


def parse_segments(doc: Any, path: str = "segments") -> tuple[list[Segment], list[Problem]]:
    """Validate a list of segment definitions; return them (none if anything is wrong) and
    every problem found, each naming the exact field."""
    if not isinstance(doc, list):
        return [], [(path, "must be a list of segments")]
    problems: list[Problem] = []
    if len(doc) > MAX_SEGMENTS:
        # Every decision evaluates every segment.
        problems.append((path, f"must hold at most {MAX_SEGMENTS} segments"))
    segments: list[Segment] = []
    seen: set[str] = set()
    for index, item in enumerate(doc):
        where = f"{path}[{index}]"
        if not isinstance(item, Mapping):
            problems.append((where, "must be an object with key and condition"))
            continue
        problems += [(f"{where}.{k}", "unknown field") for k in item if k not in _FIELDS]
        key = item.get("key")
        if not isinstance(key, str) or not KEY_PATTERN.fullmatch(key):
            problems.append((f"{where}.key", "must be 1-64 letters, digits, '_', '.' or '-'"))
        elif key in seen:
            problems.append((f"{where}.key", f"repeats the segment {key!r}"))
        seen.add(str(key))
        description = item.get("description", "")
        if not isinstance(description, str):
            problems.append((f"{where}.description", "must be a string"))
        if "condition" not in item:
            problems.append((f"{where}.condition", "is required"))
            continue
        condition = item["condition"]
        problems += _condition_problems(condition, f"{where}.condition")
        if isinstance(condition, Mapping):
            segments.append(Segment(str(key), condition, str(description)))
    # Nothing is half-applied: one bad definition rejects the document.
    return ([], problems) if problems else (segments, [])


def segments_of(segments: Sequence[Segment], data: Mapping[str, Any]) -> list[str]:
    """The keys of the segments whose condition holds for `data`, in definition order.

    `data` holds the `contact`, `behaviour` and `context` roots.
    """
    return [segment.key for segment in segments if evaluate(segment.condition, data)]


def segment_reference_problems(condition: Any, path: str, known: Collection[str]) -> list[Problem]:
    """Problems with how a targeting condition uses `contact.segments`: a comparison that can
    never match a list, or a segment key that is not defined."""
    problems: list[Problem] = []
    for key, value, where in fields_tested(condition, path):
        if key != SEGMENTS_FIELD:
            continue
        if isinstance(value, str):
            reason = f'is a list, never equal to a string; use {{"$in": ["{value}"]}}'
            problems.append((where, reason))
            continue
        if isinstance(value, list):
            problems.append((where, "matches only this exact list in this order; use $in or $all"))
            continue
        if not isinstance(value, Mapping):
            problems.append((where, "is a list of segment keys; test it with $in, $all or $nin"))
            continue
        for op in ("$in", "$nin", "$all"):
            names = value.get(op)
            for index, name in enumerate(names if isinstance(names, list) else ()):
                if isinstance(name, str) and name not in known:
                    problems.append((f"{where}.{op}[{index}]", f"names no segment: {name!r}"))
    return problems


def _condition_problems(condition: Any, path: str) -> list[Problem]:
    problems: list[Problem] = []
    for problem in validate_condition(condition, path):
        where, sep, reason = problem.partition(": ")
        problems.append((where, reason) if sep else (path, problem))
    for key, _, where in fields_tested(condition, path):
        if key == SEGMENTS_FIELD or key.startswith(SEGMENTS_FIELD + "."):
            # contact.segments is computed from the segments themselves.
            problems.append((where, "a segment cannot depend on contact.segments"))
    return problems
