"""Load generation for the benchmarks: a raw-socket HTTP/1.1 keep-alive client (closed and
open loop) and the servers under test, pinned to their own core.

The client costs a few tens of µs per request — far below decide's cost per request — where
httpx costs several hundred, which would make the generator the thing measured.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from decide.store.embedded import EmbeddedServer


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


async def open_loop(
    port: int, bodies: Callable[[int], bytes], rate: float, count: int, path: str,
    connections: int = 64,
) -> dict[str, float]:  # fmt: skip
    """`count` requests sent at a constant `rate` whatever the server does: latency is counted
    from when a request was due, so time spent queueing for a connection is not hidden."""
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(await Connection.open("127.0.0.1", port))
    latencies: list[float] = []
    errors = 0

    async def one(i: int, due: float) -> None:
        nonlocal errors
        conn = await pool.get()
        status, _ = await conn.request("POST", path, bodies(i))
        latencies.append(time.perf_counter() - due)
        errors += status != 200
        pool.put_nowait(conn)

    began = time.perf_counter()
    tasks = []
    for i in range(count):
        due = began + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, due)))
    await asyncio.gather(*tasks)
    while not pool.empty():
        pool.get_nowait().close()
    latencies.sort()
    return {
        "rate": rate,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
        "errors": errors,
    }


@contextmanager
def baseline_server(core: str = "0") -> Iterator[int]:
    """The bare Starlette + orjson echo every ratio is measured against."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "--factory", "loadtest.baseline:create_app",
               "--port", str(port), "--log-level", "warning", "--no-access-log"]  # fmt: skip
    prefix = ["taskset", "-c", core] if pinned(0) else []
    proc = subprocess.Popen(prefix + command, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)
