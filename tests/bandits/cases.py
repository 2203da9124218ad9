"""Arm statistics shared by the policy tests: typical, empty, tied and lopsided."""

from __future__ import annotations

from bandits.config import ALGORITHMS
from bandits.stats import ArmStats


def binary(n: float, conversions: float) -> ArmStats:
    return ArmStats(n, conversions, conversions)


TYPICAL = {
    "a": binary(1000, 40),
    "b": binary(1000, 45),
    "c": binary(1000, 50),
    "d": binary(1000, 55),
    "e": binary(1000, 60),
}
EMPTY = {arm: ArmStats() for arm in "abcde"}
PARTLY_TRIED = {"a": binary(30, 3), "b": ArmStats(), "c": binary(12, 0), "d": ArmStats()}
TIED = {"a": binary(500, 25), "b": binary(500, 25), "c": binary(500, 10)}
LOPSIDED = {"a": binary(20_000, 1_400), "b": binary(20_000, 600), "c": binary(20_000, 500)}
DECAYED = {"a": binary(3.7, 0.4), "b": binary(0.2, 0.0), "c": binary(55.5, 2.5)}
ONE_ARM = {"only": binary(10, 1)}
REVENUE = {
    "a": ArmStats(400, 400 * 5.0, 400 * (5.0**2 + 20.0**2)),
    "b": ArmStats(400, 400 * 6.5, 400 * (6.5**2 + 20.0**2)),
}

CASES = {
    "typical": TYPICAL,
    "empty": EMPTY,
    "partly_tried": PARTLY_TRIED,
    "tied": TIED,
    "lopsided": LOPSIDED,
    "decayed": DECAYED,
    "one_arm": ONE_ARM,
    "revenue": REVENUE,
}
POLICIES = ALGORITHMS
