"""Tests that bucketing matches GrowthBook's published cases and is uniformly distributed."""

from __future__ import annotations

import pytest
from scipy.stats import chisquare

from experiments.hashing import (
    bucket_ranges,
    choose_variation,
    fnv1a32,
    hash_bucket,
    in_namespace,
)


def reference_fnv1a32(value: str) -> int:
    """An independent FNV-1a over UTF-16 code units, derived from the UTF-16 encoding."""
    data = value.encode("utf-16-le")
    h = 0x811C9DC5
    for i in range(0, len(data), 2):
        h ^= int.from_bytes(data[i : i + 2], "little")
        h = (h * 0x01000193) % 2**32
    return h


def reference_hash(seed: str, value: str, version: int) -> float | None:
    if version == 2:
        return reference_fnv1a32(str(reference_fnv1a32(seed + value))) % 10000 / 10000
    if version == 1:
        return reference_fnv1a32(value + seed) % 1000 / 1000
    return None


# The "hash" cases of GrowthBook's shared SDK test suite (tests/cases.json, spec 0.7.1).
GROWTHBOOK_HASH_CASES = [
    ("", "a", 1, 0.22),
    ("", "b", 1, 0.077),
    ("b", "a", 1, 0.946),
    ("ef", "d", 1, 0.652),
    ("asdf", "8952klfjas09ujk", 1, 0.549),
    ("", "123", 1, 0.011),
    ("", '___)((*":&', 1, 0.563),
    ("seed", "a", 2, 0.0505),
    ("seed", "b", 2, 0.2696),
    ("foo", "ab", 2, 0.2575),
    ("foo", "def", 2, 0.2019),
    ("89123klj", "8952klfjas09ujkasdf", 2, 0.124),
    ("90850943850283058242805", "123", 2, 0.7516),
    ("()**(%$##$%#$#", '___)((*":&', 2, 0.0128),
    ("abc", "def", 99, None),
]


@pytest.mark.parametrize(("seed", "value", "version", "expected"), GROWTHBOOK_HASH_CASES)
def test_hash_bucket_matches_growthbook(
    seed: str, value: str, version: int, expected: float | None
) -> None:
    assert hash_bucket(seed, value, version) == expected
    # The published values are also reproduced by the independent reference.
    assert reference_hash(seed, value, version) == expected


@pytest.mark.parametrize("version", [0, 3, -1])
def test_unknown_hash_version_is_none(version: int) -> None:
    assert hash_bucket("seed", "a", version) is None


def test_fnv1a32_known_vectors() -> None:
    # Standard FNV-1a 32 test vectors (identical for ASCII, where UTF-16 units equal bytes).
    assert fnv1a32("") == 0x811C9DC5
    assert fnv1a32("a") == 0xE40C292C
    assert fnv1a32("foobar") == 0xBF9CF968


@pytest.mark.parametrize(
    "value",
    ["مریم", "שלום", "😀", "contact-😀-مریم", "Zoë", "名前", "a\u0301", "👨‍👩‍👧"],
)
def test_non_ascii_matches_utf16_reference(value: str) -> None:
    assert fnv1a32(value) == reference_fnv1a32(value)
    for version in (1, 2):
        assert hash_bucket("seed", value, version) == reference_hash("seed", value, version)


def test_emoji_is_hashed_as_two_utf16_code_units() -> None:
    assert len("😀".encode("utf-16-le")) == 4
    code_point_hash = ((0x811C9DC5 ^ ord("😀")) * 0x01000193) % 2**32
    assert fnv1a32("😀") != code_point_hash
    # JavaScript sees "😀" as the two units "\ud83d\ude00"; both spellings must agree.
    assert fnv1a32("😀") == fnv1a32("\ud83d\ude00")


def test_buckets_are_in_unit_interval() -> None:
    for i in range(2000):
        for version in (1, 2):
            n = hash_bucket("s", f"id-{i}", version)
            assert n is not None and 0 <= n < 1


