"""The worker's bandit weights: one request refreshes stale weights while the others draw
from the previous ones, so they are not recomputed by every request in flight at once."""

from __future__ import annotations

from decide.bandit_serving import WeightsCache

KEY = ("banner", 3, "", ("a", "b"))
OLD = {"a": 0.5, "b": 0.5}
NEW = {"a": 0.7, "b": 0.3}


def test_the_first_requests_compute_when_there_is_nothing_yet() -> None:
    cache = WeightsCache()
    assert cache.get(KEY, 100.0, 1.0) == (None, True)
    assert cache.get(KEY, 100.0, 1.0) == (None, True)  # nothing to draw from meanwhile


def test_fresh_weights_are_served_without_a_refresh() -> None:
    cache = WeightsCache()
    cache.put(KEY, 100.0, OLD)
    assert cache.get(KEY, 100.9, 1.0) == (OLD, False)


def test_one_request_refreshes_stale_weights_the_others_keep_drawing() -> None:
    cache = WeightsCache()
    cache.put(KEY, 100.0, OLD)
    assert cache.get(KEY, 101.0, 1.0) == (OLD, True)
    for _ in range(31):  # the rest of the requests in flight
        assert cache.get(KEY, 101.0, 1.0) == (OLD, False)
    cache.put(KEY, 101.002, NEW)
    assert cache.get(KEY, 101.003, 1.0) == (NEW, False)
    assert cache.get(KEY, 102.002, 1.0) == (NEW, True)  # stale again: the next refresh


def test_a_refresh_that_never_finished_is_taken_over() -> None:
    cache = WeightsCache()
    cache.put(KEY, 100.0, OLD)
    assert cache.get(KEY, 101.0, 1.0) == (OLD, True)  # its read failed: no put follows
    assert cache.get(KEY, 101.5, 1.0) == (OLD, False)
    assert cache.get(KEY, 102.0, 1.0) == (OLD, True)
