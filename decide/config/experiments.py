"""An experiment's configuration: validated at PUT, with its phase kept honest."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from decide.config.checks import Checks, join
from decide.config.metrics import Analysis, parse_analysis
from decide.errors import invalid
from experiments.assignment import ExperimentSpec, Variation, phase_changing, weights_of
from experiments.conditions import validate_condition

STATUSES = ("draft", "running", "stopped", "rolled_out")
KNOWN = {
    "placement",
    "status",
    "phase",
    "seed",
    "hash_version",
    "variations",
    "coverage",
    "namespace",
    "condition",
    "metrics",
    "analysis",
    "auto_winner",
    "forced",
    "rollout_variation",
    "description",
    "past_phases",
}
PAST_PHASES_KEPT = 100


@dataclass(frozen=True)
class Experiment:
    key: str
    placement: str
    spec: ExperimentSpec
    document: Mapping[str, Any]
    analysis: Analysis

    def allocation(self, phase: int) -> tuple[tuple[str, ...], tuple[float, ...]]:
        """The variations and weights contacts were split by in `phase`: its results are
        judged against them (a past phase's split is not today's). A past phase from before
        its split was kept falls back to today's."""
        for past in self.document.get("past_phases", ()):
            if past["phase"] == phase and phase != self.spec.phase:
                split = past["variations"]
                total = sum(float(v["weight"]) for v in split)
                return (tuple(v["key"] for v in split),
                        tuple(float(v["weight"]) / total for v in split))  # fmt: skip
        return tuple(v.key for v in self.spec.variations), tuple(weights_of(self.spec))


def parse_experiment(key: str, doc: Any, previous: Experiment | None = None) -> Experiment:
    """Validate an experiment document; raise ApiError(422) naming every bad field.

    Changing variations, weights, seed, hashing or namespace starts a new phase (DESIGN.md):
    contacts are re-randomised and results restart, so a re-weighting can cause neither
    Simpson's paradox nor a false sample-ratio alarm.
    """
    c = Checks()
    body = c.mapping(doc, "body")
    if body is None:
        raise invalid(c.problems, "experiment")
    c.unknown_fields(body, KNOWN)
    placement = c.key(body, "placement", "")
    status = c.string(body, "status", "", default="draft", choices=STATUSES) or "draft"
    phase = c.number(body, "phase", "", default=None, low=1, high=1_000_000, integer=True)
    seed = c.string(body, "seed", "", default=key, max_len=256) or key
    hash_version = c.number(body, "hash_version", "", default=2, low=1, high=2, integer=True)
    coverage = c.number(body, "coverage", "", default=1.0, low=0.0, high=1.0)
    variations = _variations(c, body.get("variations"))
    namespace = _namespace(c, body.get("namespace"))
    condition = body.get("condition")
    if condition is not None:
        for problem in validate_condition(condition, "condition"):
            path, sep, reason = problem.partition(": ")
            c.fail(path if sep else "condition", reason if sep else problem)
    analysis = parse_analysis(c, body)
    keys = {v.key for v in variations}
    forced = body.get("forced", {})
    if c.mapping(forced, "forced") is not None:
        for contact, variation in forced.items():
            if variation not in keys:
                c.fail(join("forced", contact), f"names no variation: {variation!r}")
    rollout = c.string(body, "rollout_variation", "", default=None, max_len=64)
    if rollout is not None and rollout not in keys:
        c.fail("rollout_variation", f"names no variation: {rollout!r}")
    if status == "rolled_out" and rollout is None:
        c.fail("rollout_variation", "is required when status is rolled_out")
    if not c.ok():
        raise invalid(c.problems, "experiment")

    spec = ExperimentSpec(
        key=key,
        seed=seed,
        hash_version=int(hash_version or 2),
        phase=int(phase or 1),
        status=status,
        variations=tuple(variations),
        coverage=float(coverage if coverage is not None else 1.0),
        namespace=namespace,
        condition=condition,
        rollout_variation=rollout,
        forced=dict(forced),
    )
    if previous is not None:
        spec = _next_phase(spec, previous.spec, explicit=phase is not None)
    past = _past_phases(c, body, previous, spec.phase)
    if not c.ok():
        raise invalid(c.problems, "experiment")
    own = {"phase", "variations", "seed", "hash_version", "past_phases"}  # written here
    document = {k: v for k, v in body.items() if k not in own} | {
        "status": status,
        "phase": spec.phase,
        "seed": seed,
        "hash_version": spec.hash_version,
        "coverage": spec.coverage,
        "variations": [
            {"key": v.key, "message": v.message, "weight": v.weight} for v in variations
        ],
    }
    if past:
        document["past_phases"] = past
    return Experiment(key, placement or "", spec, document, analysis)


