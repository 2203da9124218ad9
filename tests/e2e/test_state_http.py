"""A placement's learned state saved and restored through the API."""

from __future__ import annotations

from tests.conftest import Store
from tests.e2e.test_bandit_http import bandit_placement
from tests.helpers import decide, event


def test_export_then_import_restores_the_counters(api, store: Store) -> None:
    assert (
        api.put(
            "/v1/placements/hero", json=bandit_placement(segment_by="contact.locale")
        ).status_code
        == 201
    )
    body = decide(api, "c-1", "hero", attributes={"locale": "fa"})
    api.post("/v1/events", json={"events": [event("e1", "click", "c-1", body["decision_id"])]})
    saved = api.get("/v1/placements/hero/state").json()
    arm = body["message"]["key"]
    assert saved["segments"]["fa"][arm] == {"decided": 1, "n": 1, "sum": 1, "sum_sq": 1}
    assert saved["segments"][""][arm]["sum"] == 1

    for i in range(5):
        decide(api, f"x-{i}", "hero", attributes={"locale": "en"})
    assert api.put("/v1/placements/hero/state", json=saved).json()["imported"] == 2
    assert api.get("/v1/placements/hero/state").json()["segments"] == saved["segments"]


def test_bad_state_is_refused_whole(api, store: Store) -> None:
    assert api.put("/v1/placements/hero", json=bandit_placement()).status_code == 201
    decide(api, "c-1", "hero")
    before = api.get("/v1/placements/hero/state").json()["segments"]
    bad = {"segments": {"": {"a": {"n": -1, "sum": "x", "wins": 3}}}}
    response = api.put("/v1/placements/hero/state", json=bad)
    assert response.status_code == 422
    fields = {d["field"] for d in response.json()["error"]["details"]}
    assert fields == {"segments..a.n", "segments..a.sum", "segments..a.wins"}
    assert api.get("/v1/placements/hero/state").json()["segments"] == before
