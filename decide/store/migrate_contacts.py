"""Fold contacts stored by an older version into the one-hash layout (`keys.contact_state`).

Before it, a contact's behaviour state was six keys (`keys.LEGACY_PARTS`):

- `beh`      hash in behaviour_view's field names (`n:<type>`, `last:<type>`, `ch:<ch>:d`…)
- `slots`    168 bytes, one per local hour of week: sends << 4 | engaged
- `sends`    zset `<nonce>|<channel>` -> send time: reserved sends, for caps
- `pending`  hash nonce -> `<deadline>|<channel>`: reservations not yet confirmed
- `sd`       hash nonce -> `<expires>|<delivered at>|<engaged 0/1>`: per-send state
- `touches`  list `placement|message|channel|at`, newest first: exposures, for attribution

`decide serve` runs the migration once per store (LAYOUT_MARKER records it) and `decide
migrate` runs it on demand. Each contact is folded in one transaction that also deletes its
old keys, and merged with whatever the new layout already holds for it (as an identity merge
does), so running it twice, or while serving, never counts anything twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import WatchError

from decide.contact_merge import merge_states
from decide.store import contact_codec, keys
from decide.store.contact_codec import (
    CAP,
    COUNTED,
    ENGAGED,
    LIVE,
    PENDING,
    TOUCH,
    ContactState,
    Entry,
    channel_code,
    nonce_key,
)

LAYOUT_MARKER = "{cfg}:contact_layout"  # "2" once the store holds no legacy contact keys
LAYOUT = "2"
PAGE = 1000


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


def _int(text: str) -> int:
    try:
        return int(float(text))
    except ValueError:
        return 0


def legacy_state(
    behaviour: Mapping[bytes, bytes], slots: bytes | None, sends: Sequence[tuple[bytes, float]],
    pending: Mapping[bytes, bytes], states: Mapping[bytes, bytes], touches: Sequence[bytes],
) -> ContactState:  # fmt: skip
    """The old keys' content as the new layout's state (pure)."""
    entries: dict[str, Entry] = {}
    for member, score in sends:
        nonce, _, channel = _text(member).rpartition("|")
        entries[nonce] = Entry(CAP, channel_code(channel), send_at=int(score))
    for raw_nonce, raw in pending.items():
        nonce = _text(raw_nonce)
        deadline, _, channel = _text(raw).partition("|")
        if nonce in entries:
            e = entries[nonce]
            entries[nonce] = Entry(
                e.flags | LIVE | PENDING, e.channel, send_at=e.send_at, nonce=nonce_key(nonce),
                delivered_at=_int(deadline), expires=_int(deadline),
            )  # fmt: skip
    for raw_nonce, raw in states.items():
        nonce = _text(raw_nonce)
        expires, delivered, engaged = [*_text(raw).split("|"), "0", "0"][:3]
        flags = LIVE | COUNTED | (ENGAGED if engaged == "1" else 0)
        old = entries.get(nonce)
        send_at = old.send_at if old else (_int(delivered) or max(_int(expires) - 86_400, 0))
        entries[nonce] = Entry(
            flags | (old.flags & CAP if old else 0), old.channel if old else "",
            send_at=send_at, nonce=nonce_key(nonce), delivered_at=_int(delivered),
            expires=_int(expires),
        )  # fmt: skip
    places: list[str] = []
    out = list(entries.values())
    for raw in touches:
        head, _, at = _text(raw).rpartition("|")
        place, _, channel = head.rpartition("|")
        if not place or place.count("|") != 1:
            continue
        if place not in places:
            places.append(place)
        index = places.index(place) + 1
        out.append(Entry(TOUCH, channel_code(channel), index, touch_at=_int(at)))
    return ContactState(
        {_text(k): _text(v) for k, v in behaviour.items()}, (slots or b"").ljust(168, b"\0"),
        out, places[:255],
    )  # fmt: skip


async def migrate_contact(client: aioredis.Redis, contact_id: str, half_life_s: float) -> bool:
    """Fold one contact's old keys into its state hash; False when it had none."""
    old = [keys.legacy_part(contact_id, part) for part in keys.LEGACY_PARTS]
    state_key = keys.contact_state(contact_id)
    async with client.pipeline(transaction=True) as pipe:
        for _ in range(20):
            try:
                await pipe.watch(state_key, *old)
                beh, slots, sends, pending, sd, touches = old
                parts = (
                    await pipe.hgetall(beh), await pipe.get(slots),
                    await pipe.zrange(sends, 0, -1, withscores=True), await pipe.hgetall(pending),
                    await pipe.hgetall(sd), await pipe.lrange(touches, 0, -1),
                )  # fmt: skip
                if not any(parts):
                    await pipe.reset()
                    return False
                theirs = legacy_state(*parts)
                ours = contact_codec.decode(await pipe.hgetall(state_key))
                fields = contact_codec.encode(merge_states(ours, theirs, half_life_s))
                pipe.multi()
                pipe.delete(state_key, *old)
                if fields:
                    pipe.hset(state_key, mapping=fields)
                await pipe.execute()
                return True
            except WatchError:
                continue
    raise WatchError(f"contact {contact_id!r} kept changing during its migration")


async def _legacy_contacts(client: Any) -> set[str]:
    found: set[str] = set()
    for part in keys.LEGACY_PARTS:
        async for name in client.scan_iter(match="{c:*}:" + part, count=PAGE):
            text = _text(name)
            tag = text[3 : text.index("}")]
            found.add(keys.unescape(tag))
    return found


async def migrate(client: Any, half_life_s: float, *, force: bool = False) -> dict[str, int]:
    """Every contact with old keys, folded; skipped when the store was already migrated,
    unless `force` (e.g. an old-version server kept writing after the first run)."""
    if not force and _text(await client.get(LAYOUT_MARKER) or b"") == LAYOUT:
        return {"contacts": 0, "skipped": 1}
    contacts = await _legacy_contacts(client)
    done = 0
    for contact_id in sorted(contacts):
        done += await migrate_contact(client, contact_id, half_life_s)
    await client.set(LAYOUT_MARKER, LAYOUT)
    return {"contacts": done, "skipped": 0}
