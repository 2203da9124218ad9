"""P6: `decide serve --workers 2` against one worker, and what a decision and an event cost.

    python -m loadtest.bench workers [--requests 20000]

For 1 then 2 workers, back to back, on the same embedded valkey-server settings: single
POST /v1/decide (web A/B, two-token template; closed loop, 32 connections), then
POST /v1/events in batches of 100 (closed loop, 16 connections). Nothing is pinned: the
target is the 2-core box as deployed, with the load generator sharing the cores.

Each worker accepts on a socket of its own and the kernel spreads connections by a hash of
their addresses (decide/supervisor.py), so they split binomially. A worker needs about three
batches in flight to stay busy (one being parsed, one at the store, one being answered). Of
8 connections a worker gets 2 or fewer with probability 29% (binomial), of 16 only 0.4%.

Around every measured phase the run takes, as deltas per decision or per event:
- Redis commands, from `INFO commandstats` (commands run inside Lua scripts are counted too,
  so `evalsha` is the client's share and the rest what the scripts do), and
  `total_commands_processed`;
- Redis CPU, from `INFO cpu` (used_cpu_user + used_cpu_sys);
- the server's CPU: `decide serve` and its uvicorn workers, from /proc via psutil, without
  the embedded valkey-server;
- the load generator's own CPU, to show what it takes from the shared cores.
These are what a deployment is sized from (docs/performance.md, "Sizing").
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import orjson
import psutil
import redis

from loadtest.bench import HERO, HERO_TEST
from loadtest.load import closed_loop, decide_server, http

EVENTS_PER_BATCH = 100
EVENT_CONNECTIONS = 16


def decide_body(prefix: str) -> Callable[[int], bytes]:
    return lambda i: orjson.dumps(
        {"contact_id": f"{prefix}{i}", "placement": "hero",
         "attributes": {"first_name": "Sara", "city": "Tehran"}}
    )  # fmt: skip


def events_body(prefix: str) -> Callable[[int], bytes]:
    def body(i: int) -> bytes:
        events = [{"event_id": f"{prefix}-{i}-{j}", "type": "page_view",
                   "contact_id": f"c{(i * EVENTS_PER_BATCH + j) % 5000}",
                   "properties": {"page": "/pricing"}}
                  for j in range(EVENTS_PER_BATCH)]  # fmt: skip
        return orjson.dumps({"events": events})

    return body


class Meter:
    """CPU and Redis counters of one running `decide serve`, read before and after a phase."""

    def __init__(self, server_pid: int, store_url: str) -> None:
        self.server = psutil.Process(server_pid)
        self.redis = redis.Redis.from_url(store_url)

    def _server_cpu(self) -> float:
        total = 0.0
        for proc in [self.server, *self.server.children(recursive=True)]:
            try:
                if "valkey" in proc.name() or "redis" in proc.name():
                    continue
                times = proc.cpu_times()
                total += times.user + times.system
            except psutil.NoSuchProcess:
                continue
        return total

    def read(self) -> dict[str, Any]:
        cpu = self.redis.info("cpu")
        stats = self.redis.info("stats")
        return {
            "server_cpu_s": self._server_cpu(),
            "redis_cpu_s": float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"]),
            "generator_cpu_s": time.process_time(),
            "commands": int(stats["total_commands_processed"]),
            "by_command": {
                name.removeprefix("cmdstat_"): int(value["calls"])
                for name, value in self.redis.info("commandstats").items()
            },
        }

    def connections(self, port: int) -> list[int]:
        """Established client connections per worker on `port`, most first: how the kernel
        spread them moves the two-worker throughput more than anything in decide does."""
        counts = []
        for proc in [self.server, *self.server.children(recursive=True)]:  # 1 worker: in-process
            try:
                conns = proc.net_connections(kind="tcp")
            except psutil.NoSuchProcess:
                continue
            mine = sum(1 for c in conns if c.status == "ESTABLISHED" and c.laddr.port == port)
            if mine:
                counts.append(mine)
        return sorted(counts, reverse=True)

    def split_during(self, port: int, run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """Run `run`, counting the connections per worker 0.2 s into it."""
        seen: list[list[int]] = []
        timer = threading.Timer(0.2, lambda: seen.append(self.connections(port)))
        timer.start()
        try:
            result = run()
        finally:
            timer.cancel()
        result["connections_per_worker"] = seen[0] if seen else []
        return result

    @staticmethod
    def per_unit(before: dict[str, Any], after: dict[str, Any], units: int) -> dict[str, Any]:
        by_command = {
            name: (calls - before["by_command"].get(name, 0)) / units
            for name, calls in after["by_command"].items()
            if calls != before["by_command"].get(name, 0)
        }
        return {
            "server_cpu_us": (after["server_cpu_s"] - before["server_cpu_s"]) / units * 1e6,
            "redis_cpu_us": (after["redis_cpu_s"] - before["redis_cpu_s"]) / units * 1e6,
            "generator_cpu_us": (after["generator_cpu_s"] - before["generator_cpu_s"])
            / units
            * 1e6,
            "redis_commands": (after["commands"] - before["commands"]) / units,
            "by_command": dict(sorted(by_command.items(), key=lambda kv: -kv[1])),
        }


def one_server(workers: int, requests: int) -> dict[str, dict[str, Any]]:
    with decide_server(workers=workers, core="0,1") as (port, store_url):
        for kind, key, doc in (("placements", "hero", HERO), ("experiments", "hero_test",
                                                              HERO_TEST)):  # fmt: skip
            status, body = http(port, "PUT", f"/v1/{kind}/{key}", doc)
            assert status in (200, 201), body
        time.sleep(1.5)  # every worker's snapshot refresh has seen the new configuration
        server_pid = _server_pid(port)
        meter = Meter(server_pid, store_url)
        w = f"w{workers}"
        asyncio.run(closed_loop(port, decide_body(f"warm{w}-"), 1000, 32, "/v1/decide"))
        before = meter.read()
        decide = meter.split_during(port, lambda: asyncio.run(
            closed_loop(port, decide_body(f"{w}-"), requests, 32, "/v1/decide")
        ))  # fmt: skip
        decide["costs"] = Meter.per_unit(before, meter.read(), requests)
        decide["decisions_per_s"] = decide["requests_per_s"]

        batches = max(requests // EVENTS_PER_BATCH, 10)
        asyncio.run(closed_loop(port, events_body(f"warm{w}"), 20, EVENT_CONNECTIONS, "/v1/events"))
        before = meter.read()
        events = meter.split_during(port, lambda: asyncio.run(
            closed_loop(port, events_body(w), batches, EVENT_CONNECTIONS, "/v1/events")
        ))  # fmt: skip
        events["costs"] = Meter.per_unit(before, meter.read(), batches * EVENTS_PER_BATCH)
        events["events_per_s"] = events["requests_per_s"] * EVENTS_PER_BATCH
        assert decide["errors"] == 0 and events["errors"] == 0, (decide, events)
    return {f"decide_{workers}_worker": decide, f"events_{workers}_worker": events}


def _server_pid(port: int) -> int:
    """The `decide serve` process listening on `port` (uvicorn's parent with --workers)."""
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if "decide" in cmdline and "serve" in cmdline and str(port) in cmdline:
            return int(proc.pid)
    raise RuntimeError(f"no decide serve on port {port}")


def run_workers(requests: int) -> dict[str, Any]:
    rows = one_server(1, requests) | one_server(2, requests)
    ratio = lambda kind, key: rows[f"{kind}_2_worker"][key] / rows[f"{kind}_1_worker"][key]  # noqa: E731
    return {
        "scenario": "workers",
        "requests": requests,
        "placement": "server (1 or 2 workers) and generator share both cores",
        "rows": rows,
        "costs": {name: row.pop("costs") for name, row in rows.items()},
        "connections_per_worker": {
            name: row["connections_per_worker"] for name, row in rows.items()
        },
        "ratios": {
            "decide_2_vs_1_worker": ratio("decide", "decisions_per_s"),
            "events_2_vs_1_worker": ratio("events", "events_per_s"),
        },
    }


def print_split(split: dict[str, list[int]]) -> None:
    print("\nconnections per worker, 0.2 s into each run: " + ", ".join(
        f"{name} {'/'.join(map(str, counts)) or '?'}" for name, counts in split.items()
    ))  # fmt: skip


def print_costs(costs: dict[str, dict[str, Any]]) -> None:
    print(f"\n{'cost per decision / event':<26}{'server µs':>11}{'redis µs':>10}"
          f"{'gen µs':>8}{'redis cmds':>11}  top commands")  # fmt: skip
    for name, c in costs.items():
        top = ", ".join(f"{k} {v:.2f}" for k, v in list(c["by_command"].items())[:4])
        print(f"{name:<26}{c['server_cpu_us']:>11.0f}{c['redis_cpu_us']:>10.0f}"
              f"{c['generator_cpu_us']:>8.0f}{c['redis_commands']:>11.2f}  {top}")  # fmt: skip
