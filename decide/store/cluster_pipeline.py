"""One pipelined round trip on a Redis Cluster: each master gets its share of the commands as
one packed buffer on one of its connections, all masters at once, and the replies are read
here. What redis-py's ClusterPipeline does, at a fraction of its CPU per command; what only
redis-py knows how to do (follow a redirection, wait out a migration) is left to its pipeline,
for exactly the commands that need it.

A master that cannot be written to fails only its own commands, at once: redis-py's pipeline
would close every connection of the client (failing what other requests have in flight on the
healthy masters), wait and rebuild its map. The map is refreshed here instead, in the
background, from the other masters (a replica may have taken the slots over)."""

from __future__ import annotations

import asyncio
import logging
import math
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from redis._parsers import AsyncCommandsParser
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.exceptions import (
    AskError,
    ClusterDownError,
    ConnectionError,
    MaxConnectionsError,
    ResponseError,
    SlotNotCoveredError,
    TryAgainError,
)
from redis.exceptions import TimeoutError as RedisTimeoutError

from decide.store.resp import pack_commands, read_replies

log = logging.getLogger("decide")

Ops = Sequence[tuple[str, tuple[Any, ...]]]

# Answers of a node that did not run the command (MovedError is an AskError): sending it again
# cannot count anything twice, and redis-py's pipeline knows where to send it.
_REFUSED = (AskError, TryAgainError, ClusterDownError)

# Keyless, they answer for the writes before them on their connection (an event batch's
# DECIDE_EVENTS_WAIT/WAITAOF): every master with commands before one gets it after them.
_BARRIERS = frozenset({"WAIT", "WAITAOF"})

MAP_REFRESH_EVERY_S = 1.0  # while a master is unreachable, CLUSTER SLOTS asked at most this often


def cluster_client(url: str, **options: Any) -> RedisCluster:
    """redis-py's client, with a COMMAND table that is asked for once and kept (see below)."""
    client = RedisCluster.from_url(url, **options)
    client.commands_parser = _KeptCommandTable()
    return client


class _KeptCommandTable(AsyncCommandsParser):
    """redis-py asks COMMAND again on every rebuild of its slot map, of the first master that
    CLUSTER SLOTS lists (slot 0's): while that master is down every rebuild fails, and with it
    every request of the client. The table cannot change while the servers run; a command it
    does not know still has it asked again (redis-py calls initialize() without a node)."""

    async def initialize(self, node: ClusterNode | None = None) -> None:
        if node is not None and self.commands:
            self.node = node
            return
        await super().initialize(node)


async def run_on_cluster(
    client: RedisCluster, ops: Ops, on_sent: Callable[[], None] | None = None
) -> list[Any]:
    """What `pipeline(transaction=False).execute(raise_on_error=False)` answers: results in
    order, a failed command's result being its error. The commands of a master whose buffer
    could not be written get that error (ConnectionError, TimeoutError) and are never sent
    again: a write that failed part way may have run the whole commands it carried.
    `on_sent` is called once every master's buffer is written (a command refused there is sent
    again after, by redis-py); never when one could not be: the caller learns it from the
    results. A WAIT or WAITAOF answers the least any master it followed got (see _weakest)."""
    await client.initialize()  # a no-op, unless redis-py dropped its slot map after a failure
    names = [name.upper() for name, _ in ops]
    routes = _routes(client, names, ops)
    if routes is None:
        return await run_in_pipeline(client, ops, on_sent)
    shares = []  # all packed before any is sent: a bad argument fails the batch unsent
    for node, at in routes.values():
        share = [names[i] for i in at]
        shares.append((node, at, share, pack_commands(share, [ops[i] for i in at])))
    unwritten = len(shares)

    def written() -> None:
        nonlocal unwritten
        unwritten -= 1
        if unwritten == 0 and on_sent is not None:
            on_sent()

    callbacks = client.response_callbacks
    answers = await asyncio.gather(
        *(_exchange(node, share, packed, written, callbacks) for node, _, share, packed in shares)
    )
    results: list[Any] = [None] * len(ops)
    waits: dict[int, list[Any]] = {}  # a barrier's answers, one per master it followed
    again: list[int] = []
    for (node, at, _, _), replies in zip(shares, answers, strict=True):
        written_all = not isinstance(replies, Exception)
        if not written_all and not isinstance(replies, MaxConnectionsError):
            _refresh_map_soon(client, node)  # busy is not unreachable
        for n, i in enumerate(at):
            # a share not (wholly) written: each of its commands failed, and is never re-sent
            reply = replies[n] if written_all else replies
            if names[i] in _BARRIERS:
                waits.setdefault(i, []).append(reply)
                continue
            results[i] = reply
            if isinstance(reply, _REFUSED):
                again.append(i)
    for i, answered in waits.items():
        results[i] = _weakest(answered)
    if again:  # only what no master ran, in the batch's order; the answered are never re-sent
        again.sort()
        rerun = await run_in_pipeline(client, [ops[i] for i in again])
        for i, result in zip(again, rerun, strict=True):
            results[i] = result
        for i in waits:  # a barrier followed them where they did not run
            if i > again[0]:
                results[i] = ResponseError(f"{names[i]}: some commands before it ran elsewhere")
    return results


def _weakest(answers: list[Any]) -> Any:
    """A barrier's answer for the whole batch: the least that any master it followed got (WAIT:
    replicas; WAITAOF: [local, replicas]), or an error one of them answered."""
    for answer in answers:
        if isinstance(answer, Exception):
            return answer
    if all(isinstance(answer, list) for answer in answers):
        return [min(column) for column in zip(*answers, strict=True)]
    return min(answers)


