"""A placement's statistics are listed from its registry set, never by SCANning the store:
a SCAN walks every key (every contact's too), so analysts' polling would slow with growth."""

from __future__ import annotations

from tests.conftest import Store
from tests.e2e.test_bandit_http import bandit_placement
from tests.helpers import decide, event


def _scans(store: Store) -> int:
    stats = store.client().info("commandstats")
    return int(stats.get("cmdstat_scan", {}).get("calls", 0))


def test_stats_and_state_list_segments_without_a_scan(api, store: Store) -> None:
    placement = bandit_placement(segment_by="contact.locale", forgetting={"window_days": 7})
    assert api.put("/v1/placements/hero", json=placement).status_code == 201
    for i, locale in enumerate(["fa", "en", "fa", "he"]):
        body = decide(api, f"c-{i}", "hero", attributes={"locale": locale})
        shown = event(f"i-{i}", "impression", f"c-{i}", body["decision_id"])
        assert api.post("/v1/events", json={"events": [shown]}).json()["accepted"] == 1
    before = _scans(store)
    segments = {s["segment"] for s in api.get("/v1/placements/hero/stats").json()["segments"]}
    exported = api.get("/v1/placements/hero/state").json()
    assert _scans(store) == before
    assert segments == {"", "fa", "en", "he"}
    assert set(exported["segments"]) == {"", "fa", "en", "he"} and exported["daily"]
