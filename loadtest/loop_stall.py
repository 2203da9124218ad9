"""How long a batch decide holds its worker's event loop: /healthz pinged every 5 ms on its
own connection while one POST /v1/decide/batch runs, against a demo server (one worker).

    python -m loadtest.loop_stall [--sizes 100,1000,5000]

Every request that arrives at the same worker meanwhile waits as long as the longest ping,
and a Redis reply it awaits is read only then — past DECIDE_REDIS_TIMEOUT_MS it is a 503.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import orjson

from loadtest.load import Connection
from loadtest.locust_run import target_server

PING_EVERY_S = 0.005


async def one_batch(port: int, size: int) -> dict[str, float]:
    body = orjson.dumps({
        "placement": "cart_reminder", "context": {"cart_url": "https://shop.example/cart"},
        "contacts": [{"contact_id": f"stall{size}-{i}",
                      "attributes": {"email": f"s{i}@example.org"}} for i in range(size)],
    })  # fmt: skip
    ping = await Connection.open("127.0.0.1", port)
    waits: list[float] = []
    running = True

    async def pinger() -> None:
        while running:
            start = time.perf_counter()
            await ping.request("GET", "/healthz", b"")
            waits.append(time.perf_counter() - start)
            await asyncio.sleep(PING_EVERY_S)

    task = asyncio.create_task(pinger())
    await asyncio.sleep(0.1)
    conn = await Connection.open("127.0.0.1", port)
    start = time.perf_counter()
    status, _ = await conn.request("POST", "/v1/decide/batch", body)
    took = time.perf_counter() - start
    running = False
    await task
    ping.close()
    conn.close()
    assert status == 200, status
    waits.sort()
    return {"batch_ms": took * 1000, "ping_max_ms": waits[-1] * 1000,
            "ping_median_ms": waits[len(waits) // 2] * 1000, "pings": len(waits)}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.loop_stall", description=__doc__)
    parser.add_argument("--sizes", default="100,1000,5000", help="contacts per batch")
    sizes = [int(s) for s in parser.parse_args(argv).sizes.split(",")]
    with target_server(None) as base:
        port = int(base.rsplit(":", 1)[1])
        asyncio.run(one_batch(port, 50))  # warm: templates compiled, scripts loaded
        print(f"{'contacts':>9}{'batch ms':>10}{'longest /healthz ms':>21}{'median ms':>11}")
        for size in sizes:
            r = asyncio.run(one_batch(port, size))
            print(f"{size:>9}{r['batch_ms']:>10.0f}{r['ping_max_ms']:>21.0f}"
                  f"{r['ping_median_ms']:>11.1f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
