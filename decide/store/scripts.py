"""Lua scripts as files, loaded once and called by SHA inside pipelines."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from importlib import resources
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ConnectionError, NoScriptError
from redis.exceptions import TimeoutError as RedisTimeoutError

from decide.store.cluster_pipeline import run_in_pipeline, run_on_cluster
from decide.store.resp import pack_commands, read_replies

Arg = str | int | float | bytes


def _read_sources() -> dict[str, str]:
    """Scripts by name; a script whose first line is `--#include <lib>` gets `_<lib>.lua`
    pasted in its place (Redis scripts cannot load each other)."""
    folder = resources.files("decide.store") / "lua"
    texts = {
        entry.name.removesuffix(".lua"): entry.read_text(encoding="utf-8")
        for entry in folder.iterdir()
        if entry.name.endswith(".lua")
    }
    out = {}
    for name, text in texts.items():
        if name.startswith("_"):
            continue
        first, _, rest = text.partition("\n")
        if first.startswith("--#include "):
            text = texts["_" + first.removeprefix("--#include ").strip()] + rest
        out[name] = text
    return out


class Scripts:
    def __init__(self) -> None:
        self.sources = _read_sources()
        self.shas = {
            name: hashlib.sha1(src.encode()).hexdigest() for name, src in self.sources.items()
        }

    async def load(self, client: aioredis.Redis) -> None:
        for source in self.sources.values():
            await client.script_load(source)


@dataclass
class Batch:
    """Commands sent in one pipelined round trip.

    A server that restarted has forgotten its scripts; only the script calls that failed with
    NOSCRIPT are sent again after loading, so plain commands in the batch never run twice.
    """

    scripts: Scripts
    ops: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    waited: list[Any] = field(default_factory=list)  # the answers of `then` in execute

    def script(self, name: str, keys: Sequence[str], args: Sequence[Arg]) -> int:
        return self.command("evalsha", self.scripts.shas[name], len(keys), *keys, *args)

    def command(self, name: str, *args: Any) -> int:
        self.ops.append((name, args))
        return len(self.ops) - 1

    async def execute(
        self,
        target: aioredis.Redis | Pipeliner,
        then: tuple[Any, ...] = (),
        deadline: float | None = None,
        sent: asyncio.Future[None] | None = None,
    ) -> list[Any]:
        """Results in order; a failed command's result is its exception (callers decide).
        `deadline` (loop time, Pipeliner only): past it, TimeoutError — the round trip goes
        on, its answer is no longer waited for. `sent` is resolved once the commands are on
        the wire, or fails with the send's error (on a cluster, once the other masters have
        answered, if one master's share could not be sent).

        `then` (WAIT/WAITAOF) follows the batch on the same connection, and follows the
        retried scripts on theirs: each waits for its connection's writes, so together their
        answers (in `self.waited`) cover every write of the batch. On a cluster it follows
        every master's share, and answers the least any of them got (cluster_pipeline)."""
        self.waited = []
        if not self.ops:
            return []
        run = (
            partial(target.run, deadline=deadline, sent=sent)
            if isinstance(target, Pipeliner)
            else partial(_run, target, on_sent=None if sent is None else partial(_resolve, sent))
        )
        client = target.client if isinstance(target, Pipeliner) else target
        tail = [(str(then[0]), then[1:])] if then else []
        try:
            results = await run([*self.ops, *tail])
        except BaseException as error:
            if sent is not None and not sent.done():
                sent.set_exception(error)
            raise
        if sent is not None:
            _settle(sent, results)
        self.waited += results[len(self.ops) :]
        results = results[: len(self.ops)]
        missing = [i for i, r in enumerate(results) if isinstance(r, NoScriptError)]
        if missing:
            await self.scripts.load(client)
            retried = await _run(client, [*(self.ops[i] for i in missing), *tail])
            self.waited += retried[len(missing) :]
            for i, result in zip(missing, retried, strict=False):
                results[i] = result
        return results


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _settle(sent: asyncio.Future[None], results: Sequence[Any]) -> None:
    """A `sent` still pending once the answers are in: on a cluster, one master's share could
    not be written. It fails if these results hold a connection's error (its commands may be
    in that share: the caller must not take them as sent), else is resolved."""
    if sent.done():
        return
    unsent = next((r for r in results if isinstance(r, (ConnectionError, RedisTimeoutError))), None)
    if unsent is None:
        sent.set_result(None)
    else:
        sent.set_exception(unsent)


async def _run(
    client: aioredis.Redis,
    ops: Sequence[tuple[str, tuple[Any, ...]]],
    on_sent: Callable[[], None] | None = None,
) -> list[Any]:
    """One pipelined round trip; `on_sent` is called once the commands are written."""
    if type(client) is aioredis.Redis:
        return await _run_on_connection(client, ops, on_sent)
    if isinstance(client, RedisCluster):
        return await run_on_cluster(client, ops, on_sent)
    return await run_in_pipeline(client, ops, on_sent)