async def run_in_pipeline(
    client: Any, ops: Ops, on_sent: Callable[[], None] | None = None
) -> list[Any]:
    """redis-py's own pipeline: on a cluster it routes by slot, follows MOVED and ASK (updating
    its slot map), waits out TRYAGAIN, and on a master it cannot reach reloads the map and
    sends the batch once more."""
    pipe = client.pipeline(transaction=False)
    for name, args in ops:
        pipe.execute_command(name.upper(), *args)
    results = list(await pipe.execute(raise_on_error=False))
    if on_sent is not None:  # redis-py does not say when it wrote: now, at the latest
        on_sent()
    return results


def _routes(
    client: RedisCluster, names: list[str], ops: Ops
) -> dict[str, tuple[ClusterNode, list[int]]] | None:
    """The ops' positions by the master that serves their slot, by its name; a barrier (WAIT,
    WAITAOF) goes to every master that has ops before it, after them, as each master replicates
    its own writes (redis-py would send it to one master: the others' writes went unawaited).
    None when one op cannot be routed here, so that the whole batch keeps redis-py's routing:
    another keyless command, a barrier with nothing before it, keys in several slots (redis-py
    refuses the batch), a slot its map does not cover (redis-py reloads the map)."""
    routes: dict[str, tuple[ClusterNode, list[int]]] = {}
    owner = client.nodes_manager.get_node_from_slot
    for i, (name, (_, args)) in enumerate(zip(names, ops, strict=True)):
        if name in _BARRIERS:
            if not routes:
                return None
            for _, at in routes.values():
                at.append(i)
            continue
        slot = _slot(client, name, args)
        if slot is None:
            return None
        try:
            node = owner(slot)
        except SlotNotCoveredError:
            return None
        share = routes.get(node.name)
        if share is None:
            routes[node.name] = share = (node, [])
        share[1].append(i)
    return routes


def _slot(client: RedisCluster, name: str, args: tuple[Any, ...]) -> int | None:
    """The one slot all the command's keys hash to (keys.py gives a script's keys one hash tag);
    None for no key, keys in several slots, or keys only the server can find."""
    if name in ("EVALSHA", "EVAL"):  # as redis-py: the keys follow numkeys
        if len(args) < 2:
            return None
        keys = args[2 : 2 + int(args[1])]
    else:  # the key positions the servers gave redis-py (COMMAND), counted from the name
        spec = client.commands_parser.commands.get(name.lower())
        if not isinstance(spec, dict) or "movablekeys" in spec["flags"]:
            return None
        if spec["first_key_pos"] <= 0 or spec["step_count"] <= 0:
            return None
        last = spec["last_key_pos"]
        end = last if last > 0 else len(args) + 1 + last
        keys = args[spec["first_key_pos"] - 1 : end : spec["step_count"]]
    if not keys:
        return None
    slot = client.keyslot(keys[0])
    for key in keys[1:]:
        if client.keyslot(key) != slot:
            return None
    return slot


async def _exchange(
    node: ClusterNode,
    names: list[str],
    packed: bytes,
    written: Callable[[], None],
    callbacks: dict[str, Callable[..., Any]],
) -> list[Any] | Exception:
    """One master's share: its replies in order, a failed command's being its error; the error
    alone when the buffer could not be written. A connection lost after the write fails the
    commands not yet answered, as in redis-py's pipeline: they may have run, and sending them
    again could count them twice."""
    try:
        conn = node.acquire_connection()
    except ConnectionError as error:  # MaxConnectionsError: every connection of the node is busy
        return error
    replies: list[Any] = []
    try:
        await node.disconnect_if_needed(conn)
        try:
            await conn.send_packed_command(packed, check_health=False)
        except (ConnectionError, RedisTimeoutError) as error:
            return error
        written()
        try:
            await read_replies(conn, names, callbacks, replies)
        except TimeoutError:
            lost: Exception = RedisTimeoutError("Timeout reading from the store")
            return replies + [lost] * (len(names) - len(replies))
        except ConnectionError as error:
            return replies + [error] * (len(names) - len(replies))
        return replies
    finally:
        if len(replies) < len(names):  # a connection goes back with nothing left to read
            await conn.disconnect()
        await node.disconnect_if_needed(conn)
        node.release(conn)


@dataclass
class _MapRefresh:
    at: float = -math.inf  # loop time of the last one started
    task: asyncio.Task[None] | None = None


_map_refreshes: weakref.WeakKeyDictionary[RedisCluster, _MapRefresh] = weakref.WeakKeyDictionary()


def _refresh_map_soon(client: RedisCluster, failed: ClusterNode) -> None:
    """A master that cannot be written to may be down for good, its slots taken over by a
    replica: only the slot map says so, and only the other masters can give it. Asked in the
    background (the request that saw the failure has its answer already), one at a time and at
    most every MAP_REFRESH_EVERY_S, without COMMAND (redis-py's rebuild asks it of slot 0's
    master, which may be the one down)."""
    manager = client.nodes_manager
    # Asked last on a rebuild, and no longer the default node (redis-py's keyless commands').
    manager.move_node_to_end_of_cached_nodes(failed.name)
    if client.get_default_node() is failed:
        client.replace_default_node()
    refresh = _map_refreshes.setdefault(client, _MapRefresh())
    loop = asyncio.get_running_loop()
    running = refresh.task is not None and not refresh.task.done()
    if running or loop.time() - refresh.at < MAP_REFRESH_EVERY_S:
        return
    refresh.at = loop.time()
    refresh.task = loop.create_task(_refresh_map(client, failed.name))


async def _refresh_map(client: RedisCluster, failed: str) -> None:
    try:
        await client.nodes_manager.initialize(last_failed_node_name=failed)
    except Exception as error:  # logged: the next failure asks again
        log.warning("the cluster's slot map was not refreshed: %s", error)
