"""What one decision and one event cost the store: server commands (those run inside Lua
scripts included), script calls, server CPU and network bytes, from `INFO commandstats`,
`INFO cpu` and `INFO stats` deltas around N requests through the real HTTP app. From these a
Redis (Cluster) is sized; see docs/performance.md.

    python -m loadtest.ops_per_request [-n 500] [--cluster]

"cpu µs" is the servers' CPU, "app µs" decide's own (the app and its in-process HTTP client,
one process). `--cluster` runs against a local 3-master Redis Cluster and also prints each
master's share of the commands: contact keys spread over every master, a placement's or an
experiment's counters sit on one.
"""

from __future__ import annotations

import argparse
import gc
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import redis
from starlette.testclient import TestClient

from decide.app import create_app
from decide.settings import Settings
from decide.store import keys
from decide.store.connection import sync_client
from decide.store.embedded import EmbeddedServer
from decide.store.local_cluster import LocalCluster
from loadtest.bench import BANNER, CAMPAIGN, EXPERIMENT, HERO, HERO_TEST, profiles

# The measuring itself, and connection set-up: not the work of a request.
NOT_COUNTED = ("info", "config|", "client|", "cluster|", "hello", "ping", "command", "script|")


@contextmanager
def store(cluster: bool) -> Iterator[tuple[str, list[redis.Redis]]]:
    folder = Path(tempfile.mkdtemp(prefix="decide-ops-"))
    if cluster:
        with LocalCluster(folder) as nodes:
            yield nodes.url, nodes.nodes()
    else:
        with EmbeddedServer(folder) as server:
            yield server.url, [redis.Redis(unix_socket_path=str(server.socket_path))]


def snapshot(nodes: list[redis.Redis]) -> list[dict[str, Any]]:
    out = []
    for node in nodes:
        cpu, stats = node.info("cpu"), node.info("stats")
        calls = {
            name.removeprefix("cmdstat_"): int(row["calls"])
            for name, row in node.info("commandstats").items()
            if not name.removeprefix("cmdstat_").startswith(NOT_COUNTED)
        }
        out.append({
            "calls": calls,
            "cpu_s": float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"]),
            "net_in": int(stats["total_net_input_bytes"]),
            "net_out": int(stats["total_net_output_bytes"]),
        })  # fmt: skip
    return out


def idle_cpu_rate(nodes: list[redis.Redis], seconds: float = 2.0) -> float:
    """CPU seconds per second the servers spend with no requests (cron, cluster gossip): taken
    out of each row, or slow sequential rows would carry the idle time they lasted."""
    before, started = snapshot(nodes), time.monotonic()
    time.sleep(seconds)
    after = snapshot(nodes)
    used = sum(a["cpu_s"] - b["cpu_s"] for b, a in zip(before, after, strict=True))
    return used / (time.monotonic() - started)


def measure(
    nodes: list[redis.Redis], per: int, idle: float, run: Callable[[], None]
) -> dict[str, Any]:
    """Deltas around `run`, divided by `per` (decisions or events)."""
    before, started, cpu = snapshot(nodes), time.monotonic(), time.process_time()
    run()
    client_cpu_s = time.process_time() - cpu
    pairs = list(zip(before, snapshot(nodes), strict=True))
    idle_s = idle * (time.monotonic() - started)
    by_command: dict[str, float] = {}
    per_master = []
    for b, a in pairs:
        deltas = {name: calls - b["calls"].get(name, 0) for name, calls in a["calls"].items()}
        for name, delta in deltas.items():
            by_command[name] = by_command.get(name, 0) + delta / per
        per_master.append(sum(deltas.values()))

    def mean(field: str) -> float:
        return sum(a[field] - b[field] for b, a in pairs) / per

    return {
        "commands": sum(by_command.values()),
        "script_calls": by_command.get("evalsha", 0) + by_command.get("eval", 0),
        "by_command": dict(sorted(by_command.items(), key=lambda kv: -kv[1])),
        "cpu_us": max(0.0, mean("cpu_s") - idle_s / per) * 1e6,
        "client_cpu_us": client_cpu_s / per * 1e6,
        "net_in": mean("net_in"),
        "net_out": mean("net_out"),
        "master_share": [round(n / (sum(per_master) or 1), 2) for n in per_master],
    }


def post(api: TestClient, path: str, body: Any) -> Any:
    response = api.post(path, json=body)
    assert response.status_code == 200, response.text
    return response.json()


def events(api: TestClient, items: list[dict[str, Any]], size: int) -> None:
    for start in range(0, len(items), size):
        result = post(api, "/v1/events", {"events": items[start : start + size]})
        assert not result["rejected"], result


