"""No acknowledged event is lost or counted twice when, under event load, Redis is killed
(SIGKILL) and restarted on its AOF (appendfsync always), or a decide worker is killed.

Clients post batches with unique event_ids and retry whatever was not acknowledged, with the
same ids. Afterwards, through the HTTP contract only: every contact's behaviour counts, the
placement's trials and rewards, and the event export hold every event exactly once.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from decide.store.embedded import EmbeddedServer
from tests.chaos.conftest import Report
from tests.helpers import WEB_RULE, event
from tests.processes import clients_of, serving, workers

pytestmark = pytest.mark.slow
CONTACTS = 200
PER_CONTACT = 100  # an impression, a click, and views
BATCH = 250
CLIENTS = 4
FAULT_AFTER = 0.25  # the fault strikes once this share of the events is acknowledged


@dataclass
class Load:
    total: int
    acked: int = 0
    accepted: int = 0
    duplicate: int = 0
    refused: Counter[int] = field(default_factory=Counter)
    transport_errors: int = 0

    def line(self) -> str:
        return (
            f"events sent {self.total}, acknowledged {self.acked} (accepted {self.accepted}, "
            f"reported duplicate {self.duplicate}), refused {dict(self.refused)}, "
            f"connection errors {self.transport_errors}"
        )


def the_events(tokens: dict[str, str]) -> list[dict[str, Any]]:
    events = []
    for c, token in tokens.items():
        events += [event(f"{c}-imp", "impression", c, token), event(f"{c}-clk", "click", c, token)]
        events += [event(f"{c}-v{i}", "view", c) for i in range(PER_CONTACT - 2)]
    random.Random(7).shuffle(events)
    return events


async def post_until_acknowledged(
    http: httpx.AsyncClient, batch: list[dict[str, Any]], load: Load, deadline: float
) -> None:
    while time.monotonic() < deadline:
        try:
            response = await http.post("/v1/events", json={"events": batch})
        except httpx.TransportError:
            load.transport_errors += 1
        else:
            if response.status_code == 200:
                body = response.json()
                assert body["rejected"] == [], body
                load.acked += len(batch)
                load.accepted += body["accepted"]
                load.duplicate += body["duplicate"]
                return
            assert response.status_code == 503, response.text
            load.refused[503] += 1
        await asyncio.sleep(0.05)
    raise AssertionError(f"a batch was not acknowledged in time: {load.line()}")


async def run_load(
    url: str, events: list[dict[str, Any]], fault: Callable[[], Awaitable[str]]
) -> tuple[Load, str, float]:
    """CLIENTS concurrent clients post every batch until acknowledged; `fault` runs once a
    quarter of the events is acknowledged. Returns the load, the fault's note, the seconds."""
    load = Load(len(events))
    batches = [events[i : i + BATCH] for i in range(0, len(events), BATCH)]
    queue: asyncio.Queue[list[dict[str, Any]]] = asyncio.Queue()
    for batch in batches:
        queue.put_nowait(batch)
    deadline = time.monotonic() + 60

    async def client() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=10) as http:
            while not queue.empty():
                await post_until_acknowledged(http, queue.get_nowait(), load, deadline)

    async def strike() -> str:
        while load.acked < FAULT_AFTER * load.total and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        return await fault()

    start = time.monotonic()
    note, *_ = await asyncio.gather(strike(), *(client() for _ in range(CLIENTS)))
    return load, note, time.monotonic() - start


