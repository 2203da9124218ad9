"""The cluster's pipeline runner against a real 3-master cluster: the same answers as redis-py's
ClusterPipeline, a command a master refuses (MOVED, ASK) sent again once and only it, scripts a
master forgot loaded again, and `on_sent` called when the buffers are written, not answered."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ConnectionError, MovedError, NoScriptError, ResponseError

from decide.store import cluster_pipeline
from decide.store.cluster_pipeline import cluster_client, run_in_pipeline, run_on_cluster
from decide.store.connection import cluster_seed
from decide.store.local_cluster import LocalCluster
from decide.store.scripts import Batch, Pipeliner, Scripts
from tests.conftest import Store

Ops = list[tuple[str, tuple[Any, ...]]]


@pytest.fixture(autouse=True)
def empty(cluster: Store) -> None:
    """No key left behind: a slot is only moved between masters while it holds none."""
    cluster.flush()


def _with_client(store: Store, scenario: Callable[[RedisCluster], Awaitable[Any]]) -> Any:
    async def run() -> Any:
        seed = cluster_seed(store.url)
        assert seed is not None
        client = cluster_client(seed, socket_timeout=2)
        try:
            await client.initialize()
            return await scenario(client)
        finally:
            await client.aclose()

    return asyncio.run(run())


def _sync_client(store: Store) -> redis.RedisCluster:
    """The store's synchronous client, for setting up and checking: a cluster's."""
    client = store.client()
    assert isinstance(client, redis.RedisCluster)
    return client


def _tags(store: Store) -> list[str]:
    """One hash tag per master, so a batch reaches all three."""
    client = _sync_client(store)
    found: dict[str, str] = {}
    for n in range(200):
        tag = f"t{n}"
        found.setdefault(client.get_node_from_key(f"{{{tag}}}").name, tag)
    assert len(found) == 3
    return list(found.values())


@pytest.fixture
def rerun(monkeypatch: pytest.MonkeyPatch) -> list[Ops]:
    """The ops handed to redis-py's pipeline, call by call."""
    calls: list[Ops] = []

    async def spy(client: Any, ops: Ops, on_sent: Any = None) -> list[Any]:
        calls.append(list(ops))
        return await run_in_pipeline(client, ops, on_sent)

    monkeypatch.setattr(cluster_pipeline, "run_in_pipeline", spy)
    return calls


def _mixed_ops(a: str, b: str, c: str) -> Ops:
    return [
        ("set", (f"{{{a}}}:s", "سلام")),
        ("hset", (f"{{{b}}}:h", "a", 1, "b", 2.5, "c", b"\x00\xff")),
        ("zadd", (f"{{{c}}}:z", 1.5, "m1", 2, "m2")),
        ("get", (f"{{{a}}}:s",)),
        ("hgetall", (f"{{{b}}}:h",)),
        ("lpush", (f"{{{b}}}:h", "x")),  # WRONGTYPE, in its place
        ("zrange", (f"{{{c}}}:z", 0, -1, "WITHSCORES")),
        ("hincrbyfloat", (f"{{{b}}}:h", "b", 0.25)),
        ("incr", (f"{{{a}}}:s",)),  # not an integer
        ("expire", (f"{{{c}}}:z", 60)),
        ("evalsha", ("0" * 40, 1, f"{{{c}}}:z")),  # NOSCRIPT
        ("eval", ("return {1, KEYS[1], {2}}", 1, f"{{{a}}}:s")),
        ("del", (f"{{{a}}}:s", f"{{{a}}}:other")),
        ("del", (f"{{{b}}}:h",)),
        ("del", (f"{{{c}}}:z",)),
    ]