async def _run_on_connection(
    client: aioredis.Redis,
    ops: Sequence[tuple[str, tuple[Any, ...]]],
    on_sent: Callable[[], None] | None = None,
) -> list[Any]:
    """What `pipeline(transaction=False).execute(raise_on_error=False)` does, at a fraction of
    its per-command cost (the hot path's largest share of CPU in a profile): the commands are
    packed into one buffer here, and the replies read under one timer for the round trip
    rather than a timer per reply. The same connection pool, reply callbacks and per-command
    errors. Unlike redis-py, a batch is never sent twice: a write that fails may have reached
    the store in part, and the whole commands in that part may have run, so a second send
    could count them twice. Only connecting is retried (nothing is written yet), and a
    connection the server closed while pooled is replaced by the pool before the write."""
    names = [name.upper() for name, _ in ops]
    packed = pack_commands(names, ops)
    callbacks = client.response_callbacks
    pool = client.connection_pool
    conn = await pool.get_connection()  # type: ignore[no-untyped-call]

    async def failed(error: Exception) -> None:
        await conn.disconnect()

    try:
        await conn.retry.call_with_retry(conn.connect, failed)
        await conn.send_packed_command(packed, check_health=False)
        if on_sent is not None:
            on_sent()
        results: list[Any] = []
        await read_replies(conn, names, callbacks, results)
        return results
    except BaseException as error:
        await conn.disconnect()  # replies may be unread: the connection is no longer usable
        if isinstance(error, TimeoutError):
            raise RedisTimeoutError("Timeout reading from the store") from error
        raise
    finally:
        await pool.release(conn)


Ops = Sequence[tuple[str, tuple[Any, ...]]]


class Pipeliner:
    """Sends the batches of all requests that reach the store in the same event-loop pass as
    one pipeline: a round trip and a pipeline's Python overhead shared by every concurrent
    request, instead of paid by each (DESIGN.md's auto-pipelining).

    A batch may carry a deadline: one timer per round trip (not one per request) fails the
    batches whose deadline passed with TimeoutError while the round trip goes on. It may also
    carry a `sent` future, resolved when its commands are on the wire."""

    def __init__(self, client: aioredis.Redis) -> None:
        self.client = client
        self._pending: list[_Waiter] = []
        self._flushing: set[asyncio.Task[None]] = set()

    async def run(
        self, ops: Ops, deadline: float | None = None, sent: asyncio.Future[None] | None = None
    ) -> list[Any]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[Any]] = loop.create_future()
        if not self._pending:
            loop.call_soon(self._flush)
        self._pending.append(_Waiter(ops, future, deadline, sent))
        return await future

    def _flush(self) -> None:
        batch, self._pending = self._pending, []
        task = asyncio.create_task(self._send(batch))
        self._flushing.add(task)
        task.add_done_callback(self._flushing.discard)

    async def _send(self, batch: list[_Waiter]) -> None:
        timer = _expire_at_deadlines(batch)

        def on_sent() -> None:
            for w in batch:
                if w.sent is not None:
                    _resolve(w.sent)

        try:
            results = await _run(self.client, [op for w in batch for op in w.ops], on_sent)
        except BaseException as error:  # every waiter learns what happened, then it propagates
            for w in batch:
                if not w.future.done():
                    w.future.set_exception(error)
            if not isinstance(error, Exception):
                raise
            return
        finally:
            if timer is not None:
                timer.cancel()
        start = 0
        for w in batch:  # Batch.execute settles each waiter's `sent` from its answers
            if not w.future.done():
                w.future.set_result(results[start : start + len(w.ops)])
            start += len(w.ops)


@dataclass(slots=True)
class _Waiter:
    ops: Ops
    future: asyncio.Future[list[Any]]
    deadline: float | None
    sent: asyncio.Future[None] | None = None


class _Timer:
    handle: asyncio.TimerHandle | None = None

    def cancel(self) -> None:
        if self.handle is not None:
            self.handle.cancel()


def _expire_at_deadlines(batch: list[_Waiter]) -> _Timer | None:
    """One timer at the earliest deadline; when it fires it fails every waiter past its own
    and re-arms for the next."""
    if all(w.deadline is None for w in batch):
        return None
    loop = asyncio.get_running_loop()
    timer = _Timer()

    def fire() -> None:
        now, later = loop.time(), []
        for w in batch:
            if w.deadline is None or w.future.done():
                continue
            if w.deadline <= now:
                w.future.set_exception(TimeoutError())
            else:
                later.append(w.deadline)
        timer.handle = loop.call_at(min(later), fire) if later else None

    timer.handle = loop.call_at(min(w.deadline for w in batch if w.deadline is not None), fire)
    return timer
