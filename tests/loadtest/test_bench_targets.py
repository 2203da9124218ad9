"""The bench's verdict on each target: what the closing notes paste, so it must be right."""

from __future__ import annotations

from typing import Any

from loadtest.bench import TARGETS, targets


def _results(ratio: float, behaviour_bytes: int) -> dict[str, dict[str, Any]]:
    """Every scenario, every compared value set to `ratio` (bytes to `behaviour_bytes`)."""
    results: dict[str, dict[str, Any]] = {}
    for _, scenario, _, path, _, _ in TARGETS:
        node = results.setdefault(scenario, {})
        for step in path[:-1]:
            node = node.setdefault(step, {})
        node[path[-1]] = behaviour_bytes if path == ("behaviour_bytes",) else ratio
    return results


def test_a_floor_is_met_at_or_above_it_and_a_ceiling_at_or_below_it() -> None:
    verdicts = {(row["target"], row["what"]): row["met"] for row in targets(_results(1.2, 512))}
    assert verdicts == {
        ("P1", "decide / echo, requests/s"): True,  # 1.2 ≥ 0.6
        ("P1", "p99 at half load / echo's"): True,  # 1.2 ≤ 2
        ("P2", "batch / the core alone"): True,
        ("P3", "batches of 100 / applier"): True,
        ("P4", "GrowthBook+MABWiser / core"): False,  # 1.2 < 2
        ("P5", "behaviour bytes / contact"): True,  # 512 ≤ 512
        ("P6", "2 workers / 1, decisions"): True,  # 1.2 ≥ 1.2
        ("P6", "2 workers / 1, events"): True,
    }
    over = {row["what"]: row["met"] for row in targets(_results(2.5, 513))}
    assert over["p99 at half load / echo's"] is False
    assert over["behaviour bytes / contact"] is False
    assert over["GrowthBook+MABWiser / core"] is True


def test_only_the_scenarios_that_ran_are_judged() -> None:
    only_workers = {"workers": _results(1.0, 0)["workers"]}
    rows = targets(only_workers)
    assert [(row["what"], row["met"]) for row in rows] == [
        ("2 workers / 1, decisions", False),
        ("2 workers / 1, events", False),
    ]
