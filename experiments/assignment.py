"""Decide deterministically which variation of an experiment a contact receives."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from experiments.conditions import evaluate
from experiments.hashing import bucket_ranges, choose_variation, hash_bucket, in_namespace

STATUSES: Final = frozenset({"draft", "running", "stopped", "rolled_out"})
REASONS: Final = frozenset(
    {
        "assigned",
        "forced",
        "rolled_out",
        "draft",
        "stopped",
        "not_targeted",
        "outside_namespace",
        "outside_coverage",
        "unknown_hash_version",
    }
)


@dataclass(frozen=True)
class Variation:
    """One arm of an experiment: the placement message it serves and its traffic weight."""

    key: str
    message: str
    weight: float


@dataclass(frozen=True)
class ExperimentSpec:
    """Everything assignment needs to know about one phase of an experiment."""

    key: str
    seed: str
    hash_version: int
    phase: int
    status: str
    variations: tuple[Variation, ...]
    coverage: float = 1.0
    namespace: tuple[str, float, float] | None = None
    condition: Mapping[str, Any] | None = None
    rollout_variation: str | None = None
    forced: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # A typo'd status or a duplicated key would silently misroute traffic, so fail early.
        if self.status not in STATUSES:
            raise ValueError(f"experiment {self.key}: unknown status {self.status!r}")
        keys = [variation.key for variation in self.variations]
        if len(set(keys)) != len(keys):
            raise ValueError(f"experiment {self.key}: duplicate variation keys in {keys}")


@dataclass(frozen=True)
class Assignment:
    """The outcome of assigning one contact; ``variation`` None means serve the default."""

    variation: Variation | None
    in_experiment: bool
    reason: str
    propensity: float
    bucket: float | None


def weights_of(spec: ExperimentSpec) -> list[float]:
    """Return the variation weights normalised to sum to 1.

    Unusable weights (negative, non-finite, or all zero) fall back to equal weights, which is
    also what GrowthBook does with weights it cannot use.
    """
    raw = [variation.weight for variation in spec.variations]
    if not raw:
        return []
    total = sum(raw)
    # `0 < total < inf` also rejects NaN and sums that overflow, which would zero every weight.
    if not 0 < total < math.inf or any(w < 0 for w in raw):
        return [1 / len(raw)] * len(raw)
    return [w / total for w in raw]


def phase_seed(spec: ExperimentSpec) -> str:
    """Return the hash seed for the spec's phase.

    Phase 1 uses the seed unchanged so buckets match GrowthBook's for migrated experiments.
    Later phases append ``:<phase>`` so a new phase re-randomises everyone: contacts exposed
    in an earlier phase are not carried over into the same arm, which keeps the new phase's
    comparison free of carry-over effects.
    """
    return spec.seed if spec.phase <= 1 else f"{spec.seed}:{spec.phase}"


def assign(spec: ExperimentSpec, contact_id: str, doc: Mapping[str, Any]) -> Assignment:
    """Assign ``contact_id`` (described by ``doc``) to a variation of ``spec``.

    Checks run in this order: QA forcing, status, targeting condition, namespace, hash and
    coverage. Only the last step randomises, so only it yields ``in_experiment=True``.
    """
    forced = _find(spec, spec.forced.get(contact_id))
    if forced is not None:
        return Assignment(forced, False, "forced", 1.0, None)
    if spec.status in ("draft", "stopped"):
        return _excluded(spec.status)
    if spec.status == "rolled_out":
        winner = _find(spec, spec.rollout_variation)
        # With no usable rollout variation the caller falls back to the placement default.
        return Assignment(winner, False, "rolled_out", 1.0 if winner is not None else 0.0, None)
    # An empty id would put every anonymous contact in one shared bucket and skew results.
    if not contact_id or (spec.condition is not None and not evaluate(spec.condition, doc)):
        return _excluded("not_targeted")
    if spec.namespace is not None and not in_namespace(contact_id, spec.namespace):
        return _excluded("outside_namespace")
    bucket = hash_bucket(phase_seed(spec), contact_id, spec.hash_version)
    if bucket is None:
        return _excluded("unknown_hash_version")
    weights = weights_of(spec)
    index = choose_variation(bucket, bucket_ranges(len(weights), spec.coverage, weights))
    if index < 0:
        return Assignment(None, False, "outside_coverage", 0.0, bucket)
    return Assignment(spec.variations[index], True, "assigned", weights[index], bucket)


def phase_changing(old: ExperimentSpec, new: ExperimentSpec) -> bool:
    """Return whether going from ``old`` to ``new`` must start a new phase.

    Changing the variations (keys, messages, order or weights), the seed, the hash version or
    the namespace moves contacts between arms or changes what an arm means, which would mix
    two different experiments in one analysis. Coverage and targeting changes only add or
    remove contacts without moving anyone between arms, so they may continue the phase.
    """
    if (old.seed, old.hash_version) != (new.seed, new.hash_version):
        return True
    if _namespace_key(old) != _namespace_key(new):
        return True
    old_arms = [(v.key, v.message) for v in old.variations]
    new_arms = [(v.key, v.message) for v in new.variations]
    if old_arms != new_arms:
        return True
    # Compare normalised weights so that 1:1 and 0.5:0.5 count as the same allocation.
    return not all(
        math.isclose(a, b, rel_tol=0.0, abs_tol=1e-9)
        for a, b in zip(weights_of(old), weights_of(new), strict=True)
    )


def _find(spec: ExperimentSpec, key: str | None) -> Variation | None:
    return next((v for v in spec.variations if v.key == key), None) if key else None


def _excluded(reason: str) -> Assignment:
    return Assignment(None, False, reason, 0.0, None)


def _namespace_key(spec: ExperimentSpec) -> tuple[str, float, float] | None:
    # Configs loaded from JSON may hold lists, so compare by value rather than by type.
    if spec.namespace is None:
        return None
    name, start, end = spec.namespace
    return (name, float(start), float(end))
