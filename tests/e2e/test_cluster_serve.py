"""decide on Redis Cluster as a user runs it: `decide serve` from REDIS_URL, and a master down."""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from decide.app import create_app
from decide.settings import Settings
from decide.store import keys
from decide.store.local_cluster import LocalCluster
from tests.conftest import Store
from tests.helpers import WEB_RULE
from tests.processes import Served


@pytest.mark.slow
def test_two_workers_decide_and_count_on_a_cluster(cluster: Store, tmp_path: Path) -> None:
    cluster.flush()
    served = Served(tmp_path, "--demo", "--workers", "2", env={"REDIS_URL": cluster.url})
    try:
        served.wait_ready()
        answer = httpx.post(
            served.url + "/v1/decide", json={"contact_id": "maryam", "placement": "homepage_hero"}
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        seen = {"event_id": "e1", "type": "impression", "contact_id": "maryam",
                "decision_id": body["decision_id"]}  # fmt: skip
        for expected in ({"accepted": 1, "duplicate": 0}, {"accepted": 0, "duplicate": 1}):
            result = httpx.post(served.url + "/v1/events", json={"events": [seen]}).json()
            assert {k: result[k] for k in expected} == expected
        assert httpx.get(served.url + "/readyz").json()["checks"]["store"] is True
    finally:
        output = served.stop()
    assert "Traceback" not in output, output
    client = cluster.client()
    assert client.exists(keys.contact_state("maryam")) == 1
    assert any(name.endswith(b":n") for name in client.hkeys(keys.arm_stats("homepage_hero")))


@contextlib.contextmanager
def _settled_heap() -> Iterator[None]:
    """The heap frozen as `decide serve` workers freeze theirs (app._settle_heap): this test
    process holds pytest and every module of the suite, so one full collection here takes
    ~95 ms, and the decision it lands in overruns its 50 ms read budget and is served degraded
    whatever its master. Unfrozen after, so the suite's garbage is still collected."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _master_of_slot_0(nodes: LocalCluster) -> int:
    """The master CLUSTER SLOTS lists first: redis-py's default node, which it asked the
    COMMAND table of on every rebuild of its slot map."""
    first = min(nodes.nodes()[0].execute_command("CLUSTER", "SLOTS"), key=lambda r: r[0])
    assert first[0] == 0
    return nodes.ports.index(int(first[2][1]))


@pytest.mark.slow
@pytest.mark.parametrize("which", ["config", "slot 0"])
def test_a_master_down_degrades_only_the_contacts_on_its_slots(tmp_path: Path, which: str) -> None:
    """The config's master: decisions go on from the snapshot. Slot 0's: redis-py's default
    node, the one its map rebuilds asked COMMAND of. The placement's counters are elsewhere:
    with their master down, no decision of the placement can be recorded."""
    with LocalCluster(tmp_path / "cluster") as nodes:
        masters = {"config": nodes.master_of(keys.CONFIG_VERSION),
                   "slot 0": _master_of_slot_0(nodes)}  # fmt: skip
        assert len(set(masters.values())) == 2
        down = masters[which]
        placement = next(
            name for name in ("hero", *(f"hero{i}" for i in range(1, 30)))
            if nodes.master_of(keys.arm_stats(name)) != down
        )  # fmt: skip
        settings = Settings(config_refresh_s=3600)
        with TestClient(create_app(settings, nodes.url)) as api:
            assert api.put(f"/v1/placements/{placement}", json=WEB_RULE).status_code == 201
            nodes.kill(down)
            contacts = [f"v{i}" for i in range(24)]
            degraded = {}
            with _settled_heap():
                for contact in contacts:
                    started = time.monotonic()
                    answer = api.post(
                        "/v1/decide", json={"contact_id": contact, "placement": placement}
                    )
                    elapsed = time.monotonic() - started
                    assert answer.status_code == 200 and elapsed < 2.0, (answer.text, elapsed)
                    degraded[contact] = answer.json().get("degraded", False)
    on_down = {c: nodes.master_of(keys.contact_state(c)) == down for c in contacts}
    assert degraded == on_down
    assert any(on_down.values()) and not all(on_down.values())