def run(n: int, cluster: bool) -> dict[str, dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    # No background refresh during a measurement: only the requests' own commands count.
    settings = Settings(config_refresh_s=3600, priors_refresh_s=3600, winner_tick_s=3600)
    with (
        store(cluster) as (url, nodes),
        # The collector tuned as in served workers.
        TestClient(create_app(settings, url, settle_heap=True)) as api,
    ):
        config = (("placements", "hero", HERO), ("experiments", "hero_test", HERO_TEST),
                  ("placements", "banner", BANNER), ("placements", "digest", CAMPAIGN),
                  ("experiments", "digest_subject", EXPERIMENT))  # fmt: skip
        for kind, key, doc in config:
            assert api.put(f"/v1/{kind}/{key}", json=doc).status_code in (200, 201)
        people = profiles(2 * n)
        for contact, attributes in people:
            assert api.put(f"/v1/contacts/{contact}", json={"attributes": attributes}).is_success
        api.post("/v1/decide", json={"contact_id": "warm", "placement": "hero"})  # scripts loaded
        # The seeded profiles live in this process too: frozen, or a full collection over them
        # (60-70 ms) can stop a decision past its 50 ms read budget and fail the run.
        gc.collect()
        gc.freeze()
        idle = idle_cpu_rate(nodes)
        rows["(idle server CPU, taken out of each row)"] = {"text": f"{idle * 1e3:.1f} ms/s"}

        web: list[dict[str, Any]] = []
        visitor = {"first_name": "Sara", "city": "Tehran"}
        rows["decide: web A/B, two-token template"] = measure(nodes, n, idle, lambda: web.extend(
            post(api, "/v1/decide", {"contact_id": f"v{i}", "placement": "hero",
                                     "attributes": visitor}) for i in range(n)))  # fmt: skip
        rows["decide: bandit (Thompson, 3 arms)"] = measure(nodes, n, idle, lambda: [
            post(api, "/v1/decide", {"contact_id": f"b{i}", "placement": "banner",
                                     "attributes": visitor}) for i in range(n)])  # fmt: skip
        sent: list[dict[str, Any]] = []
        rows["decide: campaign (stored profile, learned channel and time, cap)"] = measure(
            nodes, n, idle, lambda: sent.extend(
                post(api, "/v1/decide", {"contact_id": c, "placement": "digest"})
                for c, _ in people[:n]))  # fmt: skip
        batch = {"placement": "digest", "contacts": [{"contact_id": c} for c, _ in people[n:]]}
        rows["batch: the same campaign, per contact"] = measure(
            nodes, n, idle, lambda: post(api, "/v1/decide/batch", batch)
        )

        def event(i: int, kind: str, decision: dict[str, Any]) -> dict[str, Any]:
            return {"event_id": f"{kind}-{i}", "type": kind, "contact_id": decision["contact_id"],
                    "decision_id": decision["decision_id"]}  # fmt: skip

        views = [event(i, "impression", d) for i, d in enumerate(web)]
        clicks = [event(i, "click", d) for i, d in enumerate(web)]
        delivered = [event(i, "delivered", d) for i, d in enumerate(sent)]
        rows["events: impression (batches of 100)"] = measure(
            nodes, n, idle, lambda: events(api, views, 100)
        )
        rows["events: click, an A/B metric (batches of 100)"] = measure(
            nodes, n, idle, lambda: events(api, clicks, 100)
        )
        rows["events: delivered, a campaign send (batches of 100)"] = measure(
            nodes, n, idle, lambda: events(api, delivered, 100)
        )
        again = views[: n // 2]
        rows["events: duplicates (batches of 100)"] = measure(
            nodes, len(again), idle, lambda: events(api, again, 100)
        )
        single = [{"event_id": f"pv-{i}", "type": "page_view", "contact_id": f"c{i}"}
                  for i in range(n)]  # fmt: skip
        rows["events: page_view, one per request"] = measure(
            nodes, n, idle, lambda: events(api, single, 1)
        )

        client = sync_client(url)
        rows["(one campaign contact: keys, bytes)"] = footprint(
            client, keys.contact_keys_pattern("c0"), 1
        )
        rows[f"(placement hero after {n} decisions, impressions, clicks: per decision)"] = (
            footprint(client, keys.glob_escape(keys.placement_tag("hero")) + "*", n)
        )
        rows[f"(experiment hero_test, {n} contacts exposed, converted: per contact)"] = footprint(
            client, keys.glob_escape(keys.experiment_tag("hero_test")) + "*", n)  # fmt: skip
        decided = int(client.xlen(keys.decision_log("banner")))
        rows[f"(decision log of banner, {decided} entries: per entry)"] = footprint(
            client, keys.glob_escape(keys.decision_log("banner")), decided
        )
        logged = int(client.xlen(keys.EVENT_LOG))
        rows[f"(event log, {logged} entries: per entry)"] = footprint(
            client, keys.glob_escape(keys.EVENT_LOG), logged
        )
    return rows


def footprint(client: Any, pattern: str, per: int) -> dict[str, Any]:
    """Keys matching `pattern` and their MEMORY USAGE, divided by `per`."""
    names = list(client.scan_iter(match=pattern, count=1000))
    size = sum(int(client.memory_usage(name, samples=0) or 0) for name in names)
    return {"text": f"{len(names) / per:.3g} keys, {size / per:.0f} bytes"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.ops_per_request")
    parser.add_argument("-n", type=int, default=500, help="decisions (and events) per row")
    parser.add_argument("--cluster", action="store_true", help="a local 3-master cluster")
    args = parser.parse_args(argv)
    started = time.monotonic()
    rows = run(args.n, args.cluster)
    print(f"store: {'3-master cluster' if args.cluster else 'one valkey-server 9.1'}, n={args.n}")
    shares = "  master share" if args.cluster else ""
    print(f"{'per decision / event':66} {'cmds':>5} {'evalsha':>7} {'cpu µs':>7} {'app µs':>7} "
          f"{'in B':>6} {'out B':>6}  top commands{shares}")  # fmt: skip
    for name, row in rows.items():
        if "text" in row:
            print(f"{name:66} {row['text']}")
            continue
        top = ", ".join(f"{c} {v:.2g}" for c, v in list(row["by_command"].items())[:5] if v)
        share = f"  {row['master_share']}" if args.cluster else ""
        print(f"{name:66} {row['commands']:5.1f} {row['script_calls']:7.2f} {row['cpu_us']:7.0f} "
              f"{row['client_cpu_us']:7.0f} {row['net_in']:6.0f} {row['net_out']:6.0f}  "
              f"{top}{share}")  # fmt: skip
    print(f"({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
