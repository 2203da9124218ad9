"""Holdouts keep a share of contacts out of experiments and bandits."""

from __future__ import annotations

from tests.conftest import Store
from tests.e2e.test_bandit_http import bandit_placement
from tests.e2e.test_experiment_results_http import PLACEMENT, experiment
from tests.helpers import decide


def test_a_global_holdout_gets_defaults_everywhere(api, store: Store) -> None:
    assert api.put("/v1/placements/news", json=PLACEMENT).status_code == 201
    assert api.put("/v1/experiments/subject", json=experiment()).status_code == 201
    assert api.put("/v1/placements/hero", json=bandit_placement()).status_code == 201
    assert api.put("/v1/holdouts/global", json={"share": 0.1}).status_code == 201
    held = [decide(api, f"c-{i}", "news") for i in range(400)]
    sources = [b["assignment"]["source"] for b in held]
    share = sources.count("holdout") / len(sources)
    assert 0.05 < share < 0.15
    for body in held:
        if body["assignment"]["source"] == "holdout":
            assert body["message"]["key"] == "a" and body["assignment"]["holdout"] == "global"
            bandit = decide(api, f"c-{held.index(body)}", "hero")
            assert bandit["assignment"]["source"] == "holdout"
    results = api.get("/v1/experiments/subject/results").json()
    assert sum(results["users"].values()) == sources.count("experiment")  # held out: not analysed


def test_a_namespaced_holdout_only_covers_its_namespace(api, store: Store) -> None:
    assert api.put("/v1/placements/news", json=PLACEMENT).status_code == 201
    inside = experiment(namespace=["newsletter", 0, 1])
    assert api.put("/v1/experiments/subject", json=inside).status_code == 201
    assert api.put("/v1/placements/hero", json=bandit_placement()).status_code == 201
    assert (
        api.put("/v1/holdouts/nl", json={"share": 0.5, "namespaces": ["newsletter"]}).status_code
        == 201
    )
    sources = {decide(api, f"c-{i}", "news")["assignment"]["source"] for i in range(60)}
    assert sources == {"holdout", "experiment"}
    assert {decide(api, f"c-{i}", "hero")["assignment"]["source"] for i in range(60)} == {"bandit"}


def test_holdout_validation(api, store: Store) -> None:
    response = api.put("/v1/holdouts/h", json={"share": 0.9, "namespaces": "x"})
    assert response.status_code == 422
    assert {d["field"] for d in response.json()["error"]["details"]} == {"share", "namespaces"}
    assert api.get("/v1/holdouts/h").status_code == 404


def test_held_out_contacts_still_meet_eligibility(api, store: Store) -> None:
    placement = PLACEMENT | {"eligibility": {"contact.lifecycle_stage": "customer"}}
    assert api.put("/v1/placements/news", json=placement).status_code == 201
    assert api.put("/v1/experiments/subject", json=experiment()).status_code == 201
    assert api.put("/v1/holdouts/all", json={"share": 0.5}).status_code == 201
    bodies = [
        decide(api, f"c-{i}", "news", attributes={"lifecycle_stage": "lead"}) for i in range(40)
    ]
    held = [b for b in bodies if b["assignment"]["source"] == "holdout"]
    assert held and all(b["message"] is None and b["reason"] == "not_eligible" for b in held)