def test_the_same_answers_in_the_same_order_as_redis_py(cluster: Store, rerun: list[Ops]) -> None:
    ops = _mixed_ops(*_tags(cluster))

    async def both(client: RedisCluster) -> tuple[list[Any], list[Any], int]:
        names = [name.upper() for name, _ in ops]
        routes = cluster_pipeline._routes(client, names, ops)
        assert routes is not None
        ours = await run_on_cluster(client, ops)
        theirs = await run_in_pipeline(client, ops)
        return ours, theirs, len(routes)

    ours, theirs, masters = _with_client(cluster, both)
    assert masters == 3 and rerun == []  # ours did not fall back on redis-py
    assert [type(r) for r in ours] == [type(r) for r in theirs]
    assert [str(r) for r in ours] == [str(r) for r in theirs]
    assert isinstance(ours[5], ResponseError) and "WRONGTYPE" in str(ours[5])
    assert isinstance(ours[8], ResponseError) and isinstance(ours[10], NoScriptError)
    assert ours[4] == {b"a": b"1", b"b": b"2.5", b"c": b"\x00\xff"}
    assert ours[6] == [[b"m1", 1.5], [b"m2", 2.0]]
    assert ours[11] == [1, f"{{{_tags(cluster)[0]}}}:s".encode(), [2]]


def test_a_wait_follows_each_master_s_share_on_the_runner_s_route(
    cluster: Store, rerun: list[Ops]
) -> None:
    """WAIT answers for the writes before it on its connection: each master gets it after its
    share (no replicas here: 0 each). Another keyless command keeps redis-py's routing."""
    a, b, _ = _tags(cluster)

    async def scenario(client: RedisCluster) -> tuple[list[Any], list[Any], list[Any]]:
        batch = Batch(Scripts())
        batch.command("SET", f"{{{a}}}:w", "1")
        batch.command("SET", f"{{{b}}}:w", "1")
        results = await batch.execute(client, then=("WAIT", 0, 100))
        pinged = await run_on_cluster(client, [("set", (f"{{{a}}}:w", "2")), ("ping", ())])
        return results, batch.waited, pinged

    def waits() -> list[int]:
        primaries = [_node_client(cluster, n.name) for n in _sync_client(cluster).get_primaries()]
        return [n.info("commandstats").get("cmdstat_wait", {}).get("calls", 0) for n in primaries]

    before = waits()
    results, waited, pinged = _with_client(cluster, scenario)
    ran = [after - was for after, was in zip(waits(), before, strict=True)]
    assert results == [True, True] and waited == [0]
    assert sorted(ran) == [0, 1, 1]  # on the masters the batch wrote to, not the third
    assert pinged == [True, True] and rerun == [[("set", (f"{{{a}}}:w", "2")), ("ping", ())]]


@pytest.mark.parametrize(
    ("answers", "weakest"),
    [([1, 0, 2], 0), ([[1, 1], [1, 0]], [1, 0]), ([[1, 2], [0, 3]], [0, 2]), ([2], 2)],
)
def test_a_barrier_answers_the_least_any_master_got(answers: list[Any], weakest: Any) -> None:
    assert cluster_pipeline._weakest(answers) == weakest
    error = ConnectionError("down")
    assert cluster_pipeline._weakest([*answers, error]) is error


def _node_client(cluster: Store, name: str) -> redis.Redis:
    host, port = name.rsplit(":", 1)
    return redis.Redis(host=host, port=int(port), socket_timeout=5)


@pytest.fixture
def nodes(cluster: Store) -> Iterator[dict[str, redis.Redis]]:
    """Each master by its name, and its node id."""
    client = _sync_client(cluster)
    out = {node.name: _node_client(cluster, node.name) for node in client.get_primaries()}
    yield out
    for node in out.values():
        node.close()


def _node_id(node: redis.Redis) -> str:
    return str(node.execute_command("CLUSTER", "MYID").decode())


