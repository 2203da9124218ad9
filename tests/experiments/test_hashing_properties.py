"""Properties of the bucketing hashes, for any seed and id (including astral characters)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from experiments.hashing import bucket_ranges, choose_variation, fnv1a32, hash_bucket

FAST = settings(max_examples=200, deadline=None, derandomize=True)
ids = st.text(max_size=40)


@FAST
@given(ids, ids, st.sampled_from([1, 2]))
def test_a_bucket_is_in_the_unit_interval_and_repeatable(seed: str, value: str, v: int) -> None:
    n = hash_bucket(seed, value, v)
    assert n is not None and 0 <= n < 1
    assert n == hash_bucket(seed, value, v)
    # GrowthBook's resolution: v2 buckets are multiples of 1/10,000, v1 of 1/1,000.
    steps = 10_000 if v == 2 else 1_000
    assert abs(n * steps - round(n * steps)) < 1e-6


@FAST
@given(ids)
def test_fnv_is_a_32_bit_unsigned_integer(value: str) -> None:
    assert 0 <= fnv1a32(value) < 2**32


@FAST
@given(ids, ids, st.integers(min_value=3, max_value=6))
def test_unknown_hash_versions_refuse_to_bucket(seed: str, value: str, version: int) -> None:
    assert hash_bucket(seed, value, version) is None


weight_lists = st.integers(min_value=1, max_value=8).flatmap(
    lambda k: st.lists(st.floats(min_value=0.01, max_value=1), min_size=k, max_size=k).map(
        lambda ws: [w / sum(ws) for w in ws]
    )
)


@FAST
@given(weight_lists, st.floats(min_value=-1, max_value=2, allow_nan=False), ids)
def test_ranges_tile_the_unit_interval_like_growthbook(
    weights: list[float], coverage: float, contact: str
) -> None:
    ranges = bucket_ranges(len(weights), coverage, weights)
    clamped = min(max(coverage, 0.0), 1.0)
    assert len(ranges) == len(weights)
    previous_end = 0.0
    for (start, end), weight in zip(ranges, weights, strict=True):
        assert start >= previous_end - 1e-12 and end <= 1 + 1e-9
        assert abs((end - start) - clamped * weight) < 1e-9
        previous_end = start + weight
    n = hash_bucket("seed", contact, 2)
    assert n is not None
    index = choose_variation(n, ranges)
    if index >= 0:
        assert ranges[index][0] <= n < ranges[index][1]
    else:
        assert not any(start <= n < end for start, end in ranges)


@FAST
@given(
    st.integers(min_value=1, max_value=6),
    st.lists(st.floats(min_value=0, max_value=10, allow_nan=False), max_size=6),
)
def test_misspecified_weights_fall_back_to_an_even_split(count: int, weights: list[float]) -> None:
    ranges = bucket_ranges(count, 1.0, weights)
    total = sum(weights)
    if len(weights) != count or not 0.99 <= total <= 1.01:
        assert all(abs((end - start) - 1 / count) < 1e-12 for start, end in ranges)
