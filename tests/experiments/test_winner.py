"""The winner rule, state by state: SRM, timing, sample size, primary metric and guardrails."""

from __future__ import annotations

import json

import pytest

from experiments.power import sample_size_proportion
from experiments.results import ExperimentAnalysis, MetricInput, analyze
from experiments.statistics import ProportionStatistic
from experiments.winner import Guardrail, WinnerRule, decide_winner

Counts = dict[str, tuple[int, int]]


def make(
    clicks: Counts,
    unsubscribes: Counts | None = None,
    users: dict[str, int] | None = None,
) -> ExperimentAnalysis:
    keys = list(clicks)
    metrics = {"click": MetricInput({k: ProportionStatistic(*clicks[k]) for k in keys})}
    if unsubscribes is not None:
        metrics["unsubscribe"] = MetricInput(
            {k: ProportionStatistic(*unsubscribes[k]) for k in keys}, higher_is_better=False
        )
    return analyze(
        metrics,
        users=users or {k: clicks[k][0] for k in keys},
        weights={k: 1.0 for k in keys},
        control=keys[0],
    )


CLEAR = {"control": (10_000, 1_000), "b": (10_000, 1_250)}
FLAT = {"control": (10_000, 1_000), "b": (10_000, 1_010)}
SEQUENTIAL = WinnerRule(primary_metric="click")
BAYESIAN = WinnerRule(primary_metric="click", method="bayesian")


def test_clear_sequential_winner() -> None:
    decision = decide_winner(make(CLEAR), SEQUENTIAL)
    assert (decision.state, decision.winner) == ("winner", "b")
    primary = [e for e in decision.evidence if e.check == "primary"]
    assert primary[0].statistic == "sequential_p_value_holm" and primary[0].value < 0.05


def test_srm_blocks_even_a_clear_winner() -> None:
    analysis = make(CLEAR, users={"control": 10_000, "b": 10_600})
    decision = decide_winner(analysis, SEQUENTIAL, at_horizon=True)
    assert (decision.state, decision.winner) == ("blocked_srm", None)
    assert decision.evidence[0].check == "srm" and decision.evidence[0].value < 0.001


def test_no_effect_collects_then_ends_without_a_winner() -> None:
    assert decide_winner(make(FLAT), SEQUENTIAL).state == "collecting"
    assert decide_winner(make(FLAT), SEQUENTIAL, at_horizon=True).state == "no_winner"


def test_bayesian_is_read_only_at_the_horizon() -> None:
    early = decide_winner(make(CLEAR), BAYESIAN)
    assert early.state == "collecting" and early.winner is None
    at_horizon = decide_winner(make(CLEAR), BAYESIAN, at_horizon=True)
    assert (at_horizon.state, at_horizon.winner) == ("winner", "b")
    chance = next(e for e in at_horizon.evidence if e.check == "primary")
    assert chance.statistic == "chance_to_beat_control" and chance.value >= 0.95
    assert decide_winner(make(FLAT), BAYESIAN, at_horizon=True).state == "no_winner"


def test_waits_for_the_minimum_users() -> None:
    rule = WinnerRule(primary_metric="click", min_users_per_variation=20_000)
    assert decide_winner(make(CLEAR), rule).state == "collecting"
    assert decide_winner(make(CLEAR), rule, at_horizon=True).state == "no_winner"


def test_minimum_users_come_from_the_power_calculation() -> None:
    rule = WinnerRule(primary_metric="click", mde=0.1, min_users_per_variation=100)
    decision = decide_winner(make(CLEAR), rule)
    needed = sample_size_proportion(0.1, 0.1, alpha=0.05, power=0.8)
    assert needed > 10_000
    users = [e for e in decision.evidence if e.check == "min_users"]
    assert all(e.threshold == needed and not e.passed for e in users)
    assert decision.state == "collecting"
    bigger = {"control": (20_000, 2_000), "b": (20_000, 2_500)}
    assert decide_winner(make(bigger), rule).state == "winner"