def test_a_moved_slot_is_sent_again_once_and_the_map_follows(
    cluster: Store, nodes: dict[str, redis.Redis], rerun: list[Ops]
) -> None:
    a, b, _ = _tags(cluster)
    moved, stays = f"{{{a}}}:n", f"{{{b}}}:n"
    sync = _sync_client(cluster)
    slot = sync.keyslot(moved)
    source = sync.get_node_from_key(moved).name
    target = sync.get_node_from_key(stays).name
    neighbour = next(  # answered by the same master, in the same buffer as the moved one
        key for key in (f"{{n{i}}}:n" for i in range(200))
        if sync.get_node_from_key(key).name == source and sync.keyslot(key) != slot
    )  # fmt: skip

    async def scenario(client: RedisCluster) -> list[list[Any]]:
        assert client.get_node_from_key(moved).name == source  # the client's map, before
        new_owner = _node_id(nodes[target])
        for node in nodes.values():  # the slot (no keys yet) now belongs to the target
            node.execute_command("CLUSTER", "SETSLOT", slot, "NODE", new_owner)
        try:
            ops: Ops = [("incr", (neighbour,)), ("incr", (moved,)), ("incr", (stays,))]
            first = await run_on_cluster(client, ops)
            routed = client.get_node_from_key(moved).name
            second = await run_on_cluster(client, ops)
            assert routed == target
            return [first, second]
        finally:
            nodes[target].delete(moved)
            back = _node_id(nodes[source])
            for node in nodes.values():
                node.execute_command("CLUSTER", "SETSLOT", slot, "NODE", back)

    first, second = _with_client(cluster, scenario)
    assert first == [1, 1, 1] and second == [2, 2, 2]  # each INCR counted once
    assert rerun == [[("incr", (moved,))]]  # only the refused one, and only the first time


def test_a_wait_does_not_confirm_a_write_sent_again_to_another_master(
    cluster: Store, nodes: dict[str, redis.Redis], rerun: list[Ops]
) -> None:
    """A command a master refused (MOVED) runs again through redis-py, without the WAIT that
    followed it: that WAIT cannot answer for it, so the batch is not confirmed (the events
    answer 503; the retry, routed by the new map, counts nothing twice)."""
    a, b, _ = _tags(cluster)
    moved, stays = f"{{{a}}}:n", f"{{{b}}}:n"
    sync = _sync_client(cluster)
    slot = sync.keyslot(moved)
    source, target = sync.get_node_from_key(moved).name, sync.get_node_from_key(stays).name

    async def scenario(client: RedisCluster) -> list[Any]:
        for node in nodes.values():
            node.execute_command("CLUSTER", "SETSLOT", slot, "NODE", _node_id(nodes[target]))
        try:
            ops: Ops = [("incr", (moved,)), ("incr", (stays,)), ("wait", (0, 100))]
            return await run_on_cluster(client, ops)
        finally:
            nodes[target].delete(moved)
            for node in nodes.values():
                node.execute_command("CLUSTER", "SETSLOT", slot, "NODE", _node_id(nodes[source]))

    results = _with_client(cluster, scenario)
    assert results[:2] == [1, 1] and rerun == [[("incr", (moved,))]]
    assert isinstance(results[2], ResponseError) and "ran elsewhere" in str(results[2])


def test_an_ask_during_a_migration_is_followed(
    cluster: Store, nodes: dict[str, redis.Redis], rerun: list[Ops]
) -> None:
    a, b, _ = _tags(cluster)
    key = f"{{{a}}}:asked"
    sync = _sync_client(cluster)
    slot = sync.keyslot(key)
    source = nodes[sync.get_node_from_key(key).name]
    target = nodes[sync.get_node_from_key(f"{{{b}}}").name]
    target.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", _node_id(source))
    source.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", _node_id(target))
    try:
        result = _with_client(cluster, lambda client: run_on_cluster(client, [("incr", (key,))]))
        pipe = target.pipeline(transaction=False)
        pipe.execute_command("ASKING")
        pipe.get(key)
        on_target = pipe.execute()[1]
        pipe.execute_command("ASKING")
        pipe.delete(key)
        pipe.execute()
    finally:
        for node in (source, target):
            node.execute_command("CLUSTER", "SETSLOT", slot, "STABLE")
    assert result == [1] and on_target == b"1"  # a new key goes to where the slot is going
    assert rerun == [[("incr", (key,))]]


