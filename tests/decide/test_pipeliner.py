"""The auto-pipeline's deadlines: a request past its own deadline stops waiting, the others in
the same round trip get their answers (against a real server: BLPOP holds the round trip)."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from decide.store.scripts import Pipeliner
from tests.conftest import Store


def test_each_waiter_times_out_at_its_own_deadline_and_the_rest_are_answered(
    store: Store,
) -> None:
    async def scenario() -> tuple[list[object], list[float]]:
        client = aioredis.Redis.from_url(store.url)
        try:
            pipeliner = Pipeliner(client)
            loop = asyncio.get_running_loop()
            start = loop.time()
            ended: list[float] = []

            async def one(ops: list[tuple[str, tuple[object, ...]]], deadline: float | None):
                try:
                    return await pipeliner.run(ops, deadline)
                except TimeoutError as error:
                    return error
                finally:
                    ended.append(round(loop.time() - start, 2))

            blocked = [("BLPOP", ("pipeliner-test-empty", 0.4))]  # holds the whole round trip
            results = await asyncio.gather(
                one([("PING", ())], start + 0.05),
                one(blocked, None),
                one([("PING", ())], start + 0.15),
                one([("ECHO", ("late",))], None),
            )
            return list(results), ended
        finally:
            await client.aclose()

    results, ended = asyncio.run(scenario())
    assert isinstance(results[0], TimeoutError)
    assert isinstance(results[2], TimeoutError)
    assert results[1] == [None]  # BLPOP timed out on the server: nothing popped
    assert results[3] == [b"late"]
    first, second, *rest = ended
    assert 0.04 <= first < 0.12, ended  # each at its own deadline, not the earliest one's
    assert 0.14 <= second < 0.35, ended
    assert all(t >= 0.38 for t in rest), ended


def test_without_deadlines_each_batch_gets_its_own_answers(store: Store) -> None:
    async def scenario() -> list[object]:
        client = aioredis.Redis.from_url(store.url)
        try:
            pipeliner = Pipeliner(client)
            return await asyncio.gather(
                pipeliner.run([("SET", ("pipeliner-test", "1")), ("GET", ("pipeliner-test",))]),
                pipeliner.run([("DEL", ("pipeliner-test",))]),
            )
        finally:
            await client.aclose()

    assert asyncio.run(scenario()) == [[True, b"1"], [1]]
