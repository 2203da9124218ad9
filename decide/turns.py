"""Long loops that give the event loop a turn: a 1,000-contact batch chunk is ~0.5 s of pure
work, and without turns every single decision and event on the same worker waits it out
(and reads its Redis reply past the timeout). A loop of one item never yields."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from typing import TypeVar

T = TypeVar("T")

EVERY = 32  # items between turns: ~15 ms of decide work, a sleep(0) is ~5 µs


async def each(items: Iterable[T], every: int = EVERY) -> AsyncIterator[T]:
    for i, item in enumerate(items):
        if i and i % every == 0:
            await asyncio.sleep(0)
        yield item
