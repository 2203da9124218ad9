"""Arm summaries for /stats use the policies' own posteriors."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as distributions

from bandits.posterior import normal_parameters
from bandits.stats import ArmStats, to_arrays
from bandits.summary import summarize


def test_binary_summary_is_the_beta_posterior() -> None:
    stats = {"a": ArmStats(100, 10, 10), "b": ArmStats(100, 30, 30)}
    out = summarize(stats, "binary", np.random.default_rng(1))
    assert out["b"].mean == pytest.approx(31 / 102)
    assert out["b"].low == pytest.approx(distributions.beta.ppf(0.025, 31, 71))
    assert out["b"].chance_best > 0.99 and out["a"].chance_best + out["b"].chance_best == 1.0


def test_value_summary_is_the_normal_posterior_thompson_draws_from() -> None:
    stats = {"a": ArmStats(50, 500.0, 9000.0), "b": ArmStats(50, 800.0, 16000.0)}
    out = summarize(stats, "value", np.random.default_rng(2))
    mean, sd = normal_parameters(*to_arrays(stats))
    assert out["b"].mean == pytest.approx(mean[0, 1])
    assert out["b"].high - out["b"].mean == pytest.approx(1.959964 * sd[0, 1], rel=1e-5)
    assert out["b"].chance_best > out["a"].chance_best
