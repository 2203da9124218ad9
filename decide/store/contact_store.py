"""A contact's keys as a whole: profile writes, reading everything back, erasure and merge.

Per-contact keys share the contact's hash tag; what lives elsewhere (experiment assignments
and metric values, the decision and event logs, batch replays) is found by name and scrubbed
key by key, so erasure and merge also work on a cluster.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.exceptions import WatchError

from decide.contact_merge import merge_profile, merge_shown, merge_states
from decide.store import contact_codec, keys
from decide.store.scripts import Batch, Scripts

ERASED = "erased"
PAGE = 1000


async def write_profile(
    client: aioredis.Redis, scripts: Scripts, contact_id: str, mode: str,
    sets: Mapping[str, bytes], deletes: list[str], consented: list[str],
) -> dict[bytes, bytes]:  # fmt: skip
    """Write the profile in one script and return it as stored (field -> JSON value)."""
    args: list[Any] = [mode, len(sets)]
    for name, value in sets.items():
        args += [name, value]
    args += [len(deletes), *deletes, *consented]
    batch = Batch(scripts)
    batch.script("put_profile", [keys.profile(contact_id), keys.contact_state(contact_id)], args)
    (result,) = await batch.execute(client)
    if isinstance(result, Exception):
        raise result
    return dict(zip(result[0::2], result[1::2], strict=True))


async def read_everything(
    client: aioredis.Redis, contact_id: str, now: float | None = None
) -> dict[str, Any]:
    """Profile, behaviour (parsed for behaviour_view), the 168-byte send-time histogram (None
    without a state hash), the reserved sends that count against caps at `now`, shown content,
    and the decoded state (behaviour in the string layout merges work in)."""
    pipe = client.pipeline(transaction=False)
    pipe.hgetall(keys.profile(contact_id))
    pipe.hgetall(keys.contact_state(contact_id))
    pipe.hgetall(keys.shown(contact_id))
    profile, fields, shown = await pipe.execute()
    state = contact_codec.decode(fields)
    return {"profile": profile, "behaviour": contact_codec.decode_behaviour(fields),
            "slots": state.slots if fields else None,
            "sends": state.sends(now if now is not None else 0.0), "shown": shown,
            "state": state}  # fmt: skip


async def _scan(client: aioredis.Redis, pattern: str) -> list[bytes]:
    return [k async for k in client.scan_iter(match=pattern, count=PAGE)]


async def erase(client: aioredis.Redis, contact_id: str) -> dict[str, int]:
    """Everything decide holds about a contact: its own keys are deleted, its entries in shared
    hashes removed, and its decision- and event-log entries rewritten without its id."""
    own = await _scan(client, keys.contact_keys_pattern(contact_id))
    if own:
        await client.delete(*own)
    return {
        "keys": len(own),
        "experiment_entries": await _erase_experiment_entries(client, contact_id),
        "decision_log_entries": await _anonymise_decision_logs(client, contact_id),
        "event_log_entries": await _anonymise_event_log(client, contact_id),
        "batch_entries": await _erase_batch_entries(client, contact_id),
    }


def contact_hash(contact_id: str) -> str:
    """How audit records name an erased contact: enough to match a request, not to read it."""
    return hashlib.sha256(contact_id.encode()).hexdigest()[:16]


def _per_contact_experiment_hash(name: str) -> bool:
    """Experiment hashes whose fields are contact ids (assignments, metric values, CUPED
    covariates) — never the totals, whose fields are variation statistics."""
    tail = name.split("}", 1)[-1]
    return tail.endswith(":assigned") or ":m:" in tail or ":pre:" in tail


async def _experiment_hashes(client: aioredis.Redis) -> list[bytes]:
    found = await _scan(client, "{e:*}:p*")
    return [k for k in found if _per_contact_experiment_hash(k.decode())]


async def _erase_experiment_entries(client: aioredis.Redis, contact_id: str) -> int:
    names = await _experiment_hashes(client)
    pipe = client.pipeline(transaction=False)
    for name in names:
        pipe.hdel(name, contact_id)
    return sum(int(n) for n in await pipe.execute()) if names else 0


async def _rewrite_stream(client: aioredis.Redis, stream: bytes, match: Any, rewrite: Any) -> int:
    """Replace each entry `match` selects by `rewrite(fields)`: XDEL then XADD (entries are
    immutable), so the rewritten entries move to the stream's end."""
    changed = 0
    start = "-"
    while True:
        entries = await client.xrange(stream, min=start, count=PAGE)
        for entry_id, fields in entries:
            if match(fields):
                pipe = client.pipeline(transaction=True)
                pipe.xdel(stream, entry_id)
                pipe.xadd(stream, rewrite(fields))
                await pipe.execute()
                changed += 1
        if len(entries) < PAGE:
            return changed
        start = "(" + entries[-1][0].decode()


