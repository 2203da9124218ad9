"""How the hot path talks to the store, against a real server: the auto-pipeline's deadlines
(a request past its own stops waiting, the others in the round trip get their answers; BLPOP
holds the round trip), and the pipeline runner that packs and reads replies itself."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis
from redis._parsers.encoders import Encoder
from redis.exceptions import ConnectionError, DataError, NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from decide.runtime import connect
from decide.store.resp import pack_commands
from decide.store.scripts import Batch, Pipeliner, Scripts, _run
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


OPS: list[tuple[str, tuple[object, ...]]] = [
    ("set", ("run-test:s", "سلام")),
    ("get", ("run-test:s",)),
    ("hset", ("run-test:h", "a", 1, "b", 2.5, "c", b"\x00\xff")),
    ("hgetall", ("run-test:h",)),
    ("hincrbyfloat", ("run-test:h", "b", 0.25)),
    ("zadd", ("run-test:z", 1.5, "m1", 2, "m2")),
    ("zrange", ("run-test:z", 0, -1, "WITHSCORES")),
    ("expire", ("run-test:z", 60)),
    ("incr", ("run-test:s",)),  # an error reply, in its place
    ("evalsha", ("0" * 40, 0)),  # NOSCRIPT
    ("eval", ("return {1, 'x', {2}}", 0)),
    ("del", ("run-test:s", "run-test:h", "run-test:z")),
]


def test_the_connection_runner_answers_as_redis_py_pipelines_do(store: Store) -> None:
    """The hot path packs and reads its pipelines itself: same replies, callbacks and
    per-command errors as redis-py's own pipeline on the same commands."""

    async def both() -> tuple[list[object], list[object]]:
        client = aioredis.Redis.from_url(store.url)
        try:
            ours = await _run(client, OPS)
            pipe = client.pipeline(transaction=False)
            for name, args in OPS:
                pipe.execute_command(name.upper(), *args)
            theirs = list(await pipe.execute(raise_on_error=False))
            return ours, theirs
        finally:
            await client.aclose()

    ours, theirs = asyncio.run(both())
    assert [type(r) for r in ours] == [type(r) for r in theirs]
    assert isinstance(ours[8], ResponseError) and isinstance(ours[9], NoScriptError)
    plain = [r for r in ours if not isinstance(r, Exception)]
    assert plain == [r for r in theirs if not isinstance(r, Exception)]
    assert ours[3] == {b"a": b"1", b"b": b"2.5", b"c": b"\x00\xff"}


@pytest.mark.parametrize(
    "args",
    [
        ("k", "f", 1, 2.5, b"\xff", "ی", "", b"", 10**20, -7, 1e-7, 0.1 + 0.2, -0.0, 1e22,
         memoryview(b"b")),  # hiredis's packer
        ("k", "f", bytearray(b"a"), 1, "ی"),  # one it refuses: the Python packer
    ],
)  # fmt: skip
def test_arguments_are_encoded_as_redis_py_encodes_them(args: tuple[object, ...]) -> None:
    packed = pack_commands(["HSET", "HSET"], [("HSET", args), ("hset", args[:3])])
    encoder = Encoder("utf-8", "strict", False)

    def expected(parts: tuple[object, ...]) -> bytes:
        encoded = (b"HSET", *map(encoder.encode, parts))
        return b"*%d\r\n" % len(encoded) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in encoded)

    assert packed == expected(args) + expected(args[:3])
    for bad in (True, None, [1]):
        with pytest.raises(DataError):
            pack_commands(["SET"], [("SET", ("k", bad))])


def test_a_connection_the_server_closed_is_replaced_once(store: Store) -> None:
    async def scenario() -> list[object]:
        client = aioredis.Redis.from_url(store.url)
        try:
            await _run(client, [("CLIENT", ("SETNAME", "runner-test"))])
            killer = aioredis.Redis.from_url(store.url)
            await killer.execute_command("CLIENT", "KILL", "SKIPME", "yes")
            await killer.aclose()
            return await _run(client, [("PING", ()), ("ECHO", ("again",))])
        finally:
            await client.aclose()

    assert asyncio.run(scenario()) == [True, b"again"]


