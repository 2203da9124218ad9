"""Holdouts: a share of contacts kept out of personalization, to measure its total impact."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from decide.config.checks import Checks
from decide.errors import invalid
from experiments.hashing import hash_bucket


@dataclass(frozen=True)
class Holdout:
    key: str
    share: float
    namespaces: tuple[str, ...]  # empty: every placement; else experiments in these namespaces
    seed: str
    document: Mapping[str, Any]

    def holds(self, contact_id: str) -> bool:
        bucket = hash_bucket("__holdout_" + self.seed, contact_id, 2)
        return bucket is not None and bucket < self.share

    def covers(self, namespace: str | None) -> bool:
        return not self.namespaces or (namespace is not None and namespace in self.namespaces)


def parse_holdout(key: str, doc: Any) -> Holdout:
    c = Checks()
    body = c.mapping(doc, "body")
    if body is None:
        raise invalid(c.problems, "holdout")
    c.unknown_fields(body, {"share", "namespaces", "seed", "description"})
    share = c.number(body, "share", "", low=0.0, high=0.5)
    namespaces = c.string_list(body, "namespaces", "", default=[]) or []
    seed = c.string(body, "seed", "", default=key, max_len=256) or key
    c.string(body, "description", "", default=None, max_len=2000)
    if not c.ok():
        raise invalid(c.problems, "holdout")
    document = dict(body) | {"share": share, "namespaces": namespaces, "seed": seed}
    return Holdout(key, float(share or 0.0), tuple(namespaces), seed, document)


def holding(holdouts: Iterable[Holdout], contact_id: str, namespace: str | None) -> Holdout | None:
    """The first holdout that keeps this contact out of a placement (or its experiment)."""
    for holdout in holdouts:
        if holdout.covers(namespace) and holdout.holds(contact_id):
            return holdout
    return None
