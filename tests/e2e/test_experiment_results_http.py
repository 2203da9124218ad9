"""Experiments measured per contact, analysed, and a true winner rolled out by itself."""

from __future__ import annotations

import re

import numpy as np
import pytest

from tests.conftest import Store
from tests.helpers import decide, event

PLACEMENT = {
    "channels": ["web"],
    "policy": {"type": "experiment", "experiment": "subject"},
    "messages": [{"key": k, "content": {"web": {"headline": f"Headline {k}"}}} for k in "ab"],
}


def experiment(**extra: object) -> dict[str, object]:
    return {
        "placement": "news", "status": "running",
        "variations": [{"key": "a", "message": "a"}, {"key": "b", "message": "b"}],
        "metrics": {"primary": {"event": "click", "type": "binomial", "window_hours": 72},
                    "secondary": [{"event": "purchase", "type": "revenue", "currency": "EUR"},
                                  {"event": "click", "type": "count", "name": "clicks"}],
                    "guardrails": [{"event": "unsubscribe", "type": "binomial", "margin": 0.5}]},
        **extra,
    }  # fmt: skip


def _setup(api, **extra: object) -> None:
    assert api.put("/v1/placements/news", json=PLACEMENT).status_code == 201
    assert api.put("/v1/experiments/subject", json=experiment(**extra)).status_code == 201


def _stats(results: dict, metric: str) -> dict[str, tuple[int, float]]:
    (found,) = [m for m in results["analysis"]["metrics"] if m["metric"] == metric]
    arms = [found["control"], *found["variations"]]
    return {arm["variation"]: (arm["users"], arm["mean"]) for arm in arms}


def test_metrics_are_exact_per_contact(api, store: Store) -> None:
    _setup(api)
    first = decide(api, "c-1", "news")
    other = "c-2"
    decide(api, other, "news")
    token = first["decision_id"]
    events = [
        event("e1", "click", "c-1", token), event("e2", "click", "c-1"),  # converts twice
        event("e3", "purchase", "c-1", value=10.0, currency="EUR"),
        event("e4", "purchase", "c-1", value=5.0, currency="EUR"),
        event("e5", "purchase", "c-1", value=99.0, currency="USD"),  # another currency
        event("e6", "click", "stranger"),  # never exposed: not in the experiment
    ]  # fmt: skip
    assert api.post("/v1/events", json={"events": events}).json()["accepted"] == 6
    assert api.post("/v1/events", json={"events": events}).json()["duplicate"] == 6
    results = api.get("/v1/experiments/subject/results").json()
    arm = first["assignment"]["variation"]
    assert sum(results["users"].values()) == 2
    users, rate = _stats(results, "click")[arm]
    assert rate == pytest.approx(1 / users)  # converted once, however many clicks
    assert _stats(results, "clicks")[arm][1] == pytest.approx(2 / users)
    assert _stats(results, "purchase")[arm][1] == pytest.approx(15.0 / users)  # EUR only
    assert results["analysis"]["srm"]["p_value"] > 0.001


def test_a_true_winner_is_rolled_out_by_itself(api, store: Store) -> None:
    auto = {"enabled": True, "min_users_per_variation": 300, "check_every_minutes": 0}
    # No guardrail here: with ~450 contacts per arm none could prove non-inferiority, and the
    # rule rightly waits for that (tests/experiments/test_winner.py covers guardrails).
    primary = {"primary": {"event": "click", "type": "binomial", "window_hours": 72}}
    _setup(api, auto_winner=auto, metrics=primary)
    rng = np.random.default_rng(11)
    rates = {"a": 0.08, "b": 0.24}
    for i in range(900):
        body = decide(api, f"c-{i}", "news")
        arm, token = body["assignment"]["variation"], body["decision_id"]
        batch = [event(f"i{i}", "impression", f"c-{i}", token)]
        if rng.random() < rates[arm]:
            batch.append(event(f"k{i}", "click", f"c-{i}", token))
        assert api.post("/v1/events", json={"events": batch}).status_code == 200
    verdict = api.post("/v1/experiments/subject/check").json()
    assert verdict["winner"]["state"] == "winner" and verdict["winner"]["winner"] == "b"
    assert verdict["status"] == "rolled_out"
    stored = api.get("/v1/experiments/subject").json()
    assert stored["status"] == "rolled_out" and stored["rollout_variation"] == "b"
    assert {decide(api, f"new-{i}", "news")["message"]["key"] for i in range(20)} == {"b"}
    (action,) = api.get("/v1/experiments/subject/log").json()["actions"]
    assert action["action"] == "rolled_out" and action["verdict"]["winner"] == "b"
    assert any(e["check"] == "primary" and e["passed"] for e in action["verdict"]["evidence"])
    audited = api.get("/v1/audit?limit=1").json()["entries"][0]
    assert audited["by"] == "auto_winner" and audited["action"] == "rollout"