async def _anonymise_decision_logs(client: aioredis.Redis, contact_id: str) -> int:
    target = contact_id.encode()
    changed = 0
    for stream in await _scan(client, "{p:*}:log:decisions"):
        changed += await _rewrite_stream(
            client, stream, lambda f: f.get(b"c") == target, lambda f: {**f, b"c": ERASED}
        )
    return changed


async def _anonymise_event_log(client: aioredis.Redis, contact_id: str) -> int:
    quoted = orjson.dumps(contact_id)

    def rewrite(fields: dict[bytes, bytes]) -> dict[bytes, Any]:
        rows = []
        for line in fields[b"e"].splitlines():
            row = orjson.loads(line)
            if row.get("contact_id") == contact_id:
                row["contact_id"] = ERASED
            rows.append(orjson.dumps(row))
        return {**fields, b"e": b"\n".join(rows) + b"\n"}

    return await _rewrite_stream(
        client, keys.EVENT_LOG.encode(), lambda f: quoted in f.get(b"e", b""), rewrite
    )


async def _erase_batch_entries(client: aioredis.Redis, contact_id: str) -> int:
    quoted = b'"contact_id":' + orjson.dumps(contact_id)
    erased = 0
    for name in await _scan(client, "{b:*}"):
        entries = await client.hgetall(name)
        stale = [field for field, value in entries.items() if quoted in value]
        if stale:
            erased += int(await client.hdel(name, *stale))
    return erased


async def merge(
    client: aioredis.Redis, known: str, anonymous: str, marker_ttl_s: int, half_life_s: float
) -> dict[str, Any]:
    """Fold `anonymous` into `known`: profile fields `known` lacks, behaviour summed, send-time
    histograms added, sends and exposures united, shown content united, experiment assignments
    kept. Written in one transaction with a marker, so a retried merge never adds anything
    twice, and only if `known` did not change meanwhile (else read again)."""
    marker = keys.merged_from(known, anonymous)
    folded = bool(await client.exists(marker))
    if not folded:
        # Idempotent moves first, then the counted fold with its marker in one transaction.
        await _move_assignments(client, known, anonymous)
        await _move_stickiness(client, known, anonymous)
        theirs = await read_everything(client, anonymous)
        await _fold(client, known, theirs, marker, marker_ttl_s, half_life_s)
    own = await _scan(client, keys.contact_keys_pattern(anonymous))
    if own:
        await client.delete(*own)
    return {"merged": anonymous, "into": known, "already_merged": folded,
            "keys_removed": len(own)}  # fmt: skip


async def _fold(
    client: aioredis.Redis, known: str, theirs: Mapping[str, Any], marker: str | None,
    marker_ttl_s: int, half_life_s: float,
) -> None:  # fmt: skip
    """Write `theirs` into `known`'s keys, atomically against concurrent writes to them."""
    watched = (keys.profile(known), keys.contact_state(known), keys.shown(known))
    async with client.pipeline(transaction=True) as pipe:
        for _ in range(20):
            try:
                await pipe.watch(*watched)
                ours = {
                    "profile": await pipe.hgetall(watched[0]),
                    "state": contact_codec.decode(await pipe.hgetall(watched[1])),
                    "shown": await pipe.hgetall(watched[2]),
                }
                pipe.multi()
                _write_merged(pipe, known, ours, theirs, half_life_s)
                if marker is not None:
                    pipe.set(marker, 1, ex=marker_ttl_s)
                await pipe.execute()
                return
            except WatchError:
                continue
    raise WatchError(f"contact {known!r} kept changing during the merge")


def _write_merged(
    pipe: Any, known: str, ours: Mapping[str, Any], theirs: Mapping[str, Any], half_life_s: float
) -> None:
    profile = merge_profile(ours["profile"], theirs["profile"])
    if profile:
        pipe.hset(keys.profile(known), mapping=profile)
    merged = merge_states(ours["state"], theirs["state"], half_life_s)
    pipe.delete(keys.contact_state(known))
    fields = contact_codec.encode(merged)
    if fields:
        pipe.hset(keys.contact_state(known), mapping=fields)
    shown = merge_shown(ours["shown"], theirs["shown"])
    if shown:
        pipe.hset(keys.shown(known), mapping=shown)


async def _move_assignments(client: aioredis.Redis, known: str, anonymous: str) -> None:
    """Sticky experiment assignments follow the person: the anonymous one is kept where the
    known contact has none in that experiment and phase."""
    for name in await _experiment_hashes(client):
        if not name.decode().endswith(":assigned"):
            continue
        theirs = await client.hget(name, anonymous)
        if theirs is not None:
            await client.hsetnx(name, known, theirs)
            await client.hdel(name, anonymous)


async def _move_stickiness(client: aioredis.Redis, known: str, anonymous: str) -> None:
    theirs = await client.hgetall(keys.bandit_sticky(anonymous))
    for placement, value in theirs.items():
        await client.hsetnx(keys.bandit_sticky(known), placement, value)
    if theirs:
        ttl = await client.ttl(keys.bandit_sticky(anonymous))
        if ttl and ttl > 0:
            await client.expire(keys.bandit_sticky(known), ttl)
