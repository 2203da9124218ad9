from __future__ import annotations

from typing import Any

import pytest

from bandits.config import ALGORITHMS, BanditConfig, parse_bandit_config


def test_an_empty_document_gives_the_defaults() -> None:
    assert parse_bandit_config({}) == (BanditConfig(), [])


def test_a_full_document_is_read_and_foreign_keys_are_ignored() -> None:
    doc = {
        "type": "bandit",
        "reward": {"event": "click", "value": True},
        "segment_by": "contact.locale",
        "algorithm": "ucb_tuned",
        "floor": 0.01,
        "control": "reminder",
        "control_share": 0.1,
        "warmup": 100,
        "epsilon": 0.05,
        "temperature": 0.2,
        "prior_strength": 500,
        "stop_loss": 0.01,
        "mc_draws": 4000,
    }
    config, problems = parse_bandit_config(doc)
    assert problems == []
    assert config == BanditConfig(
        algorithm="ucb_tuned",
        floor=0.01,
        control="reminder",
        control_share=0.1,
        warmup=100,
        epsilon=0.05,
        temperature=0.2,
        prior_strength=500.0,
        stop_loss=0.01,
        mc_draws=4000,
    )
    assert config.reward == "binary"  # the caller's to set
    assert isinstance(config.prior_strength, float) and isinstance(config.warmup, int)


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("algorithm", "greedy", "must be one of " + ", ".join(ALGORITHMS)),
        ("floor", 0.6, "must be between 0 and 0.5"),
        ("floor", -0.01, "must be between 0 and 0.5"),
        ("floor", True, "must be between 0 and 0.5"),
        ("floor", "0.1", "must be between 0 and 0.5"),
        ("floor", float("nan"), "must be between 0 and 0.5"),
        ("control", "", "must be an arm key"),
        ("control_share", 1.0, "must be at least 0 and below 1"),
        ("warmup", 2.5, "must be a whole number of at least 0"),
        ("warmup", -1, "must be a whole number of at least 0"),
        ("epsilon", 1.5, "must be between 0 and 1"),
        ("temperature", 0, "must be a number above 0"),
        ("prior_strength", -1, "must be a number of at least 0"),
        ("prior_strength", float("inf"), "must be a number of at least 0"),
        ("stop_loss", 0, "must be null or a number above 0 and below 1"),
        ("mc_draws", 10, "must be a whole number between 100 and 100000"),
    ],
)
def test_each_invalid_field_is_reported_with_its_path(field: str, value: Any, reason: str) -> None:
    config, problems = parse_bandit_config({field: value}, path="placements.hero.policy")
    assert problems == [(f"placements.hero.policy.{field}", reason)]
    assert getattr(config, field) == getattr(BanditConfig(), field)


def test_whole_floats_are_accepted_where_integers_are_expected() -> None:
    config, problems = parse_bandit_config({"warmup": 50.0, "mc_draws": 1000.0})
    assert problems == []
    assert (config.warmup, config.mc_draws) == (50, 1000)


def test_control_and_control_share_come_together() -> None:
    assert parse_bandit_config({"control": "a"})[1] == [
        ("policy.control_share", "must be above 0 when control is set")
    ]
    assert parse_bandit_config({"control_share": 0.1})[1] == [
        ("policy.control", "is required when control_share is above 0")
    ]
    # One mistake, one problem: an invalid share is not reported twice.
    assert parse_bandit_config({"control": "a", "control_share": 2})[1] == [
        ("policy.control_share", "must be at least 0 and below 1")
    ]


def test_stop_loss_may_be_null() -> None:
    assert parse_bandit_config({"stop_loss": None}) == (BanditConfig(), [])