def _past_phases(
    c: Checks, body: dict[str, Any], previous: Experiment | None, phase: int
) -> list[dict[str, Any]]:
    """Each earlier phase's split, kept by the server as phases change. A body's own list is
    taken only when nothing is stored yet (restoring an exported configuration)."""
    if previous is None:
        given = body.get("past_phases", [])
        ok = isinstance(given, list) and all(
            isinstance(p, dict) and isinstance(p.get("phase"), int)
            and isinstance(p.get("variations"), list) and len(p["variations"]) >= 2
            and all(isinstance(v, dict) and isinstance(v.get("key"), str)
                    and isinstance(v.get("weight"), int | float) and 0 < v["weight"] <= 1
                    for v in p["variations"])
            for p in given
        )  # fmt: skip
        if not ok:
            c.fail("past_phases", "must be a list of {phase, variations: [{key, weight}]} "
                   "with two variations or more, weights in (0, 1]")  # fmt: skip
            return []
        return list(given)[-PAST_PHASES_KEPT:]
    past = list(previous.document.get("past_phases", []))
    if phase != previous.spec.phase:
        old = previous.spec
        split = [{"key": v.key, "weight": w} for v, w in zip(old.variations, weights_of(old),
                                                              strict=True)]  # fmt: skip
        past.append({"phase": old.phase, "variations": split})
    return past[-PAST_PHASES_KEPT:]


def _next_phase(spec: ExperimentSpec, old: ExperimentSpec, *, explicit: bool) -> ExperimentSpec:
    if explicit and spec.phase > old.phase:
        return spec
    if phase_changing(old, spec):
        return replace(spec, phase=old.phase + 1)
    return replace(spec, phase=old.phase)


def _variations(c: Checks, raw: Any) -> list[Variation]:
    if not isinstance(raw, list) or len(raw) < 2:
        c.fail("variations", "must be a list of at least two variations")
        return []
    entries = [c.mapping(item, join("variations", i)) for i, item in enumerate(raw)]
    given = [e for e in entries if e is not None and "weight" in e]
    if given and len(given) != len(raw):
        c.fail("variations", "give a weight to every variation or to none")
    found: list[Variation] = []
    for i, entry in enumerate(entries):
        if entry is None:
            continue
        path = join("variations", i)
        c.unknown_fields(entry, {"key", "message", "weight", "description"}, path)
        key = c.key(entry, "key", path)
        message = c.key(entry, "message", path)
        weight = c.number(entry, "weight", path, default=1 / len(raw), low=0.0, high=1.0)
        if key is not None and any(v.key == key for v in found):
            c.fail(join(path, "key"), f"repeats variation key {key!r}")
        if key is not None and message is not None and weight is not None:
            found.append(Variation(key, message, float(weight)))
    total = sum(v.weight for v in found)
    if given and len(found) == len(raw) and abs(total - 1.0) > 1e-6:
        c.fail("variations", f"weights must sum to 1; they sum to {total:.6g}")
    return found


def _namespace(c: Checks, raw: Any) -> tuple[str, float, float] | None:
    if raw is None:
        return None
    ok = (
        isinstance(raw, list)
        and len(raw) == 3
        and isinstance(raw[0], str)
        and raw[0]
        and all(isinstance(x, int | float) and not isinstance(x, bool) for x in raw[1:])
        and 0 <= raw[1] < raw[2] <= 1
    )
    if not ok:
        c.fail("namespace", 'must be ["name", start, end] with 0 <= start < end <= 1')
        return None
    return (raw[0], float(raw[1]), float(raw[2]))