def test_no_winner_without_enough_users(api, store: Store) -> None:
    _setup(api, auto_winner={"enabled": True, "min_users_per_variation": 5000})
    for i in range(50):
        decide(api, f"c-{i}", "news")
    verdict = api.post("/v1/experiments/subject/check").json()
    assert verdict["winner"]["state"] == "collecting" and verdict["status"] == "running"


def test_results_of_an_unknown_experiment_or_phase(api, store: Store) -> None:
    assert api.get("/v1/experiments/nope/results").status_code == 404
    _setup(api)
    assert api.get("/v1/experiments/subject/results?phase=3").status_code == 422
    assert api.get("/v1/experiments/subject/results").json()["analysis"] is None


def test_the_report_page_is_self_contained(api, store: Store) -> None:
    _setup(api)
    rng = np.random.default_rng(3)
    for i in range(120):
        body = decide(api, f"c-{i}", "news")
        if rng.random() < 0.3:
            api.post("/v1/events", json={"events": [event(f"k{i}", "click", f"c-{i}")]})
    page = api.get("/reports/experiments/subject")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    text = page.text
    assert (
        "<svg" in text
        and "Cumulative lift on click" in text
        and '<td><bdi dir="auto">b</bdi></td>' in text
    )
    assert "http://" not in text and "https://" not in text and "<script" not in text  # offline
    assert body["assignment"]["experiment"] == "subject"
    # A variation keeps its colour from the lift chart to the per-variation chart, and the
    # lift's interval band is drawn in its variation's colour.
    lift, rates = re.findall(r"<figure>.*?</figure>", text, re.S)[:2]
    legend = r'style="fill:(#[0-9a-f]{6})">([^<]+)</text>'
    in_lift = {name: colour for colour, name in re.findall(legend, lift)}
    in_rates = {name: colour for colour, name in re.findall(legend, rates)}
    assert set(in_lift) == {"b"} and set(in_rates) == {"a", "b"}
    assert in_lift["b"] == in_rates["b"] != in_rates["a"]
    assert f'fill="{in_lift["b"]}" fill-opacity="0.15"' in lift


def test_cuped_uses_behaviour_before_exposure(api, store: Store) -> None:
    _setup(api)
    rng = np.random.default_rng(2)
    for i in range(200):
        before = int(rng.poisson(2))  # a contact's clicks before it saw the experiment
        history = [event(f"h{i}-{j}", "click", f"c-{i}") for j in range(before)]
        if history:
            api.post("/v1/events", json={"events": history})
        decide(api, f"c-{i}", "news")
        after = [event(f"a{i}-{j}", "click", f"c-{i}") for j in range(int(rng.poisson(1 + before)))]
        if after:
            api.post("/v1/events", json={"events": after})
    results = api.get("/v1/experiments/subject/results").json()
    (clicks,) = [m for m in results["analysis"]["metrics"] if m["metric"] == "clicks"]
    assert clicks["kind"] == "cuped"
    (variation,) = clicks["variations"]
    assert variation["cuped"]["variance_reduction"] > 0.2  # the history explains much of it


