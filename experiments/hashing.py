"""Deterministic bucketing hashes, byte-for-byte compatible with GrowthBook's SDKs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

_FNV_OFFSET_BASIS: Final = 0x811C9DC5
_FNV_PRIME: Final = 0x01000193
_UINT32_MASK: Final = 0xFFFFFFFF


def fnv1a32(value: str) -> int:
    """Return the 32-bit FNV-1a hash of ``value`` taken over its UTF-16 code units.

    GrowthBook's JavaScript SDK hashes ``charCodeAt`` values, i.e. UTF-16 code units, and
    XORs each unit in whole (not byte by byte). Characters outside the Basic Multilingual
    Plane are therefore split into their surrogate pair here, so ids containing emoji land
    in the same bucket as they do in GrowthBook.
    """
    h = _FNV_OFFSET_BASIS
    for char in value:
        code_point = ord(char)
        if code_point < 0x10000:
            # Includes lone surrogates, which JavaScript strings also carry as a single unit.
            h = ((h ^ code_point) * _FNV_PRIME) & _UINT32_MASK
        else:
            offset = code_point - 0x10000
            for unit in (0xD800 | (offset >> 10), 0xDC00 | (offset & 0x3FF)):
                h = ((h ^ unit) * _FNV_PRIME) & _UINT32_MASK
    return h


def hash_bucket(seed: str, value: str, version: int) -> float | None:
    """Map ``value`` to a bucket in [0, 1) the way GrowthBook's ``hash()`` does.

    Version 2 hashes twice to decorrelate buckets of different experiments that share ids;
    version 1 is GrowthBook's legacy scheme (still used for namespaces). Any other version
    returns None so callers can refuse to bucket rather than silently use another scheme.
    """
    if version == 2:
        return fnv1a32(str(fnv1a32(seed + value))) % 10000 / 10000
    if version == 1:
        return fnv1a32(value + seed) % 1000 / 1000
    return None


def bucket_ranges(
    count: int, coverage: float, weights: Sequence[float] | None
) -> list[tuple[float, float]]:
    """Return one ``(start, end)`` range per variation, as GrowthBook's ``getBucketRanges``.

    Each variation owns a slice of [0, 1) proportional to its weight but only the first
    ``coverage`` fraction of that slice is used, so raising coverage later keeps everyone
    already in the experiment in the same variation.
    """
    # Clamped exactly like GrowthBook so out-of-range coverage behaves identically.
    if coverage < 0:
        coverage = 0.0
    elif coverage > 1:
        coverage = 1.0
    equal = [1 / count] * count if count > 0 else []
    chosen = list(weights) if weights is not None else equal
    if len(chosen) != count:
        chosen = equal
    total = sum(chosen)
    # GrowthBook tolerates rounding in configured weights but not a real mis-specification.
    if total < 0.99 or total > 1.01:
        chosen = equal
    ranges: list[tuple[float, float]] = []
    cumulative = 0.0
    for weight in chosen:
        start = cumulative
        cumulative += weight
        ranges.append((start, start + coverage * weight))
    return ranges


def choose_variation(n: float, ranges: Sequence[tuple[float, float]]) -> int:
    """Return the index of the range containing ``n`` (start inclusive, end exclusive), or -1."""
    for index, (start, end) in enumerate(ranges):
        if start <= n < end:
            return index
    return -1


def in_namespace(contact_id: str, namespace: tuple[str, float, float]) -> bool:
    """Return whether the contact falls in the namespace's ``[start, end)`` slice.

    Namespaces always use the version-1 hash with a ``__`` prefixed seed, as GrowthBook does,
    so experiments sharing a namespace name partition contacts the same way in both systems.
    """
    name, start, end = namespace
    n = hash_bucket("__" + name, contact_id, 1)
    return n is not None and start <= n < end
