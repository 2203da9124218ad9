from __future__ import annotations

import numpy as np
import pytest

from bandits.ope import OffPolicyEstimate, doubly_robust, ips, snips

Z95 = 1.959963984540054


def test_ips_snips_and_dr_on_a_hand_computed_log() -> None:
    propensity = np.array([0.5, 0.25, 0.25, 0.5])
    reward = np.array([1.0, 0.0, 2.0, 1.0])
    target = np.array([1.0, 0.0, 1.0, 0.5])  # target's probability of each logged arm
    w = target / propensity  # 2, 0, 4, 1
    terms = w * reward  # 2, 0, 8, 1
    half = Z95 * np.std(terms, ddof=1) / 2
    result = ips(propensity, reward, target)
    assert (result.estimate, result.low, result.high, result.n) == pytest.approx(
        (2.75, 2.75 - half, 2.75 + half, 4)
    )
    estimate = 11 / 7
    se = np.sqrt(((w * (reward - estimate)) ** 2).sum()) / 7
    result = snips(propensity, reward, target)
    assert (result.estimate, result.high - result.estimate) == pytest.approx((estimate, Z95 * se))

    arm = np.array([0, 1, 0, 1])
    probs = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
    probs[2] = [1.0, 0.0]  # target of logged arm 0 is 1
    probs[3] = [0.5, 0.5]
    model = np.array([0.5, 1.5])
    dm = (probs * model).sum(axis=1)  # 0.5, 0.5, 0.5, 1.0
    residual = reward - model[arm]  # 0.5, -1.5, 1.5, -0.5
    dr_terms = dm + probs[np.arange(4), arm] / propensity * residual
    dr = doubly_robust(propensity, arm, reward, probs, model)
    assert dr.estimate == pytest.approx(dr_terms.mean())
    assert dr.high - dr.estimate == pytest.approx(Z95 * np.std(dr_terms, ddof=1) / 2)


def test_level_sets_the_interval_width() -> None:
    rng = np.random.default_rng(0)
    p, r, t = np.full(100, 0.5), rng.random(100), np.ones(100)
    wide, narrow = ips(p, r, t, level=0.99), ips(p, r, t, level=0.5)
    assert wide.high - wide.low > 3 * (narrow.high - narrow.low)


@pytest.mark.parametrize(
    "args",
    [
        ([0.5], [1.0], [1.0]),  # one decision
        ([0.0, 0.5], [1.0, 1.0], [1.0, 1.0]),  # propensity 0
        ([0.5, 0.5], [1.0], [1.0, 1.0]),  # lengths differ
        ([0.5, 0.5], [1.0, 1.0], [1.0, 1.5]),  # not a probability
    ],
)
def test_malformed_logs_are_refused(args: tuple[list[float], ...]) -> None:
    with pytest.raises(ValueError):
        ips(*args)


def test_snips_needs_some_target_mass_and_dr_needs_valid_arms() -> None:
    with pytest.raises(ValueError, match="probability 0"):
        snips([0.5, 0.5], [1.0, 0.0], [0.0, 0.0])
    with pytest.raises(ValueError, match="column indices"):
        doubly_robust([0.5, 0.5], [0, 2], [1.0, 0.0], np.full((2, 2), 0.5), [0.0, 0.0])


def test_estimates_and_coverage_from_uniform_logs_of_a_deterministic_target() -> None:
    # Uniform logging over 5 arms; the target always plays the 6% arm. 100 logs of 50,000
    # decisions. DR's reward model is deliberately wrong (5% for every arm): the IPS
    # correction must remove its bias.
    rates = np.array([0.04, 0.045, 0.05, 0.055, 0.06])
    truth, reps, size = 0.06, 100, 50_000
    rng = np.random.default_rng(2024)
    results: dict[str, list[OffPolicyEstimate]] = {"ips": [], "snips": [], "dr": []}
    for _ in range(reps):
        arm = rng.integers(0, 5, size)
        reward = (rng.random(size) < rates[arm]).astype(float)
        propensity = np.full(size, 0.2)
        probs = np.zeros((size, 5))
        probs[:, 4] = 1.0
        target = probs[np.arange(size), arm]
        results["ips"].append(ips(propensity, reward, target))
        results["snips"].append(snips(propensity, reward, target))
        results["dr"].append(doubly_robust(propensity, arm, reward, probs, np.full(5, 0.05)))
    for name, estimates in results.items():
        values = np.array([e.estimate for e in estimates])
        covered = np.mean([e.low <= truth <= e.high for e in estimates])
        within = np.mean(np.abs(values / truth - 1) <= 0.10)
        assert abs(values.mean() / truth - 1) < 0.02, name
        assert within >= 0.95, (name, within)
        assert covered >= 0.90, (name, covered)
