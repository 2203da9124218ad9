"""Raw rows out as NDJSON: events, bandit decisions, experiment exposures."""

from __future__ import annotations

import orjson

from tests.conftest import Store
from tests.e2e.test_bandit_http import bandit_placement
from tests.e2e.test_experiment_results_http import PLACEMENT, experiment
from tests.helpers import decide, event


def _rows(text: str) -> list[dict]:
    return [orjson.loads(line) for line in text.splitlines()]


def test_events_page_through_in_order(api, store: Store) -> None:
    for ids in (["e0", "e1"], ["e2", "e3"], ["e4"]):  # three requests
        api.post("/v1/events", json={"events": [event(i, "open", "c-1") for i in ids]})
    first = api.get("/v1/export/events?limit=3")
    assert first.headers["content-type"].startswith("application/x-ndjson")
    rows = _rows(first.text)
    # a page ends where a request's events end
    assert [r["event_id"] for r in rows] == ["e0", "e1", "e2", "e3"] and rows[0]["type"] == "open"
    after = first.headers["x-next-after"]
    rest = api.get(f"/v1/export/events?after={after}&limit=3")
    assert [r["event_id"] for r in _rows(rest.text)] == ["e4"]
    assert "x-next-after" not in rest.headers
    assert api.get("/v1/export/events?limit=0").status_code == 422
    assert api.get("/v1/export/events?after=nonsense").status_code == 422


def test_decisions_and_exposures(api, store: Store) -> None:
    assert api.put("/v1/placements/hero", json=bandit_placement()).status_code == 201
    token = decide(api, "c-1", "hero", context={})["decision_id"]
    api.post("/v1/events", json={"events": [event("e1", "click", "c-1", token)]})
    (row,) = _rows(api.get("/v1/placements/hero/decisions.ndjson").text)
    assert row["contact_id"] == "c-1" and 0 < row["propensity"] <= 1
    (logged,) = _rows(api.get("/v1/export/events").text)
    assert logged["decision"]["nonce"] == row["nonce"]

    assert api.put("/v1/placements/news", json=PLACEMENT).status_code == 201
    assert api.put("/v1/experiments/subject", json=experiment()).status_code == 201
    variations = {decide(api, f"c-{i}", "news")["assignment"]["variation"] for i in range(10)}
    rows = _rows(api.get("/v1/experiments/subject/exposures.ndjson").text)
    assert len(rows) == 10 and {r["variation"] for r in rows} == variations
