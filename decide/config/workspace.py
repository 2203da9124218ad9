"""Settings for every placement: lead scoring, frequency caps and quiet hours that hold across
campaigns, and the named segments conditions can target."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from typing import Any

from decide.config.checks import Checks
from decide.config.outreach import parse_quiet_hours
from decide.errors import Problem, invalid
from personalization.pressure import CapRule, parse_caps
from personalization.scoring import ScoringRules, parse_scoring
from personalization.segments import Segment, parse_segments

CAP_CHANNELS = ("email", "sms", "push", "web_push", "in_app", "web")


@dataclass(frozen=True)
class Workspace:
    scoring: ScoringRules | None = None
    caps: tuple[CapRule, ...] = ()
    quiet_hours: tuple[time, time] | None = None
    document: Mapping[str, Any] = field(default_factory=dict)


def parse_workspace(doc: Any) -> Workspace:
    c = Checks()
    body = c.mapping(doc, "body")
    if body is None:
        raise invalid(c.problems, "workspace")
    c.unknown_fields(body, {"scoring", "frequency_caps", "quiet_hours"})
    scoring = None
    if "scoring" in body:
        scoring, problems = parse_scoring(body["scoring"], "scoring")
        for problem in problems:
            c.fail(*problem)
    caps: tuple[CapRule, ...] = ()
    if "frequency_caps" in body:
        caps, problems = parse_caps(body["frequency_caps"], "frequency_caps", CAP_CHANNELS)
        for problem in problems:
            c.fail(*problem)
    quiet = None
    if "quiet_hours" in body:
        quiet = parse_quiet_hours(c, body["quiet_hours"], "quiet_hours")
    if not c.ok():
        raise invalid(c.problems, "workspace")
    return Workspace(scoring, caps, quiet, dict(body))


def parse_segment(key: str, doc: Any) -> Segment:
    """One named segment: `{"condition": {...}, "description": "..."}`."""
    if not isinstance(doc, dict):
        raise invalid([_problem(("body", "must be an object with a condition"))], "segment")
    segments, problems = parse_segments([{**doc, "key": key}], "segment")
    if problems:
        raise invalid([_problem(p) for p in problems], "segment")
    return segments[0]


def _problem(problem: tuple[str, str]) -> Problem:
    path, reason = problem
    return Problem(path.removeprefix("segment[0].").removeprefix("segment[0]") or "body", reason)
