"""What the store's fsync does to single decisions: `appendfsync always` (the embedded
default) against `everysec` and `no`, the same load on each, back to back.

    python -m loadtest.fsync_modes [--runs 2] [--rate 1200] [--seconds 8]

For each mode: an embedded valkey-server with that setting and `decide serve` on it, both on
core 0 (as `bench decide` pins them), then 6,000 single web A/B decisions closed loop
(32 connections) and `--rate` decisions/s open loop for `--seconds`. Prints throughput, the
open-loop p50 and p99, and the store's own fsync stalls over 3 ms (`LATENCY LATEST`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import redis

from decide.store.embedded import EmbeddedServer
from loadtest.bench import HERO, HERO_TEST, _decide_bodies
from loadtest.load import closed_loop, free_port, http, open_loop, pinned, wait_ready

MODES = ("always", "everysec", "no")


def run(mode: str, rate: float, seconds: float) -> str:
    data = Path(tempfile.mkdtemp(prefix="decide-fsync-"))
    store = EmbeddedServer(data / "store", appendfsync=mode)
    store.start()
    port = free_port()
    env = {**os.environ, "DECIDE_DATA_DIR": str(data / "decide"), "REDIS_URL": store.url}
    command = [sys.executable, "-m", "decide", "serve", "--port", str(port),
               "--log-level", "warning"]  # fmt: skip
    if pinned(0) and store.pid is not None:
        os.sched_setaffinity(store.pid, {0})
    server = subprocess.Popen([*pinned(0), *command], env=env, stderr=subprocess.DEVNULL)
    try:
        wait_ready(port)
        for kind, key, doc in (
            ("placements", "hero", HERO),
            ("experiments", "hero_test", HERO_TEST),
        ):
            status, body = http(port, "PUT", f"/v1/{kind}/{key}", doc)
            assert status in (200, 201), body
        client = redis.Redis.from_url(store.url)
        client.config_set("latency-monitor-threshold", 3)
        bodies = _decide_bodies("hero")
        asyncio.run(closed_loop(port, bodies, 500, 32, "/v1/decide"))
        closed = asyncio.run(closed_loop(port, bodies, 6000, 32, "/v1/decide"))
        opened = asyncio.run(open_loop(port, bodies, rate, int(rate * seconds), "/v1/decide"))
        latest = client.execute_command("LATENCY", "LATEST")  # type: ignore[no-untyped-call]
        stalls = {e[0].decode(): e for e in latest}
        fsync = stalls.get("aof-fsync-always")
        stalled = f"{fsync[5]} fsyncs over 3 ms, the longest {fsync[3]} ms" if fsync else "none"
        return (f"{mode:9} closed {closed['requests_per_s']:6,.0f}/s | open {rate:,.0f}/s: "
                f"p50 {opened['p50_ms']:5.1f} ms, p99 {opened['p99_ms']:5.1f} ms | "
                f"fsync stalls: {stalled}")  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=30)
        store.stop()
        shutil.rmtree(data, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.fsync_modes")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--rate", type=float, default=1200)
    parser.add_argument("--seconds", type=float, default=8)
    args = parser.parse_args(argv)
    for _ in range(args.runs):
        for mode in MODES:
            print(run(mode, args.rate, args.seconds), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