def test_no_baseline_yet_means_collecting() -> None:
    rule = WinnerRule(primary_metric="click", mde=0.1)
    empty = {"control": (500, 0), "b": (500, 0)}
    assert decide_winner(make(empty), rule).state == "collecting"


def test_guardrail_shown_harmful_blocks_at_once() -> None:
    harmful = {"control": (10_000, 20), "b": (10_000, 120)}
    rule = WinnerRule(primary_metric="click", guardrails=(Guardrail("unsubscribe", 0.1),))
    decision = decide_winner(make(CLEAR, harmful), rule)
    assert (decision.state, decision.winner) == ("blocked_guardrail", None)
    guard = next(e for e in decision.evidence if e.check == "guardrail")
    assert guard.metric == "unsubscribe" and not guard.passed


def test_guardrail_not_yet_shown_safe_keeps_collecting() -> None:
    unsure = {"control": (10_000, 20), "b": (10_000, 22)}
    rule = WinnerRule(primary_metric="click", guardrails=(Guardrail("unsubscribe", 0.1),))
    assert decide_winner(make(CLEAR, unsure), rule).state == "collecting"
    assert decide_winner(make(CLEAR, unsure), rule, at_horizon=True).state == "blocked_guardrail"


def test_guardrail_within_an_absolute_margin_lets_the_winner_through() -> None:
    fine = {"control": (10_000, 20), "b": (10_000, 22)}
    guardrail = Guardrail("unsubscribe", 0.005, margin_type="absolute")
    for rule, at_horizon in [
        (WinnerRule(primary_metric="click", guardrails=(guardrail,)), False),
        (WinnerRule(primary_metric="click", method="bayesian", guardrails=(guardrail,)), True),
    ]:
        decision = decide_winner(make(CLEAR, fine), rule, at_horizon=at_horizon)
        assert (decision.state, decision.winner) == ("winner", "b")


def test_the_best_safe_candidate_wins() -> None:
    clicks = {"control": (10_000, 1_000), "b": (10_000, 1_300), "c": (10_000, 1_200)}
    unsubscribes = {"control": (10_000, 20), "b": (10_000, 150), "c": (10_000, 21)}
    guardrail = Guardrail("unsubscribe", 0.005, margin_type="absolute")
    rule = WinnerRule(primary_metric="click", guardrails=(guardrail,))
    decision = decide_winner(make(clicks, unsubscribes), rule)
    assert (decision.state, decision.winner) == ("winner", "c")
    without_guardrails = decide_winner(make(clicks, unsubscribes), SEQUENTIAL)
    assert without_guardrails.winner == "b"


def test_lower_is_better_primary_metric() -> None:
    unsubscribes = {"control": (20_000, 200), "b": (20_000, 100)}
    analysis = make({"control": (20_000, 2_000), "b": (20_000, 2_000)}, unsubscribes)
    decision = decide_winner(analysis, WinnerRule(primary_metric="unsubscribe"))
    assert (decision.state, decision.winner) == ("winner", "b")
    worse = make(
        {"control": (20_000, 2_000), "b": (20_000, 2_000)},
        {"control": (20_000, 100), "b": (20_000, 200)},
    )
    assert (
        decide_winner(worse, WinnerRule(primary_metric="unsubscribe"), at_horizon=True).state
        == "no_winner"
    )


def test_unknown_metrics_and_bad_rules_are_refused() -> None:
    with pytest.raises(ValueError, match="revenue"):
        decide_winner(make(CLEAR), WinnerRule(primary_metric="revenue"))
    with pytest.raises(ValueError):
        WinnerRule(primary_metric="click", method="thompson")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        WinnerRule(primary_metric="click", mde=-0.1)
    with pytest.raises(ValueError):
        Guardrail("unsubscribe", -0.1)


def test_decision_serialises_for_the_log() -> None:
    decision = decide_winner(make(CLEAR), SEQUENTIAL)
    document = json.loads(json.dumps(decision.to_dict(), allow_nan=False))
    assert document["state"] == "winner" and document["winner"] == "b"
    assert {e["check"] for e in document["evidence"]} == {"srm", "min_users", "primary"}
