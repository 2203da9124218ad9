"""Forgetting for drifting rewards: combine daily buckets of statistics, discounted or windowed."""

from __future__ import annotations

from collections.abc import Sequence

from bandits.stats import ArmStats

Bucket = tuple[float, ArmStats]  # (age in days, 0 for today; that day's statistics)


def _check_age(age: float) -> None:
    if not age >= 0:  # also rejects NaN
        raise ValueError(f"bucket ages must be at least 0 days, got {age!r}")


def decayed(buckets: Sequence[Bucket], discount_per_day: float) -> ArmStats:
    """The sum of the buckets, each weighted by ``discount_per_day ** age``.

    Discounting all three statistics alike keeps the mean and variance estimates consistent
    while shrinking ``n``, so old evidence counts for fewer trials and a posterior can move
    again after the rewards drift. A discount of 1 is no forgetting.
    """
    if not 0 < discount_per_day <= 1:
        raise ValueError(
            f"discount_per_day must be above 0 and at most 1, got {discount_per_day!r}"
        )
    total = ArmStats()
    for age, stats in buckets:
        _check_age(age)
        total = total + stats.scaled(discount_per_day**age)
    return total


def windowed(buckets: Sequence[Bucket], days: float) -> ArmStats:
    """The plain sum of the buckets younger than ``days`` (``days=7``: today and six before)."""
    if not days > 0:
        raise ValueError(f"days must be above 0, got {days!r}")
    total = ArmStats()
    for age, stats in buckets:
        _check_age(age)
        if age < days:
            total = total + stats
    return total
