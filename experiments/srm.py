"""Sample-ratio mismatch: do the users per variation match the configured weights?"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from scipy import stats  # type: ignore[import-untyped, unused-ignore]

# A mismatch this unlikely under correct assignment means broken bucketing or logging, and
# every other number of the experiment is then suspect. 0.001 is the usual industry line: at
# daily checks of many experiments a looser one would raise false alarms every week.
DEFAULT_SRM_THRESHOLD = 0.001


@dataclass(frozen=True)
class SRMResult:
    """Pearson's chi-square goodness of fit of the observed users to the expected split."""

    variations: tuple[str, ...]
    users: tuple[int, ...]
    expected: tuple[float, ...]
    chi_square: float
    dof: int
    p_value: float
    threshold: float
    mismatch: bool  # p_value < threshold: block any roll-out


def srm_check(
    users: Mapping[str, int],
    weights: Mapping[str, float],
    threshold: float = DEFAULT_SRM_THRESHOLD,
) -> SRMResult:
    """Chi-square test of ``users`` per variation against ``weights`` (normalised to sum 1).

    Variations with weight 0 must have no users (any user there is a mismatch by definition)
    and are left out of the test. With no users at all there is nothing to test: p = 1.
    """
    if set(users) != set(weights):
        raise ValueError(
            f"users and weights must name the same variations: {sorted(users)} vs {sorted(weights)}"
        )
    keys = tuple(weights)
    if any(w < 0 or not math.isfinite(w) for w in weights.values()) or sum(weights.values()) <= 0:
        raise ValueError(f"weights must be finite, >= 0 and not all 0: {dict(weights)}")
    if any(u < 0 for u in users.values()):
        raise ValueError(f"users must be >= 0: {dict(users)}")
    total_weight = sum(weights.values())
    total_users = sum(users.values())
    observed = tuple(int(users[k]) for k in keys)
    expected = tuple(total_users * weights[k] / total_weight for k in keys)
    if any(weights[k] == 0 and users[k] > 0 for k in keys):
        return SRMResult(keys, observed, expected, math.inf, len(keys) - 1, 0.0, threshold, True)
    tested = [k for k in keys if weights[k] > 0]
    if total_users == 0 or len(tested) < 2:
        return SRMResult(
            keys, observed, expected, 0.0, max(len(tested) - 1, 0), 1.0, threshold, False
        )
    chi_square = sum(
        (users[k] - total_users * weights[k] / total_weight) ** 2
        / (total_users * weights[k] / total_weight)
        for k in tested
    )
    dof = len(tested) - 1
    p_value = float(stats.chi2.sf(chi_square, dof))
    return SRMResult(
        keys, observed, expected, float(chi_square), dof, p_value, threshold, p_value < threshold
    )
