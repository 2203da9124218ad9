"""Lua scripts as files, loaded once and called by SHA inside pipelines."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import NoScriptError

Arg = str | int | float | bytes


def _read_sources() -> dict[str, str]:
    folder = resources.files("decide.store") / "lua"
    return {
        entry.name.removesuffix(".lua"): entry.read_text(encoding="utf-8")
        for entry in folder.iterdir()
        if entry.name.endswith(".lua")
    }


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

    def script(self, name: str, keys: Sequence[str], args: Sequence[Arg]) -> int:
        return self.command("evalsha", self.scripts.shas[name], len(keys), *keys, *args)

    def command(self, name: str, *args: Any) -> int:
        self.ops.append((name, args))
        return len(self.ops) - 1

    async def execute(self, client: aioredis.Redis) -> list[Any]:
        """Results in order; a failed command's result is its exception (callers decide)."""
        if not self.ops:
            return []
        results = await _run(client, self.ops)
        missing = [i for i, r in enumerate(results) if isinstance(r, NoScriptError)]
        if missing:
            await self.scripts.load(client)
            retried = await _run(client, [self.ops[i] for i in missing])
            for i, result in zip(missing, retried, strict=True):
                results[i] = result
        return results


async def _run(client: aioredis.Redis, ops: Sequence[tuple[str, tuple[Any, ...]]]) -> list[Any]:
    pipe = client.pipeline(transaction=False)
    for name, args in ops:
        pipe.execute_command(name.upper(), *args)
    return list(await pipe.execute(raise_on_error=False))