# The "getBucketRange" cases of GrowthBook's shared SDK test suite.
GROWTHBOOK_RANGE_CASES = [
    ((2, 1.0, None), [(0, 0.5), (0.5, 1)]),
    ((2, 0.5, None), [(0, 0.25), (0.5, 0.75)]),
    ((2, 0.0, None), [(0, 0), (0.5, 0.5)]),
    ((4, 1.0, None), [(0, 0.25), (0.25, 0.5), (0.5, 0.75), (0.75, 1)]),
    ((2, 1.0, [0.4, 0.6]), [(0, 0.4), (0.4, 1)]),
    ((3, 1.0, [0.2, 0.3, 0.5]), [(0, 0.2), (0.2, 0.5), (0.5, 1)]),
    ((3, 0.2, [0.2, 0.3, 0.5]), [(0, 0.04), (0.2, 0.26), (0.5, 0.6)]),
    ((2, -0.2, None), [(0, 0), (0.5, 0.5)]),
    ((2, 1.5, None), [(0, 0.5), (0.5, 1)]),
    ((2, 1.0, [0.4, 0.1]), [(0, 0.5), (0.5, 1)]),
    ((2, 1.0, [0.7, 0.6]), [(0, 0.5), (0.5, 1)]),
    ((4, 1.0, [0.4, 0.4, 0.2]), [(0, 0.25), (0.25, 0.5), (0.5, 0.75), (0.75, 1)]),
    ((2, 1.0, [0.4, 0.5999]), [(0, 0.4), (0.4, 0.9999)]),
]


@pytest.mark.parametrize(("args", "expected"), GROWTHBOOK_RANGE_CASES)
def test_bucket_ranges_match_growthbook(
    args: tuple[int, float, list[float] | None], expected: list[tuple[float, float]]
) -> None:
    ranges = bucket_ranges(*args)
    assert len(ranges) == len(expected)
    for (start, end), (want_start, want_end) in zip(ranges, expected, strict=True):
        assert start == pytest.approx(want_start)
        assert end == pytest.approx(want_end)


def test_bucket_ranges_with_no_variations() -> None:
    assert bucket_ranges(0, 1.0, None) == []


def test_choose_variation_boundaries() -> None:
    ranges = [(0.0, 0.5), (0.5, 1.0)]
    assert choose_variation(0.0, ranges) == 0
    assert choose_variation(0.4999, ranges) == 0
    assert choose_variation(0.5, ranges) == 1  # start inclusive, end exclusive
    assert choose_variation(0.9999, ranges) == 1
    assert choose_variation(1.0, ranges) == -1
    partial = [(0.0, 0.25), (0.5, 0.75)]
    assert choose_variation(0.3, partial) == -1
    assert choose_variation(0.6, partial) == 1
    assert choose_variation(0.5, []) == -1


def test_in_namespace_uses_v1_hash_with_prefixed_seed() -> None:
    for i in range(500):
        contact = f"c{i}"
        n = reference_hash("__pricing", contact, 1)
        assert n is not None
        assert in_namespace(contact, ("pricing", 0.0, 0.5)) == (n < 0.5)
        assert in_namespace(contact, ("pricing", 0.5, 1.0)) == (n >= 0.5)


def test_in_namespace_halves_partition_contacts() -> None:
    for i in range(2000):
        contact = f"user-{i}"
        assert in_namespace(contact, ("ns", 0, 0.5)) != in_namespace(contact, ("ns", 0.5, 1))


def test_weighted_split_distribution_is_uniform() -> None:
    weights = [0.2, 0.3, 0.5]
    ranges = bucket_ranges(3, 1.0, weights)
    counts = [0, 0, 0]
    total = 10_000
    for i in range(total):
        n = hash_bucket("distribution-test", f"contact-{i}", 2)
        assert n is not None
        counts[choose_variation(n, ranges)] += 1
    result = chisquare(counts, [w * total for w in weights])
    assert result.pvalue > 0.001, counts
