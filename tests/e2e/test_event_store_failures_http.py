"""An event the store could not apply is never acknowledged, not even later as a duplicate."""

from __future__ import annotations

from decide.store import keys
from decide.store.connection import sync_client
from tests.conftest import Store
from tests.e2e.test_experiment_results_http import PLACEMENT, experiment
from tests.helpers import WEB_RULE, arm_stats, decide, event


def test_a_contact_the_store_cannot_update_fails_the_batch_until_it_can(api, store: Store) -> None:
    """A WRONGTYPE contact key fails its script after the script began: the retry must not
    find a seen-marker left behind and answer `duplicate` for an event never applied."""
    assert api.put("/v1/placements/hero", json=WEB_RULE).status_code == 201
    tokens = {c: decide(api, c, "hero")["decision_id"] for c in ("c1", "c2")}
    batch = {"events": [event(f"e-{c}", "click", c, tokens[c]) for c in ("c1", "c2")]}
    client = sync_client(store.url)
    client.set(keys.contact_state("c2"), "not a hash")
    try:
        for _ in range(2):  # the retry too: c2's click is still not stored
            assert api.post("/v1/events", json=batch).status_code == 503
    finally:
        client.delete(keys.contact_state("c2"))
    assert api.post("/v1/events", json=batch).json() == {
        "accepted": 1, "duplicate": 1, "rejected": []
    }  # fmt: skip
    assert api.get("/v1/contacts/c2").json()["behaviour"]["counts"] == {"click": 1}
    stats = arm_stats(store.url, "hero")
    assert (stats["hello:n"], stats["hello:sum"]) == (2, 2)  # c1's: applied once, not per try


def test_an_experiment_metric_the_store_cannot_update_is_applied_by_the_retry(
    api, store: Store
) -> None:
    assert api.put("/v1/placements/news", json=PLACEMENT).status_code == 201
    assert api.put("/v1/experiments/subject", json=experiment()).status_code == 201
    body = decide(api, "c1", "news")
    values = keys.experiment_user_values("subject", body["assignment"]["phase"], "click")
    client = sync_client(store.url)
    client.set(values, "not a hash")
    click = {"events": [event("e1", "click", "c1", body["decision_id"])]}
    try:
        assert api.post("/v1/events", json=click).status_code == 503
    finally:
        client.delete(values)
    # The contact's part was applied by the first try: `duplicate` now, and complete.
    assert api.post("/v1/events", json=click).json()["duplicate"] == 1
    results = api.get("/v1/experiments/subject/results").json()
    (clicked,) = [m for m in results["analysis"]["metrics"] if m["metric"] == "click"]
    arms = [clicked["control"], *clicked["variations"]]
    assert [a["mean"] for a in arms if a["users"]] == [1.0]