def test_sent_resolves_when_the_commands_are_written_not_when_answered(store: Store) -> None:
    """What a single decision waits for before answering: its write on the wire."""

    async def scenario() -> tuple[float, float]:
        client = aioredis.Redis.from_url(store.url)
        try:
            pipeliner = Pipeliner(client)
            loop = asyncio.get_running_loop()
            sent: asyncio.Future[None] = loop.create_future()
            start = loop.time()
            batch = Batch(Scripts())
            batch.command("BLPOP", "pipeliner-test-empty", 0.3)  # answered after 0.3 s
            answered = asyncio.ensure_future(batch.execute(pipeliner, sent=sent))
            await sent
            on_wire = loop.time() - start
            assert await answered == [None]
            return on_wire, loop.time() - start
        finally:
            await client.aclose()

    on_wire, answered = asyncio.run(scenario())
    assert on_wire < 0.2 <= 0.28 <= answered, (on_wire, answered)


def test_sent_fails_with_the_send(store: Store) -> None:
    async def scenario() -> BaseException | None:
        client = aioredis.Redis.from_url("redis://127.0.0.1:1")  # nothing listens there
        try:
            sent: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            batch = Batch(Scripts())
            batch.command("PING")
            with pytest.raises(ConnectionError):
                await batch.execute(Pipeliner(client), sent=sent)
            return sent.exception()
        finally:
            await client.aclose()

    assert isinstance(asyncio.run(scenario()), ConnectionError)


@pytest.mark.parametrize("failure", ["answer_late", "connection_dropped"])
def test_a_written_batch_is_never_sent_again(store: Store, failure: str) -> None:
    """Once written, the store may have applied it: a read that times out or a connection
    dropped before the answer fails the batch rather than sending it again, so a counter is
    never incremented twice (the retry is for a pooled connection that was dead already)."""

    async def scenario() -> tuple[type[BaseException], int]:
        client = connect(store.url, 0.2)  # the service's client: one retry, 0.2 s per read
        killer = aioredis.Redis.from_url(store.url)
        try:
            await client.delete("runner-test-counter")
            blocked = [("INCR", ("runner-test-counter",)), ("BLPOP", ("runner-test-empty", 0.5))]
            if failure == "connection_dropped":
                blocked = [("CLIENT", ("SETNAME", "runner-test-late")), *blocked]
                drop = asyncio.create_task(drop_connection_soon(killer, "runner-test-late"))
            with pytest.raises((RedisTimeoutError, ConnectionError)) as failed:
                await _run(client, blocked)
            if failure == "connection_dropped":
                await drop
            await asyncio.sleep(0.6)  # the BLPOP of any second send would be over by now
            return failed.type, int(await killer.get("runner-test-counter"))
        finally:
            await client.aclose()
            await killer.aclose()

    expected = RedisTimeoutError if failure == "answer_late" else ConnectionError
    assert asyncio.run(scenario()) == (expected, 1)


async def drop_connection_soon(killer: aioredis.Redis, name: str) -> None:
    await asyncio.sleep(0.1)  # the batch is written and its BLPOP is waiting
    clients = await killer.client_list()
    (victim,) = [c for c in clients if c["name"] == name]
    await killer.client_kill_filter(_id=victim["id"])


def test_a_write_that_fails_part_way_is_not_sent_again(store: Store) -> None:
    """The store closes a client whose query buffer outgrows its limit: the INCR at the head of
    the buffer has run by then, and the write fails on the rest. Sending the batch again (as
    redis-py's retry would) ran the INCR twice."""

    async def scenario() -> tuple[type[BaseException], int]:
        client = connect(store.url, 2.0)  # the service's client: one retry
        admin = aioredis.Redis.from_url(store.url)
        limit = (await admin.config_get("client-query-buffer-limit"))["client-query-buffer-limit"]
        try:
            await admin.config_set("client-query-buffer-limit", "1mb")
            await admin.delete("runner-test-counter")
            oversized = [("INCR", ("runner-test-counter",)), ("SET", ("big", b"x" * 16_000_000))]
            with pytest.raises(ConnectionError) as failed:
                await _run(client, oversized)
            return failed.type, int(await admin.get("runner-test-counter"))
        finally:
            await admin.config_set("client-query-buffer-limit", limit)
            await client.aclose()
            await admin.aclose()

    assert asyncio.run(scenario()) == (ConnectionError, 1)
