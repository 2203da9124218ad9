"""Configuration documents in Redis: one hash per kind, one version counter for all."""

from __future__ import annotations

import time
from typing import Any, Literal

import orjson
import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from decide.config.snapshot import Snapshot, build_snapshot, stored_version
from decide.config.workspace import parse_workspace
from decide.errors import ApiError
from decide.store import keys
from decide.store.scripts import Batch, Scripts

Kind = Literal["placements", "experiments", "holdouts", "segments", "workspace"]
_HASHES: dict[str, str] = {
    "placements": keys.PLACEMENTS,
    "experiments": keys.EXPERIMENTS,
    "holdouts": keys.HOLDOUTS,
    "segments": keys.SEGMENTS,
    "workspace": keys.WORKSPACE,
}


class InvalidConfig(Exception):
    """Stored documents that no longer compile (written behind the API's back, or from an
    older version's rules): `partial` is the config without them."""

    def __init__(self, partial: Snapshot, skipped: list[str]) -> None:
        super().__init__(
            f"config version {partial.version} has invalid documents: {', '.join(skipped)}"
        )
        self.partial = partial


def _skipped(
    snapshot: Snapshot, placements: dict[bytes, bytes], experiments: dict[bytes, bytes],
    holdouts: dict[bytes, bytes], segments: dict[bytes, bytes], workspace: dict[bytes, bytes],
) -> list[str]:  # fmt: skip
    """What build_snapshot left out (it skips a document that does not compile)."""
    compiled = [
        ("placement", placements, snapshot.placements),
        ("experiment", experiments, snapshot.experiments),
        ("holdout", holdouts, snapshot.holdouts),
        ("segment", segments, snapshot.segments),
    ]
    skipped = [
        f"{kind} {raw.decode()!r}"
        for kind, stored, built in compiled
        for raw in stored
        if raw.decode() not in built
    ]
    if b"default" in workspace:  # its absence falls back to defaults, so parse it again
        try:
            parse_workspace(stored_version(workspace[b"default"])[1])
        except (ApiError, ValueError, AttributeError, TypeError):
            skipped.append("workspace 'default'")
    return sorted(skipped)


def _is_object(raw: bytes) -> bool:
    try:
        return isinstance(orjson.loads(raw), dict)
    except orjson.JSONDecodeError:
        return False


def _objects(stored: dict[bytes, bytes]) -> dict[bytes, bytes]:
    return {key: raw for key, raw in stored.items() if _is_object(raw)}


class ConfigStore:
    def __init__(self, client: aioredis.Redis, scripts: Scripts) -> None:
        self.client = client
        self.scripts = scripts

    async def version(self) -> int:
        return int(await self.client.get(keys.CONFIG_VERSION) or 0)

    async def load(self) -> Snapshot:
        pipe = self.client.pipeline(transaction=True)  # one consistent view of the config
        pipe.get(keys.CONFIG_VERSION)
        pipe.hgetall(keys.PLACEMENTS)
        pipe.hgetall(keys.EXPERIMENTS)
        pipe.hgetall(keys.HOLDOUTS)
        pipe.hgetall(keys.SEGMENTS)
        pipe.hgetall(keys.WORKSPACE)
        version, *documents = await pipe.execute()
        # build_snapshot skips a document that does not validate but raises on one that is
        # not a JSON object at all: those never reach it (and _skipped names them too).
        snapshot = build_snapshot(int(version or 0), *(_objects(d) for d in documents))
        skipped = _skipped(snapshot, *documents)
        if skipped:
            raise InvalidConfig(snapshot, skipped)
        return snapshot

    async def get(self, kind: Kind, key: str) -> tuple[int, dict[str, Any]] | None:
        raw = await self.client.hget(_HASHES[kind], key)
        if raw is None:
            return None
        if not _is_object(raw):
            raise ApiError(
                409, "stored_document_invalid",
                f"the stored {kind[:-1]} {key!r} is not a JSON document; PUT one to replace it",
            )  # fmt: skip
        return stored_version(raw)

    async def exists(self, kind: Kind, key: str) -> bool:
        return bool(await self.client.hexists(_HASHES[kind], key))

    async def all(self, kind: Kind) -> dict[str, tuple[int, dict[str, Any]]]:
        """Every readable document; one that is not a JSON object (written behind the API's
        back) is left out, as the snapshot leaves it out, and GET or PUT on its key says so."""
        raw = _objects(await self.client.hgetall(_HASHES[kind]))
        return {k.decode(): stored_version(v) for k, v in sorted(raw.items())}

    async def put(
        self, kind: Kind, key: str, document: dict[str, Any], expected: str = "",
        *, by: str = "system", action: str = "put",
    ) -> int:  # fmt: skip
        """Store a validated document; `expected` is the object's version the writer saw
        ("" = don't care, "0" = must be new). Returns the new config version. The audit
        entry (`by` did `action`) is written by the same script."""
        now = round(time.time(), 3)
        body = orjson.dumps(document | {"updated_at": now})
        batch = Batch(self.scripts)
        batch.script(
            "put_config",
            [_HASHES[kind], keys.CONFIG_VERSION, keys.AUDIT_LOG],
            [key, body, expected, kind, action, by, repr(now), keys.AUDIT_LOG_MAX],
        )
        (result,) = await batch.execute(self.client)
        if isinstance(result, ResponseError) and str(result).startswith("VERSION_CONFLICT"):
            have = str(result).split()[-1]
            raise ApiError(
                412 if expected else 409,
                "version_conflict",
                f"{kind[:-1]} {key!r} is at version {have}, not {expected}; read it again",
            )
        if isinstance(result, Exception):
            raise result
        return int(result)

    async def delete(self, kind: Kind, key: str, *, by: str = "system") -> int:
        batch = Batch(self.scripts)
        batch.script(
            "delete_config",
            [_HASHES[kind], keys.CONFIG_VERSION, keys.AUDIT_LOG],
            [key, kind, by, repr(round(time.time(), 3)), keys.AUDIT_LOG_MAX],
        )
        (result,) = await batch.execute(self.client)
        if isinstance(result, Exception):
            raise result
        return int(result)