def test_a_master_that_forgot_its_scripts_gets_them_again(
    cluster: Store, nodes: dict[str, redis.Redis]
) -> None:
    tags = _tags(cluster)
    scripts = Scripts()
    scripts.sources = {"count": "return redis.call('INCR', KEYS[1])"}
    scripts.shas = {"count": hashlib.sha1(scripts.sources["count"].encode()).hexdigest()}
    counters = [f"{{{tag}}}:count" for tag in tags]
    sync = _sync_client(cluster)

    async def scenario(client: RedisCluster) -> list[Any]:
        await scripts.load(client)
        nodes[sync.get_node_from_key(counters[1]).name].script_flush()  # as after a restart
        batch = Batch(scripts)
        for counter in counters:
            batch.script("count", [counter], [])
        return await batch.execute(client)

    try:
        assert _with_client(cluster, scenario) == [1, 1, 1]
        assert [sync.get(counter) for counter in counters] == [b"1", b"1", b"1"]
    finally:
        sync.delete(*counters)


def test_on_sent_is_called_once_every_master_has_its_commands(cluster: Store) -> None:
    """A single decision answers once its write is on the wire, on a cluster too."""
    a, b, _ = _tags(cluster)

    async def scenario(client: RedisCluster) -> tuple[float, float, list[Any]]:
        loop = asyncio.get_running_loop()
        sent: asyncio.Future[None] = loop.create_future()
        start = loop.time()
        batch = Batch(Scripts())
        batch.command("BLPOP", f"{{{a}}}:empty", 0.3)  # answered after 0.3 s
        batch.command("SET", f"{{{b}}}:sent", "1")
        answered = asyncio.ensure_future(batch.execute(Pipeliner(client), sent=sent))
        await sent
        on_wire = loop.time() - start
        results = await answered
        return on_wire, loop.time() - start, results

    on_wire, answered, results = _with_client(cluster, scenario)
    assert results == [None, True]
    assert on_wire < 0.2 <= 0.28 <= answered, (on_wire, answered)


def test_a_connection_lost_after_the_write_fails_its_commands_without_sending_them_again(
    cluster: Store, nodes: dict[str, redis.Redis], rerun: list[Ops]
) -> None:
    """They may have run: sending them again could count them twice (as redis-py's pipeline)."""
    a, _, _ = _tags(cluster)
    key = f"{{{a}}}:lost"
    sync = _sync_client(cluster)
    node = nodes[sync.get_node_from_key(key).name]

    async def scenario(client: RedisCluster) -> list[list[Any]]:
        ops: Ops = [("incr", (key,))]
        first = await run_on_cluster(client, ops)
        for row in node.client_list():
            if row["cmd"] == "incr":  # the runner's connection, idle in its pool
                node.client_kill_filter(_id=row["id"])
        lost = await run_on_cluster(client, ops)
        return [first, lost, await run_on_cluster(client, ops)]

    try:
        first, lost, again = _with_client(cluster, scenario)
        assert first == [1] and again == [2]
        assert isinstance(lost[0], ConnectionError)
        assert not isinstance(lost[0], MovedError) and rerun == []
    finally:
        sync.delete(key)


