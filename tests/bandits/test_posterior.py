from __future__ import annotations

import numpy as np
import pytest

from bandits.posterior import beta_parameters, normal_parameters, sample_means


def test_beta_parameters_are_one_plus_successes_and_failures_clipped() -> None:
    a, b = beta_parameters(np.array([[10.0, 3.0, 0.0]]), np.array([[4.0, 5.0, 0.0]]))
    assert a.tolist() == [[5.0, 6.0, 1.0]]
    assert b.tolist() == [[7.0, 1.0, 1.0]]


def test_no_data_at_all_gives_symmetric_finite_posteriors() -> None:
    zeros = np.zeros((1, 3))
    mean, sd = normal_parameters(zeros, zeros, zeros)
    assert mean.tolist() == [[0.0, 0.0, 0.0]]
    assert np.isfinite(sd).all() and len(set(sd[0].tolist())) == 1


def test_samples_have_the_posterior_moments() -> None:
    n, s = np.array([[200.0, 50.0]]), np.array([[20.0, 40.0]])
    draws = sample_means(n, s, s, "binary", 200_000, np.random.default_rng(0))
    assert draws.shape == (1, 2, 200_000)
    assert draws[0].mean(axis=-1) == pytest.approx([21 / 202, 41 / 52], abs=1e-3)
