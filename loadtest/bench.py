"""Benchmark harness: decide against baselines measured in the same run, as ratios.

    python -m loadtest.bench batch [--contacts 10000] [--repeat 3]

`batch` compares, for one placement and the same 10,000 contacts (stored profiles):
1. the pure core alone, in-process: every contact's state already in memory (read from the
   store beforehand, as the server reads it), no HTTP, no Redis;
2. POST /v1/decide/batch through HTTP against a real Redis (one worker);
3. single POST /v1/decide calls, 32 concurrent connections.
The server (with its embedded valkey-server) is pinned to core 0 and the load generator to
core 1. The generator is a small raw-socket HTTP/1.1 keep-alive client on asyncio: it costs
a few tens of µs per request — far below decide's cost per request — where httpx costs
several hundred, which would make the generator the thing measured. Results are printed as a
table and written as JSON under loadtest/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from decide.store.embedded import EmbeddedServer

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


# --- a load generator that is not the bottleneck -------------------------------------------


class Connection:
    """One keep-alive HTTP/1.1 connection: send a request, read exactly its response."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        return cls(*await asyncio.open_connection(host, port))

    async def request(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        status_line = await self.reader.readline()
        length = -1
        chunked = False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "transfer-encoding" and "chunked" in value:
                chunked = True
        if chunked:
            data = bytearray()
            while size := int((await self.reader.readline()).strip(), 16):
                data += await self.reader.readexactly(size + 2)
            await self.reader.readline()
            payload = bytes(data)
        else:
            payload = await self.reader.readexactly(length)
        return int(status_line.split()[1]), payload

    def close(self) -> None:
        self.writer.close()


async def closed_loop(
    port: int, bodies: Callable[[int], bytes], count: int, connections: int, path: str
) -> dict[str, float]:
    """`count` requests over `connections` connections, each sending its next one as soon as
    the last returned; requests/s and latency percentiles."""
    latencies: list[float] = []
    errors = 0
    counter = iter(range(count))

    async def worker() -> None:
        nonlocal errors
        conn = await Connection.open("127.0.0.1", port)
        for i in counter:
            start = time.perf_counter()
            status, _ = await conn.request("POST", path, bodies(i))
            latencies.append(time.perf_counter() - start)
            errors += status != 200
        conn.close()

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.perf_counter() - began
    latencies.sort()
    return {
        "requests_per_s": count / elapsed,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
        "errors": errors,
    }


# --- the server under test -----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def pinned(core: int) -> list[str]:
    return ["taskset", "-c", str(core)] if shutil.which("taskset") and os.cpu_count() != 1 else []


@contextmanager
def decide_server(workers: int = 1, core: str = "0") -> Iterator[tuple[int, str]]:
    """decide serve on the embedded valkey-server: (HTTP port, the store's URL)."""
    port = free_port()
    data = tempfile.mkdtemp(prefix="decide-bench-")
    env = {**os.environ, "DECIDE_DATA_DIR": data}
    env.pop("REDIS_URL", None)
    command = [sys.executable, "-m", "decide", "serve", "--port", str(port),
               "--workers", str(workers), "--log-level", "warning"]  # fmt: skip
    prefix = ["taskset", "-c", core] if pinned(0) else []
    proc = subprocess.Popen(prefix + command, env=env, stderr=subprocess.DEVNULL)
    try:
        wait_ready(port)
        yield port, EmbeddedServer(Path(data)).url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(data, ignore_errors=True)


def wait_ready(port: int, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if b" 200 " in s.recv(100):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("decide did not become ready")


def http(port: int, method: str, path: str, body: Any) -> tuple[int, Any]:
    async def go() -> tuple[int, bytes]:
        conn = await Connection.open("127.0.0.1", port)
        try:
            return await conn.request(method, path, orjson.dumps(body))
        finally:
            conn.close()

    status, payload = asyncio.run(go())
    return status, orjson.loads(payload) if payload else None


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
        "core_alone": core,
        "batch_http": batch,
        "single_http": single,
        "rounds": {"core_alone": cores, "batch_http": batches},
        "ratios": {
            "batch_vs_core": batch["decisions_per_s"] / core["decisions_per_s"],
            "batch_vs_single": batch["decisions_per_s"] / single["decisions_per_s"],
        },
    }


def print_table(result: dict[str, Any]) -> None:
    print(f"\n{result['scenario']}: {result['contacts']} contacts, {os.cpu_count()} cores")
    print(f"{'measurement':<34}{'decisions/s':>14}{'p50 ms':>10}{'p99 ms':>10}")
    for name in ("core_alone", "batch_http", "single_http"):
        row = result[name]
        p50 = f"{row['p50_ms']:.1f}" if "p50_ms" in row else "-"
        p99 = f"{row['p99_ms']:.1f}" if "p99_ms" in row else "-"
        print(f"{name:<34}{row['decisions_per_s']:>14,.0f}{p50:>10}{p99:>10}")
    for name, value in result["ratios"].items():
        print(f"ratio {name:<28}{value:>14.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m loadtest.bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("scenario", choices=["batch"])
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    if pinned(1):
        os.sched_setaffinity(0, {1})  # the generator (and the in-process core run) on core 1
    result = run_batch(args)
    result |= {"machine": platform.platform(), "cores": os.cpu_count(),
               "at": datetime.now(UTC).isoformat()}  # fmt: skip
    print_table(result)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{result['scenario']}-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    out.write_text(json.dumps(result, indent=2))
    print(f"\nwritten to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