def check_counted_once(http: httpx.Client, tokens: dict[str, str], report: Report) -> None:
    """Every event counted exactly once: per contact, per arm, and in the export."""
    wrong = {}
    counted = 0
    for c in tokens:
        counts = http.get(f"/v1/contacts/{c}").json()["behaviour"]["counts"]
        counted += sum(counts.values())
        if counts != {"impression": 1, "click": 1, "view": PER_CONTACT - 2}:
            wrong[c] = counts
    (arm,) = http.get("/v1/placements/hero/stats").json()["segments"][0]["arms"]
    exported: Counter[str] = Counter()
    after = "-"
    for _ in range(1000):  # bounded paging
        page = http.get("/v1/export/events", params={"after": after, "limit": 10_000})
        exported.update(orjson.loads(row)["event_id"] for row in page.content.splitlines())
        after = page.headers.get("x-next-after", "")
        if not after:
            break
    report(
        f"counted once per contact: {len(tokens) - len(wrong)}/{len(tokens)} contacts exact, "
        f"{counted} events counted; arm trials {arm['trials']:.0f} rewards "
        f"{arm['rewards']:.0f} (expected {len(tokens)} each); export: {len(exported)} distinct "
        f"event_ids in {sum(exported.values())} rows"
    )
    assert wrong == {}
    assert arm["trials"] == arm["rewards"] == arm["decided"] == len(tokens)
    assert len(exported) == len(tokens) * PER_CONTACT


def decide_everyone(http: httpx.Client) -> dict[str, str]:
    assert http.put("/v1/placements/hero", json=WEB_RULE).status_code == 201
    contacts = [{"contact_id": f"c{i}"} for i in range(CONTACTS)]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # until the worker's snapshot has the placement
        response = http.post("/v1/decide/batch", json={"placement": "hero", "contacts": contacts})
        if response.status_code == 200:
            decisions = response.json()["decisions"]
            assert not any(d["degraded"] for d in decisions)
            return {d["contact_id"]: d["decision_id"] for d in decisions}
        time.sleep(0.05)
    raise AssertionError("the placement never reached the worker")


def test_redis_killed_and_restarted_under_load(
    tmp_path: Path, redis_server: EmbeddedServer, report: Report
) -> None:
    env = {"REDIS_URL": redis_server.url, "DECIDE_CONFIG_REFRESH_MS": "100"}
    with (
        serving(tmp_path / "decide", env=env) as served,
        httpx.Client(base_url=served.url, timeout=30) as http,
    ):
        tokens = decide_everyone(http)

        async def kill_and_restart() -> str:
            redis_server.kill()  # SIGKILL: no chance to flush anything
            await asyncio.sleep(0.3)
            start = time.monotonic()
            await asyncio.to_thread(redis_server.start)  # same data dir: the AOF replays
            return f"store down 0.3 s + {time.monotonic() - start:.2f} s to restart on its AOF"

        load, note, took = asyncio.run(run_load(served.url, the_events(tokens), kill_and_restart))
        report(f"redis SIGKILL at {FAULT_AFTER:.0%}: {note}; {load.line()}; {took:.1f} s")
        assert load.acked == load.total
        check_counted_once(http, tokens, report)


def test_worker_killed_under_load(
    tmp_path: Path, redis_server: EmbeddedServer, report: Report
) -> None:
    env = {"REDIS_URL": redis_server.url, "DECIDE_CONFIG_REFRESH_MS": "100"}
    with (
        serving(tmp_path / "decide", "--workers", "2", env=env) as served,
        httpx.Client(base_url=served.url, timeout=30) as http,
    ):
        tokens = decide_everyone(http)
        before = workers(served.process.pid)
        assert len(before) == 2, before

        killed: list[int] = []

        async def kill_a_worker() -> str:
            # The one holding the clients' connections: its requests in flight die with it.
            held = {pid: clients_of(pid, served.port) for pid in before}
            killed.append(max(held, key=lambda pid: held[pid]))
            os.kill(killed[0], signal.SIGKILL)
            return f"worker SIGKILLed with {held[killed[0]]} client connections (workers: {held})"

        load, note, took = asyncio.run(run_load(served.url, the_events(tokens), kill_a_worker))
        restarted = wait_for_workers(served.process.pid, killed[0])
        report(
            f"worker SIGKILL at {FAULT_AFTER:.0%}: {note}; {load.line()}; {took:.1f} s; "
            f"the supervisor {restarted}"
        )
        assert load.acked == load.total
        check_counted_once(http, tokens, report)


def wait_for_workers(parent: int, dead: int) -> str:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        now = workers(parent)
        if len(now) == 2 and dead not in now:
            return f"restarted the dead worker (now {now})"
        time.sleep(0.1)
    return f"did not restart the dead worker within 10 s (now {workers(parent)})"