def test_a_metric_on_an_event_that_can_never_arrive_is_refused(api, store: Store) -> None:
    assert api.put("/v1/placements/news", json=PLACEMENT).status_code == 201
    metrics = {"primary": {"event": "Purchase", "type": "binomial"}}  # types are lowercase
    response = api.put("/v1/experiments/subject", json=experiment(metrics=metrics))
    assert response.status_code == 422
    assert [d["field"] for d in response.json()["error"]["details"]] == ["metrics.primary.event"]


def _clicked(api, phase: int | None = None) -> dict[str, tuple[int, float]]:
    query = f"?phase={phase}" if phase else ""
    results = api.get(f"/v1/experiments/subject/results{query}").json()
    return {v: s for v, s in _stats(results, "click").items() if s[0]}  # arms with users


def test_only_the_current_phase_and_the_metric_window_count(api, store: Store, clock) -> None:
    """Re-weighting starts phase 2: a phase-1 contact's later click (with its phase-1
    decision_id) is not phase 2's, a click before a contact's exposure is nobody's, and one
    past the metric's window (72 h) does not count either."""
    _setup(api)
    old = decide(api, "c-1", "news")
    assert api.post("/v1/events", json={"events": [event("e1", "click", "c-1")]}).status_code == 200
    assert _clicked(api) == {old["assignment"]["variation"]: (1, 1.0)}
    weights = [
        {"key": "a", "message": "a", "weight": 0.3},
        {"key": "b", "message": "b", "weight": 0.7},
    ]
    assert (
        api.put("/v1/experiments/subject", json=experiment(variations=weights)).json()["phase"] == 2
    )
    clock.advance(60)
    events = [
        event("e2", "click", "c-1", old["decision_id"]),  # phase 1's decision
        event("e3", "click", "c-2"),
    ]  # before c-2 is exposed
    assert api.post("/v1/events", json={"events": events}).json()["accepted"] == 2
    clock.advance(60)
    late = decide(api, "c-2", "news")["assignment"]
    assert late["phase"] == 2
    clock.advance(73 * 3600)
    outside = {"events": [event("e4", "click", "c-2")]}
    assert api.post("/v1/events", json=outside).json()["accepted"] == 1
    assert _clicked(api) == {late["variation"]: (1, 0.0)}  # c-1 never exposed in phase 2
    assert _clicked(api, phase=1) == {old["assignment"]["variation"]: (1, 1.0)}


def test_a_past_phase_is_analysed_with_its_own_variations_and_weights(api, store: Store) -> None:
    """Phase 1 split 50/50; re-weighted to 10/90 (phase 2), then a third variation (phase 3).
    Phase 1's results must be judged against 50/50 over a and b: against today's allocation
    they would raise a false sample-ratio alarm."""
    _setup(api)
    for i in range(200):
        decide(api, f"c-{i}", "news")
    heavy = [
        {"key": "a", "message": "a", "weight": 0.1},
        {"key": "b", "message": "b", "weight": 0.9},
    ]
    assert (
        api.put("/v1/experiments/subject", json=experiment(variations=heavy)).json()["phase"] == 2
    )
    for i in range(200, 300):
        decide(api, f"c-{i}", "news")
    three = [{"key": k, "message": m} for k, m in (("a", "a"), ("b", "b"), ("c", "a"))]
    assert (
        api.put("/v1/experiments/subject", json=experiment(variations=three)).json()["phase"] == 3
    )
    for phase, expected in ((1, [0.5, 0.5]), (2, [0.1, 0.9])):
        results = api.get(f"/v1/experiments/subject/results?phase={phase}").json()
        srm = results["analysis"]["srm"]
        assert list(results["users"]) == srm["variations"] == ["a", "b"]
        assert [e / sum(srm["expected"]) for e in srm["expected"]] == pytest.approx(expected)
        assert not srm["mismatch"], (phase, srm)
    stored = api.get("/v1/experiments/subject").json()
    assert stored["phase"] == 3 and [p["phase"] for p in stored["past_phases"]] == [1, 2]
    # kept by the server; a restore may bring its own, well-formed
    restore = experiment(past_phases=[{"phase": 1, "variations": [{"key": "a"}]}])
    refused = api.put("/v1/experiments/restored", json=restore).json()["error"]["details"]
    assert [d["field"] for d in refused] == ["past_phases"]