@pytest.mark.slow
def test_slot_0s_master_down_fails_only_its_commands(tmp_path: Path, rerun: list[Ops]) -> None:
    """Slot 0's master is the one redis-py asked COMMAND of on every rebuild of its map: with
    it down, a rebuild (after redis-py dropped the map) must still serve the other masters.
    Its commands fail at once, unsent and not handed to redis-py's pipeline (which would close
    every connection of the client), and a `sent` fails only for a batch with commands there."""
    with LocalCluster(tmp_path / "cluster") as local:
        store = Store("cluster", local.url, None)
        tags = _tags(store)
        sync = _sync_client(store)
        first = sync.nodes_manager.get_node_from_slot(0).name
        dead = next(t for t in tags if sync.get_node_from_key(f"{{{t}}}").name == first)
        live = [t for t in tags if t != dead]

        async def scenario() -> tuple[list[Any], asyncio.Future[None], asyncio.Future[None]]:
            seed = cluster_seed(local.url)
            assert seed is not None
            client = cluster_client(seed, socket_timeout=2)
            try:
                await client.initialize()
                local.kill(local.ports.index(int(first.rsplit(":", 1)[1])))
                await client.aclose()  # as redis-py does after a refused connection
                results = await run_on_cluster(client, [("incr", (f"{{{t}}}:n",)) for t in tags])
                loop = asyncio.get_running_loop()
                to_dead, to_live = loop.create_future(), loop.create_future()
                batches = [Batch(Scripts()), Batch(Scripts())]
                batches[0].command("INCR", f"{{{dead}}}:n")
                batches[0].command("INCR", f"{{{live[0]}}}:n")
                batches[1].command("INCR", f"{{{live[1]}}}:n")
                pipeliner = Pipeliner(client)
                await asyncio.gather(
                    batches[0].execute(pipeliner, sent=to_dead),
                    batches[1].execute(pipeliner, sent=to_live),
                )
                assert client.get_default_node().name != first  # keyless commands go elsewhere
                return results, to_dead, to_live
            finally:
                await client.aclose()

        results, to_dead, to_live = asyncio.run(scenario())
    for tag, result in zip(tags, results, strict=True):
        assert isinstance(result, ConnectionError) if tag == dead else result == 1, (tag, result)
    assert isinstance(to_dead.exception(), ConnectionError) and to_live.result() is None
    assert rerun == []


@pytest.mark.slow
def test_a_wait_after_a_batch_answers_for_every_master_the_batch_wrote_to(
    tmp_path: Path, rerun: list[Ops]
) -> None:
    """DECIDE_EVENTS_WAIT on a cluster: an event batch writes on several masters, each of which
    replicates its own share. The WAIT must follow every master's share on its connection and
    answer the weakest: sent to one master only (redis-py's routing of a keyless command), a
    batch was acknowledged while another master's replica lacked its part, lost in a failover."""
    with LocalCluster(tmp_path / "cluster", replicas=1) as local:
        store = Store("cluster", local.url, None)
        tags = _tags(store)

        async def scenario() -> tuple[list[list[Any]], list[list[Any]]]:
            seed = cluster_seed(local.url)
            assert seed is not None
            client = cluster_client(seed, socket_timeout=10)
            try:
                await client.initialize()
                default = local.ports.index(client.get_default_node().port)
                lagging = next(m for m in range(local.masters) if m != default)
                batch = Batch(Scripts())
                for tag in tags:
                    batch.command("INCR", f"{{{tag}}}:n")
                pipeliner = Pipeliner(client)
                results, waited = [], []
                # All replicas up: WAIT answers as soon as they ack (the timeout only bounds a
                # loaded machine). One paused: it never acks, WAIT answers 0 at its timeout.
                for pause, timeout_ms in ((None, 5000), (local.replicas_of(lagging)[0], 200)):
                    with local.paused(pause) if pause is not None else contextlib.nullcontext():
                        then = ("WAIT", 1, timeout_ms)
                        results.append(await batch.execute(pipeliner, then=then))
                        waited.append(batch.waited)
                return results, waited
            finally:
                await client.aclose()

        results, waited = asyncio.run(scenario())
    assert results == [[1, 1, 1], [2, 2, 2]]
    assert waited == [[1], [0]], (waited, results)  # one replica lacked its master's share
    assert rerun == []  # the runner's own route, not redis-py's
