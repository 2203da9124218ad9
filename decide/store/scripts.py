"""Lua scripts as files, loaded once and called by SHA inside pipelines."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from importlib import resources
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import NoScriptError

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
        self, target: aioredis.Redis | Pipeliner, then: tuple[Any, ...] = ()
    ) -> list[Any]:
        """Results in order; a failed command's result is its exception (callers decide).

        `then` (WAIT/WAITAOF) follows the batch on the same connection, and follows the
        retried scripts on theirs: each waits for its connection's writes, so together their
        answers (in `self.waited`) cover every write of the batch."""
        self.waited = []
        if not self.ops:
            return []
        run = target.run if isinstance(target, Pipeliner) else partial(_run, target)
        client = target.client if isinstance(target, Pipeliner) else target
        tail = [(str(then[0]), then[1:])] if then else []
        results = await run([*self.ops, *tail])
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


async def _run(client: aioredis.Redis, ops: Sequence[tuple[str, tuple[Any, ...]]]) -> list[Any]:
    pipe = client.pipeline(transaction=False)
    for name, args in ops:
        pipe.execute_command(name.upper(), *args)
    return list(await pipe.execute(raise_on_error=False))


Ops = Sequence[tuple[str, tuple[Any, ...]]]


class Pipeliner:
    """Sends the batches of all requests that reach the store in the same event-loop pass as
    one pipeline: a round trip and a pipeline's Python overhead shared by every concurrent
    request, instead of paid by each (DESIGN.md's auto-pipelining)."""

    def __init__(self, client: aioredis.Redis) -> None:
        self.client = client
        self._pending: list[tuple[Ops, asyncio.Future[list[Any]]]] = []
        self._flushing: set[asyncio.Task[None]] = set()

    async def run(self, ops: Ops) -> list[Any]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[Any]] = loop.create_future()
        if not self._pending:
            loop.call_soon(self._flush)
        self._pending.append((ops, future))
        return await future

    def _flush(self) -> None:
        batch, self._pending = self._pending, []
        task = asyncio.create_task(self._send(batch))
        self._flushing.add(task)
        task.add_done_callback(self._flushing.discard)

    async def _send(self, batch: list[tuple[Ops, asyncio.Future[list[Any]]]]) -> None:
        try:
            results = await _run(self.client, [op for ops, _ in batch for op in ops])
        except BaseException as error:  # every waiter learns what happened, then it propagates
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            if not isinstance(error, Exception):
                raise
            return
        start = 0
        for ops, future in batch:
            if not future.done():
                future.set_result(results[start : start + len(ops)])
            start += len(ops)
