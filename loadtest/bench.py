"""Benchmark harness: decide against baselines measured in the same run, as ratios.

    python -m loadtest.bench [all]  every scenario below, then each target: measured, goal, met
    python -m loadtest.bench batch  [--contacts 10000] [--repeat 3]
    python -m loadtest.bench decide [--requests 20000] [--open-seconds 10]
    python -m loadtest.bench events [--requests 20000]
    python -m loadtest.bench core   [--contacts 20000] [--repeat 5]   (loadtest/core_choice.py)
    python -m loadtest.bench workers [--requests 20000]               (loadtest/workers.py)
    python -m loadtest.bench memory                          (loadtest/contact_memory.py)

`decide` and `events` are described on their functions below. `batch` compares, for one
placement and the same 10,000 contacts (stored profiles):
1. the pure core alone, in-process: every contact's state already in memory (read from the
   store beforehand, as the server reads it), no HTTP, no Redis;
2. POST /v1/decide/batch through HTTP against a real Redis (one worker);
3. single POST /v1/decide calls, 32 concurrent connections.
The server (with its embedded valkey-server) is pinned to core 0 and the load generator to
core 1; the generator (loadtest/load.py) is a raw-socket keep-alive client that is not the
bottleneck. Results are printed as a table and written as JSON under loadtest/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from loadtest.load import (
    Connection,
    baseline_server,
    closed_loop,
    decide_server,
    http,
    open_loop,
    pinned,
)

RESULTS = Path(__file__).resolve().parent / "results"

CAMPAIGN = {
    "description": "weekly digest: A/B subject test, learned channel and send time, caps",
    "channels": ["email", "sms", "push"],
    "policy": {"type": "experiment", "experiment": "digest_subject"},
    "messages": [
        {"key": "plain", "content": {
            "email": {"subject": {"en": "Your week, {{ contact.first_name | default: 'friend' }}",
                                  "fa": "هفته شما، {{ contact.first_name | default: 'دوست' }}"},
                      "html": "<p>Hi {{ contact.first_name | default: 'there' }}</p>"},
            "sms": {"text": "Your week is ready"},
            "push": {"title": "Your week", "body": "Tap to read"}}},
        {"key": "question", "content": {
            "email": {"subject": {"en": "Ready for your week, {{ contact.first_name }}?",
                                  "fa": "آماده‌ی هفته هستید؟"}},
            "sms": {"text": "Ready for your week?"}}},
    ],
    "channel": {"type": "learned", "max_fallbacks": 2, "cost": {"sms": 0.02}},
    "send_time": {"type": "learned", "within_hours": 24,
                  "quiet_hours": {"start": "21:00", "end": "08:00"}},
    "frequency_caps": [{"channel": "email", "max": 1000, "days": 7}],
}  # fmt: skip
EXPERIMENT = {
    "placement": "digest", "status": "running",
    "variations": [{"key": "plain", "message": "plain"},
                   {"key": "question", "message": "question"}],
    "metrics": {"primary": {"event": "click", "type": "binomial"}},
}  # fmt: skip


def profiles(n: int) -> list[tuple[str, dict[str, Any]]]:
    zones = ["Asia/Tehran", "Asia/Jerusalem", "Europe/Moscow", "America/New_York"]
    locales = ["fa-IR", "he", "ru", "en-US"]
    return [
        (
            f"c{i}",
            {
                "first_name": f"Name{i}", "locale": locales[i % 4], "timezone": zones[i % 4],
                "email": f"c{i}@example.org", "phone": f"+98912{i:07d}",
                "push_tokens": [f"tok{i}"], "consent": {"email": True, "sms": True},
            },
        )
        for i in range(n)
    ]  # fmt: skip


def seed(port: int, people: list[tuple[str, dict[str, Any]]]) -> None:
    for kind, key, doc in (("placements", "digest", CAMPAIGN),
                           ("experiments", "digest_subject", EXPERIMENT)):  # fmt: skip
        status, body = http(port, "PUT", f"/v1/{kind}/{key}", doc)
        assert status in (200, 201), body
    bodies = [orjson.dumps({"attributes": attrs}) for _, attrs in people]

    async def put_all() -> None:
        ids = iter(range(len(people)))

        async def worker() -> None:
            conn = await Connection.open("127.0.0.1", port)
            for i in ids:
                status, _ = await conn.request("PUT", f"/v1/contacts/{people[i][0]}", bodies[i])
                assert status == 200
            conn.close()

        await asyncio.gather(*(worker() for _ in range(16)))

    asyncio.run(put_all())


# --- the three measurements ----------------------------------------------------------------


def core_alone(
    people: list[tuple[str, dict[str, Any]]], store_url: str, repeat: int = 1
) -> dict[str, float]:
    """The pure core in-process for the same placement and contacts: every contact's state is
    first read from the store (untimed) exactly as the server reads it, then decided with no
    HTTP and no Redis. The best of `repeat` runs."""
    from decide.config.experiments import parse_experiment
    from decide.config.placements import parse_placement
    from decide.config.snapshot import Snapshot
    from decide.contact_state import plan_contact_reads, read_contact
    from decide.decisions import parse_decide_request
    from decide.runtime import Runtime
    from decide.serving import decide_in_memory
    from decide.settings import Settings
    from decide.store.scripts import Batch
    from decide.tokens import Signer

    placement = parse_placement("digest", CAMPAIGN)
    experiment = parse_experiment("digest_subject", EXPERIMENT)
    now = datetime.now(UTC)
    reqs = [parse_decide_request({"contact_id": c, "placement": "digest"}, now) for c, _ in people]

    async def read_states() -> tuple[Runtime, list[Any]]:
        rt = Runtime(Settings(), store_url)
        await rt.scripts.load(rt.client)
        batch = Batch(rt.scripts)
        reads = [
            plan_contact_reads(batch, r.contact_id, placement, experiment, held_out=False,
                               caps=True)
            for r in reqs
        ]  # fmt: skip
        results = await batch.execute(rt.client)
        states = [read_contact(results, read, {}, now.timestamp()) for read in reads]
        await rt.client.aclose()
        return rt, states

    rt, states = asyncio.run(read_states())
    rt.snapshot = Snapshot(1, {"digest": placement}, {"digest_subject": experiment})
    rt.signer = Signer([("k1", b"0" * 32)])
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        results = decide_in_memory(rt, "digest", reqs, states)
        best = min(best, time.perf_counter() - start)
    assert all(isinstance(r, dict) and r["message"] for r in results)
    return {"decisions_per_s": len(people) / best, "seconds": best}


def batch_http(port: int, people: list[tuple[str, dict[str, Any]]], run: int) -> dict[str, float]:
    contacts = [{"contact_id": c} for c, _ in people]
    body = orjson.dumps({"placement": "digest", "contacts": contacts, "request_id": f"r{run}"})

    async def one() -> tuple[int, bytes]:
        conn = await Connection.open("127.0.0.1", port)
        try:
            return await conn.request("POST", "/v1/decide/batch", body)
        finally:
            conn.close()

    start = time.perf_counter()
    status, payload = asyncio.run(one())
    elapsed = time.perf_counter() - start
    assert status == 200, payload[:300]
    decisions = orjson.loads(payload)["decisions"]
    assert len(decisions) == len(people) and all(d.get("message") for d in decisions)
    return {"decisions_per_s": len(people) / elapsed, "seconds": elapsed}


def single_http(port: int, people: list[tuple[str, dict[str, Any]]]) -> dict[str, float]:
    bodies = [orjson.dumps({"contact_id": c, "placement": "digest"}) for c, _ in people]
    result = asyncio.run(closed_loop(port, lambda i: bodies[i], len(bodies), 32, "/v1/decide"))
    result["decisions_per_s"] = result["requests_per_s"]
    return result


def run_batch(args: argparse.Namespace) -> dict[str, Any]:
    """Each round: the core alone on the contacts' current state, then the same contacts
    through HTTP (which reserves caps, so the next round's state has grown a little)."""
    people = profiles(args.contacts)
    cores, batches = [], []
    with decide_server() as (port, store_url):
        seed(port, people)
        for run in range(args.repeat):
            cores.append(core_alone(people, store_url))
            batches.append(batch_http(port, people, run))
        single = single_http(port, people)
    core = max(cores, key=lambda r: r["decisions_per_s"])
    batch = max(batches, key=lambda r: r["decisions_per_s"])
    return {
        "scenario": "batch",
        "contacts": args.contacts,
        "rows": {"core_alone": core, "batch_http": batch, "single_http": single},
        "rounds": {"core_alone": cores, "batch_http": batches},
        "ratios": {
            "batch_vs_core": batch["decisions_per_s"] / core["decisions_per_s"],
            "batch_vs_single": batch["decisions_per_s"] / single["decisions_per_s"],
        },
    }


HERO = {
    "channels": ["web"],
    "policy": {"type": "experiment", "experiment": "hero_test"},
    "messages": [
        {"key": "a", "content": {"web": {"headline":
            "Hi {{ contact.first_name | default: 'there' }} in {{ contact.city }}"}}},
        {"key": "b", "content": {"web": {"headline":
            "Welcome {{ contact.first_name | default: 'back' }}, {{ contact.city }}"}}},
    ],
}  # fmt: skip
HERO_TEST = {"placement": "hero", "status": "running",
             "variations": [{"key": "a", "message": "a"}, {"key": "b", "message": "b"}],
             "metrics": {"primary": {"event": "click", "type": "binomial"}}}  # fmt: skip
BANNER = {
    "channels": ["web"],
    "policy": {"type": "bandit", "algorithm": "thompson"},
    "messages": [{"key": k, "content": {"web": {"t": f"{k} {{{{ contact.first_name }}}}"}}}
                 for k in ("a", "b", "c")],
}  # fmt: skip


def _decide_bodies(placement: str) -> Any:
    return lambda i: orjson.dumps(
        {"contact_id": f"v{i}", "placement": placement,
         "attributes": {"first_name": "Sara", "city": "Tehran"}}
    )  # fmt: skip


def run_decide(args: argparse.Namespace) -> dict[str, Any]:
    """P1: single decisions (web A/B with a two-token template, and a bandit) against the bare
    Starlette echo, closed loop at 32 connections; then p99 with an open-loop generator at half
    of decide's peak, for decide and for the baseline at the same rate."""
    n, conns = args.requests, 32
    with baseline_server() as port:
        asyncio.run(closed_loop(port, _decide_bodies("hero"), 500, conns, "/v1/decide"))
        baseline = asyncio.run(closed_loop(port, _decide_bodies("hero"), n, conns, "/v1/decide"))
    with decide_server() as (port, _):
        config = (("placements", "hero", HERO), ("experiments", "hero_test", HERO_TEST),
                  ("placements", "banner", BANNER))  # fmt: skip
        for kind, key, doc in config:
            status, body = http(port, "PUT", f"/v1/{kind}/{key}", doc)
            assert status in (200, 201), body
        asyncio.run(closed_loop(port, _decide_bodies("hero"), 500, conns, "/v1/decide"))
        ab = asyncio.run(closed_loop(port, _decide_bodies("hero"), n, conns, "/v1/decide"))
        bandit = asyncio.run(closed_loop(port, _decide_bodies("banner"), n, conns, "/v1/decide"))
        half = ab["requests_per_s"] / 2
        count = int(half * args.open_seconds)
        ab_open = asyncio.run(open_loop(port, _decide_bodies("hero"), half, count, "/v1/decide"))
    with baseline_server() as port:
        base_open = asyncio.run(open_loop(port, _decide_bodies("hero"), half, count, "/v1/decide"))
    return {
        "scenario": "decide",
        "requests": n,
        "rows": {
            "baseline": baseline,
            "decide_ab": ab,
            "decide_bandit": bandit,
            "decide_ab_open_loop": ab_open,
            "baseline_open_loop": base_open,
        },
        "ratios": {
            "ab_vs_baseline": ab["requests_per_s"] / baseline["requests_per_s"],
            "bandit_vs_baseline": bandit["requests_per_s"] / baseline["requests_per_s"],
            "ab_p99_vs_baseline_p99_at_half_load": ab_open["p99_ms"] / base_open["p99_ms"],
        },
    }


def run_events(args: argparse.Namespace) -> dict[str, Any]:
    """P3: events over HTTP in batches of 100 (and one by one) against the same applier driven
    in-process with pipelines of 100 (no HTTP), on the same store."""
    from decide.routes.events import apply_events
    from decide.runtime import Runtime
    from decide.settings import Settings

    batches = args.requests // 100

    def batch(prefix: str) -> Any:
        def body(i: int) -> bytes:
            events = [{"event_id": f"{prefix}-{i}-{j}", "type": "page_view",
                       "contact_id": f"c{(i * 100 + j) % 5000}",
                       "properties": {"page": "/pricing"}} for j in range(100)]  # fmt: skip
            return orjson.dumps({"events": events})

        return body

    single = lambda i: orjson.dumps({"events": [  # noqa: E731
        {"event_id": f"s-{i}", "type": "click", "contact_id": f"c{i % 5000}"}]})  # fmt: skip
    with decide_server() as (port, store_url):
        asyncio.run(closed_loop(port, batch("warm"), 20, 8, "/v1/events"))
        http_batches = asyncio.run(closed_loop(port, batch("h"), batches, 8, "/v1/events"))
        http_single = asyncio.run(closed_loop(port, single, batches * 10, 8, "/v1/events"))

        async def alone() -> float:
            rt = Runtime(Settings(), store_url)
            await rt.start()
            try:
                rows = [orjson.loads(batch("a")(i))["events"] for i in range(batches)]
                start = time.perf_counter()
                for events in rows:
                    await apply_events(rt, events)
                return time.perf_counter() - start
            finally:
                await rt.stop()

        seconds = asyncio.run(alone())
    applier = {"events_per_s": batches * 100 / seconds}
    http_batches["events_per_s"] = http_batches["requests_per_s"] * 100
    http_single["events_per_s"] = http_single["requests_per_s"]
    return {
        "scenario": "events",
        "requests": args.requests,
        "rows": {
            "applier_alone": applier,
            "http_batches_of_100": http_batches,
            "http_single_events": http_single,
        },
        "ratios": {"batches_vs_applier": http_batches["events_per_s"] / applier["events_per_s"]},
    }


def print_table(result: dict[str, Any]) -> None:
    print(f"\n{result['scenario']}: {os.cpu_count()} cores, {result.get('placement', PLACED)}")
    if "bytes" in result:
        for part, size in sorted(result["bytes"].items()):
            print(f"bytes per contact, {part:<25}{size:>8}")
        print(f"behaviour state of a typical contact{result['behaviour_bytes']:>10} bytes")
        return
    in_process = all("us" in row for row in result["rows"].values())
    columns = ("µs each", "") if in_process else ("p50 ms", "p99 ms")
    print(f"{'measurement':<36}{'per second':>14}{columns[0]:>10}{columns[1]:>10}")
    for name, row in result["rows"].items():
        rate = next(row[k] for k in ("decisions_per_s", "events_per_s", "requests_per_s", "rate")
                    if k in row)  # fmt: skip
        if in_process:
            first, second = f"{row['us']:.2f}", ""
        else:
            first = f"{row['p50_ms']:.1f}" if "p50_ms" in row else "-"
            second = f"{row['p99_ms']:.1f}" if "p99_ms" in row else "-"
        print(f"{name:<36}{rate:>14,.0f}{first:>10}{second:>10}")
    for name, value in result["ratios"].items():
        print(f"ratio {name:<40}{value:>8.2f}")
    if "costs" in result:
        from loadtest.workers import print_costs, print_split

        print_costs(result["costs"])
        print_split(result["connections_per_worker"])


def run_core(args: argparse.Namespace) -> dict[str, Any]:
    from loadtest.core_choice import run_core

    result = run_core(args.contacts, args.repeat)
    return result | {"placement": "in-process on core 1"}


def run_workers(args: argparse.Namespace) -> dict[str, Any]:
    from loadtest.workers import run_workers

    return run_workers(args.requests)  # not pinned: server and generator share the cores


def run_memory(args: argparse.Namespace) -> dict[str, Any]:
    """P5: a typical contact's 60 days through the real paths, then MEMORY USAGE of its keys."""
    from loadtest.contact_memory import behaviour_bytes, typical_contact_bytes

    sizes = typical_contact_bytes()
    return {"scenario": "memory", "placement": "in-process, embedded valkey-server",
            "rows": {}, "ratios": {}, "bytes": sizes,
            "behaviour_bytes": behaviour_bytes(sizes)}  # fmt: skip


PLACED = "server on core 0, generator on 1"
SCENARIOS = {
    "batch": run_batch,
    "decide": run_decide,
    "events": run_events,
    "core": run_core,
    "workers": run_workers,
    "memory": run_memory,
}

# The performance targets: (target, scenario, what is compared, its value in the results, goal).
# The goal is a floor, or a ceiling where `at_most`.
TARGETS: tuple[tuple[str, str, str, tuple[str, ...], float, bool], ...] = (
    ("P1", "decide", "decide / echo, requests/s", ("ratios", "ab_vs_baseline"), 0.60, False),
    ("P1", "decide", "p99 at half load / echo's",
     ("ratios", "ab_p99_vs_baseline_p99_at_half_load"), 2.0, True),
    ("P2", "batch", "batch / the core alone", ("ratios", "batch_vs_core"), 0.60, False),
    ("P3", "events", "batches of 100 / applier", ("ratios", "batches_vs_applier"), 0.50, False),
    ("P4", "core", "GrowthBook+MABWiser / core",
     ("ratios", "baseline_vs_core_as_served"), 2.0, False),
    ("P5", "memory", "behaviour bytes / contact", ("behaviour_bytes",), 512, True),
    ("P6", "workers", "2 workers / 1, decisions", ("ratios", "decide_2_vs_1_worker"), 1.2, False),
    ("P6", "workers", "2 workers / 1, events", ("ratios", "events_2_vs_1_worker"), 1.2, False),
)  # fmt: skip


def targets(results: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Each target whose scenario ran: measured, goal and whether it is met."""
    rows = []
    for name, scenario, what, path, goal, at_most in TARGETS:
        if scenario not in results:
            continue
        value: Any = results[scenario]
        for step in path:
            value = value[step]
        met = value <= goal if at_most else value >= goal
        rows.append({"target": name, "what": what, "measured": value,
                     "goal": f"{'≤' if at_most else '≥'} {goal:g}", "met": met})  # fmt: skip
    return rows


def print_targets(rows: list[dict[str, Any]]) -> None:
    print(f"\ntargets: {os.cpu_count()} cores")
    print(f"{'target':<8}{'compared':<32}{'measured':>10}{'goal':>10}  met")
    for row in rows:
        value = row["measured"]
        measured = f"{value:.2f}" if value < 100 else f"{value:,.0f}"  # ratios; bytes
        print(f"{row['target']:<8}{row['what']:<32}{measured:>10}{row['goal']:>10}  "
              f"{'yes' if row['met'] else 'NO'}")  # fmt: skip


def run_one(scenario: str, args: argparse.Namespace) -> dict[str, Any]:
    """One scenario with its pinning: the generator (and in-process runs) on core 1, except
    `workers`, where the server and the generator share both cores."""
    everything = set(range(os.cpu_count() or 1))
    os.sched_setaffinity(0, {1} if pinned(1) and scenario != "workers" else everything)
    core = scenario == "core"
    scenario_args = argparse.Namespace(**vars(args))
    scenario_args.contacts = args.contacts or (20_000 if core else 10_000)
    scenario_args.repeat = args.repeat or (5 if core else 3)
    result = SCENARIOS[scenario](scenario_args)
    result |= {"machine": platform.platform(), "cores": os.cpu_count(),
               "at": datetime.now(UTC).isoformat()}  # fmt: skip
    print_table(result)
    return result


def write(result: dict[str, Any]) -> None:
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{result['scenario']}-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    out.write_text(json.dumps(result, indent=2))
    print(f"\nwritten to {out}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m loadtest.bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("scenario", nargs="?", default="all", choices=["all", *sorted(SCENARIOS)])
    parser.add_argument(
        "--contacts",
        type=int,
        default=None,
        help="batch: contacts (10,000); core: contacts timed (20,000)",
    )
    parser.add_argument("--repeat", type=int, default=None, help="batch: rounds (3); core: (5)")
    parser.add_argument("--requests", type=int, default=20_000, help="decide, events: requests")
    parser.add_argument("--open-seconds", type=float, default=10, help="decide: open-loop run")
    args = parser.parse_args(argv)
    if args.scenario != "all":
        result = run_one(args.scenario, args)
        print_targets(targets({args.scenario: result}))
        write(result)
        return 0
    results = {name: run_one(name, args) for name in ALL}
    rows = targets(results)
    print_targets(rows)
    write({"scenario": "all", "results": results, "targets": rows})
    return 0


ALL = ("core", "batch", "decide", "events", "memory", "workers")  # quickest first


if __name__ == "__main__":
    raise SystemExit(main())
