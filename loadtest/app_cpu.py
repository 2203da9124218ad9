"""Python CPU per request through decide's real ASGI app (every middleware, the real routes, a
real embedded valkey-server), without an HTTP server or a load generator in the way.

    python -m loadtest.app_cpu [--requests 12800] [--callers 32] [--settle-heap] [--profile]

32 callers in one uvloop loop each send POST /v1/decide for the demo's `homepage_hero` (an
A/B/C test, a two-token template) to new contacts, as wrk does. The process's CPU time per
request is far less noisy than requests/s over HTTP on a shared box, so it is what to watch
when tuning the hot path; the garbage collector's pauses are reported per generation, since
a full collection is what a busy worker's p99 shows. `--settle-heap` applies the GC tuning
that `decide serve` workers get; `--profile` prints cProfile's top functions by own CPU time
(not wall time: the store shares the core); `--callers 1` measures decisions arriving alone.
Pin it to a core (`taskset -c 0`) for steadier numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
import uvloop

from decide.app import create_app
from decide.config.files import demo_config_path, read_config_file
from decide.request_log import configure_logging
from decide.routes.config import store_document
from decide.settings import Settings
from decide.store.embedded import EmbeddedServer

CALLERS = 32
Message = dict[str, Any]


class Pauses:
    """The collector's pauses, per generation, through gc.callbacks."""

    def __init__(self) -> None:
        self.ms: dict[int, list[float]] = {0: [], 1: [], 2: []}
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.ms[info["generation"]].append((time.perf_counter() - self._started) * 1000)

    def clear(self) -> None:
        for pauses in self.ms.values():
            pauses.clear()

    def summary(self, requests: int) -> str:
        parts = []
        for generation, pauses in self.ms.items():
            if pauses:
                parts.append(f"gen{generation} {len(pauses)} pauses, max {max(pauses):.1f} ms")
        total = sum(sum(p) for p in self.ms.values())
        return f"GC {total * 1000 / requests:.1f} µs/request ({', '.join(parts) or 'none'})"


def _scope(body: bytes) -> dict[str, Any]:
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/v1/decide", "raw_path": b"/v1/decide", "query_string": b"",
        "root_path": "", "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80), "state": {},
        "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode())],
    }  # fmt: skip


async def _decide(app: Callable[..., Awaitable[None]], contact: int) -> int:
    body = orjson.dumps(
        {"contact_id": f"c-{contact}", "placement": "homepage_hero",
         "attributes": {"first_name": "Maryam", "locale": "fa"}}
    )  # fmt: skip
    delivered = False
    status = 0

    async def receive() -> Message:
        nonlocal delivered
        if delivered:  # the client never disconnects
            await asyncio.Event().wait()
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(_scope(body), receive, send)
    return status


async def _lifespan(app: Callable[..., Awaitable[None]]) -> Callable[[], Awaitable[None]]:
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    outbox: asyncio.Queue[Message] = asyncio.Queue()
    await inbox.put({"type": "lifespan.startup"})
    task = asyncio.create_task(
        app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, inbox.get, outbox.put)
    )
    started = await outbox.get()
    assert started["type"] == "lifespan.startup.complete", started

    async def shutdown() -> None:
        await inbox.put({"type": "lifespan.shutdown"})
        await outbox.get()
        await task

    return shutdown


async def measure(
    url: str, requests: int, rounds: int, settle_heap: bool, callers: int = CALLERS
) -> list[float]:
    settings = Settings.from_env()
    app = create_app(settings, url, settle_heap=settle_heap)
    shutdown = await _lifespan(app)
    runtime = app.state.runtime
    for kind, key, doc in read_config_file(demo_config_path()):
        await store_document(runtime, kind, key, doc, by="demo")
    await runtime.refresh()
    pauses = Pauses()
    gc.callbacks.append(pauses)
    per_caller = requests // callers
    contacts = iter(range(10**9))
    failures: list[int] = []

    async def caller() -> None:
        for _ in range(per_caller):
            status = await _decide(app, next(contacts))
            if status != 200:
                failures.append(status)

    results = []
    try:
        for round_ in range(rounds + 1):  # the first round warms up
            pauses.clear()
            cpu, wall = time.process_time(), time.perf_counter()
            await asyncio.gather(*(caller() for _ in range(callers)))
            n = per_caller * callers
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            label = "warm-up" if round_ == 0 else f"round {round_}"
            print(f"{label:>8}: {cpu / n * 1e6:6.1f} µs CPU/request, {n / wall:7,.0f} requests/s "
                  f"in one loop; {pauses.summary(n)}")  # fmt: skip
            if round_:
                results.append(cpu / n * 1e6)
    finally:
        gc.callbacks.remove(pauses)
        await shutdown()
    if failures:
        raise SystemExit(f"{len(failures)} requests failed, e.g. status {failures[0]}")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.app_cpu")
    parser.add_argument("--requests", type=int, default=12_800, help="per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--callers", type=int, default=CALLERS, help="concurrent requests")
    parser.add_argument("--settle-heap", action="store_true", help="GC tuning as decide serve")
    parser.add_argument("--profile", action="store_true", help="cProfile's top functions")
    args = parser.parse_args(argv)
    configure_logging("json")
    for handler in logging.getLogger("decide").handlers:  # measured, but written nowhere
        assert isinstance(handler, logging.StreamHandler)
        handler.setStream(open(os.devnull, "w"))  # noqa: SIM115
    server = EmbeddedServer(Path(tempfile.mkdtemp(prefix="decide-app-cpu-")))
    server.start()
    try:
        run = measure(server.url, args.requests, args.rounds, args.settle_heap, args.callers)
        if args.profile:
            import cProfile
            import pstats

            profile = cProfile.Profile(time.thread_time)  # CPU, not wall: the store shares the core
            results = profile.runcall(uvloop.run, run)
            pstats.Stats(profile, stream=sys.stdout).sort_stats("tottime").print_stats(30)
        else:
            results = uvloop.run(run)
    finally:
        server.stop()
    print(f"best: {min(results):.1f} µs of Python CPU per decision")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
