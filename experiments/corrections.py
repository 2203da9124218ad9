"""Multiple-comparison adjusted p-values: Holm (family-wise) and Benjamini-Hochberg (FDR)."""

from __future__ import annotations

from collections.abc import Sequence


def _check(p_values: Sequence[float]) -> None:
    for p in p_values:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p-values must be in [0, 1], got {p}")


def holm(p_values: Sequence[float]) -> tuple[float, ...]:
    """Holm-Bonferroni step-down adjusted p-values.

    Used as: Holm across the variations of one metric — a roll-out decision must not become
    likelier to be wrong because there are more variations — and Benjamini-Hochberg across the
    metrics of one variation, where analysts scan many metrics and a controlled share of false
    discoveries is the useful guarantee. Both return adjusted p-values in the input order, to be
    compared with the unadjusted alpha (as ``statsmodels.stats.multitest.multipletests``).
    """
    _check(p_values)
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, index in enumerate(order):
        # Monotone: a smaller raw p-value never gets a larger adjusted one than a later one.
        running = max(running, min(1.0, (m - rank) * p_values[index]))
        adjusted[index] = running
    return tuple(adjusted)


def benjamini_hochberg(p_values: Sequence[float]) -> tuple[float, ...]:
    """Benjamini-Hochberg step-up adjusted p-values (q-values)."""
    _check(p_values)
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i], reverse=True)
    adjusted = [0.0] * m
    running = 1.0
    for position, index in enumerate(order):
        rank = m - position  # 1-based rank in ascending order
        running = min(running, min(1.0, m * p_values[index] / rank))
        adjusted[index] = running
    return tuple(adjusted)
