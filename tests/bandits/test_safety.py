from __future__ import annotations

import numpy as np
import pytest

from bandits.config import BanditConfig
from bandits.policy import apply_safety, make_policy
from bandits.stats import ArmStats
from tests.bandits.cases import CASES, LOPSIDED, POLICIES, TYPICAL, binary

GUARDED = [
    BanditConfig(),
    BanditConfig(floor=0.02),
    BanditConfig(floor=0.5),  # more than an even split allows: capped at an even split
    BanditConfig(control="a", control_share=0.1, floor=0.01),
    BanditConfig(warmup=100),
    BanditConfig(stop_loss=0.05, floor=0.01),
]


def _check(weights: dict[str, float], stats: dict[str, ArmStats], config: BanditConfig) -> None:
    assert list(weights) == list(stats)
    values = np.array(list(weights.values()))
    assert (values >= 0).all()
    assert values.sum() == pytest.approx(1.0, abs=1e-12)
    control = config.control if config.control in stats and len(stats) > 1 else None
    bandit = [arm for arm in stats if arm != control]
    if control is not None:
        assert weights[control] == pytest.approx(config.control_share)
    floor = min(config.floor, (1 - (config.control_share if control else 0)) / len(bandit))
    assert min(weights[arm] for arm in bandit) >= floor - 1e-12


@pytest.mark.parametrize("algorithm", POLICIES)
@pytest.mark.parametrize("case", sorted(CASES))
def test_every_policy_gives_valid_guarded_weights(algorithm: str, case: str) -> None:
    stats = CASES[case]
    reward = "value" if case == "revenue" else "binary"
    rng = np.random.default_rng(7)
    for base in GUARDED:
        config = BanditConfig(**{**base.__dict__, "algorithm": algorithm, "reward": reward})
        _check(make_policy(config).weights(stats, rng), stats, config)


@pytest.mark.parametrize("algorithm", POLICIES)
def test_warmup_is_uniform_over_the_bandit_arms(algorithm: str) -> None:
    stats = {**TYPICAL, "c": binary(99, 5)}
    config = BanditConfig(algorithm=algorithm, warmup=100, control="a", control_share=0.2)
    weights = make_policy(config).weights(stats, np.random.default_rng(1))
    assert weights["a"] == pytest.approx(0.2)
    assert [weights[arm] for arm in "bcde"] == pytest.approx([0.2] * 4)
    if algorithm != "uniform":
        warm = {**stats, "c": binary(100, 5)}
        assert make_policy(config).weights(warm, np.random.default_rng(1)) != weights


def test_the_control_keeps_its_share_and_stays_out_of_the_bandit() -> None:
    # The control is the best arm here, but it is a baseline, not a contender.
    stats = {"control": binary(5000, 500), "x": binary(5000, 200), "y": binary(5000, 100)}
    config = BanditConfig(algorithm="ucb1", control="control", control_share=0.1)
    assert make_policy(config).weights(stats, np.random.default_rng(0)) == pytest.approx(
        {"control": 0.1, "x": 0.9, "y": 0.0}
    )


def test_a_control_that_is_not_drawable_is_ignored_and_a_lone_control_gets_everything() -> None:
    config = BanditConfig(algorithm="uniform", control="z", control_share=0.3)
    assert make_policy(config).weights(TYPICAL, np.random.default_rng(0))["a"] == 0.2
    assert make_policy(config).weights({"z": ArmStats()}, np.random.default_rng(0)) == {"z": 1.0}


def test_floor_takes_mass_proportionally_from_the_arms_above_it() -> None:
    raw = {"a": 0.9, "b": 0.095, "c": 0.005}
    weights = apply_safety(raw, {arm: ArmStats() for arm in raw}, BanditConfig(floor=0.05))
    assert weights["c"] == pytest.approx(0.05)
    # a and b share the remaining 0.95 in their original 0.9 : 0.095 proportion
    assert weights["a"] / weights["b"] == pytest.approx(0.9 / 0.095)
    assert sum(weights.values()) == pytest.approx(1.0)


def test_floor_cascades_when_scaling_pushes_another_arm_under_it() -> None:
    raw = {"a": 0.94, "b": 0.051, "c": 0.009}
    weights = apply_safety(raw, {arm: ArmStats() for arm in raw}, BanditConfig(floor=0.05))
    assert weights == pytest.approx({"a": 0.9, "b": 0.05, "c": 0.05})


def test_apply_safety_drops_a_controls_weight_and_renormalises() -> None:
    stats = {arm: ArmStats() for arm in "abc"}
    config = BanditConfig(control="a", control_share=0.5)
    weights = apply_safety({"a": 0.5, "b": 0.4, "c": 0.1}, stats, config)
    assert weights == pytest.approx({"a": 0.5, "b": 0.4, "c": 0.1})
    assert apply_safety({}, stats, config) == pytest.approx({"a": 0.5, "b": 0.25, "c": 0.25})


def test_stop_rule_serves_the_clear_winner_but_keeps_floor_and_control() -> None:
    stats = {"ctl": binary(20_000, 600), **LOPSIDED}
    config = BanditConfig(
        algorithm="uniform", stop_loss=0.01, floor=0.02, control="ctl", control_share=0.1
    )
    weights = make_policy(config).weights(stats, np.random.default_rng(0))
    assert weights == pytest.approx({"ctl": 0.1, "a": 0.86, "b": 0.02, "c": 0.02})


def test_stop_rule_keeps_exploring_while_the_leader_is_uncertain() -> None:
    config = BanditConfig(algorithm="uniform", stop_loss=0.01)
    weights = make_policy(config).weights(TYPICAL, np.random.default_rng(0))
    assert weights == pytest.approx(dict.fromkeys(TYPICAL, 0.2))


def test_no_drawable_arms_is_an_error() -> None:
    with pytest.raises(ValueError, match="no drawable arms"):
        make_policy(BanditConfig()).weights({}, np.random.default_rng(0))
    with pytest.raises(ValueError, match="no drawable arms"):
        apply_safety({}, {}, BanditConfig())
