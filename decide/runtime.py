"""What a running worker holds: settings, the Redis client, scripts, signer, config snapshot."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable

import numpy as np
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from decide import metrics
from decide.bandit_serving import WeightsCache, estimate_strength
from decide.config.snapshot import EMPTY, Snapshot
from decide.reach import Priors, priors_from
from decide.settings import Settings
from decide.store import keys
from decide.store.cluster_pipeline import cluster_client
from decide.store.config_store import ConfigStore, InvalidConfig
from decide.store.connection import cluster_seed
from decide.store.scripts import Pipeliner, Scripts
from decide.tokens import Signer

log = logging.getLogger("decide")
STRENGTH_REFRESH_S = 10.0


def connect(url: str, timeout_s: float) -> aioredis.Redis:
    # One quick retry heals a pooled connection that died with a restarted server; more would
    # only stretch the time a caller waits while the server is really down.
    # `redis+cluster://` gets a cluster client: the same commands and pipelines, routed by slot
    # (keys.py keeps every script's keys in one slot).
    seed = cluster_seed(url)
    factory = aioredis.Redis.from_url if seed is None else cluster_client
    return factory(
        seed or url,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        retry=Retry(NoBackoff(), 1),
        health_check_interval=0,
    )


class Runtime:
    def __init__(
        self, settings: Settings, redis_url: str, clock: Callable[[], float] = time.time
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.client = connect(redis_url, settings.redis_op_timeout_s)
        self.scripts = Scripts()
        self.pipeliner = Pipeliner(self.client)
        # Single decisions' reads have their own pipelines: a 50 ms budget must not be spent
        # waiting behind an event batch's writes that happened to share a round trip.
        self.decision_reads = Pipeliner(self.client)
        self.config = ConfigStore(self.client, self.scripts)
        self.snapshot: Snapshot = EMPTY
        self.snapshot_loaded_at = 0.0  # wall time of the last successful refresh; 0 = never
        self.refresh_failures = 0  # refreshes the store did not answer, since start
        self.signer: Signer | None = None
        self._signer_is_stored = settings.signing_keys is not None
        if settings.signing_keys:
            self.signer = Signer.from_spec(settings.signing_keys)
        self._refresher: asyncio.Task[None] | None = None
        self.rng = np.random.default_rng(settings.seed)
        self.weights = WeightsCache()
        self._estimating: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._writes: set[asyncio.Future[None]] = set()  # decisions' writes not yet answered
        self._store_down_logged = False
        self.priors = Priors()
        self._priors_at = float("-inf")
        self._stopping = False
        self.refreshed_at: float | None = None  # monotonic: the snapshot last known current
        self.refresh_error: str | None = None  # why the last refresh kept the old snapshot

    def estimate_strength_soon(self, placement: str, arms: tuple[str, ...], cap: float) -> None:
        """Re-estimate a segmented placement's prior strength in the background, at most
        every STRENGTH_REFRESH_S: it reads every segment, which no decision should wait for."""
        cache = self.weights
        now = time.monotonic()  # operational cadence, not decision time: the real clock
        if (
            placement in self._estimating
            or now - cache.strengths_at.get(placement, 0) < STRENGTH_REFRESH_S
        ):
            return
        self._estimating.add(placement)
        cache.strengths_at[placement] = now

        async def estimate() -> None:
            try:
                strength = await estimate_strength(self.client, placement, arms, cap)
                if strength:
                    cache.strengths[placement] = strength
                else:  # fewer than two segments yet: look again in a second
                    cache.strengths_at[placement] = now - STRENGTH_REFRESH_S + 1.0
            except (RedisError, OSError) as error:
                log.warning("prior strength of %s not estimated: %s", placement, error)
            finally:
                self._estimating.discard(placement)

        task = asyncio.create_task(estimate())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def start(self) -> None:
        await self.refresh()
        await self.refresh_priors()
        self._refresher = asyncio.create_task(self._refresh_forever())

    def track_write(self, write: asyncio.Future[None]) -> None:
        """A write whose answer nobody waits for: finished, not dropped, at shutdown."""
        self._writes.add(write)
        write.add_done_callback(self._writes.discard)

    async def stop(self) -> None:
        self._stopping = True
        if self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)
        for task in list(self._tasks):
            task.cancel()
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
        await self.client.aclose()

    @property
    def signer_ready(self) -> bool:
        """The real key is known (from the environment or the store), not a temporary one."""
        return self._signer_is_stored

    def signing(self) -> Signer:
        if self.signer is None:
            # Only while the store has never been reachable: tokens signed now will not verify
            # once the stored key is loaded, which is acceptable for decisions made blind.
            log.warning("signing with a temporary key: the store was not reachable")
            self.signer = Signer([("tmp" + secrets.token_hex(4), secrets.token_bytes(32))])
        return self.signer

    async def refresh(self) -> bool:
        """Load the config if its version moved; True when the store answered. A config that
        cannot be compiled keeps the last good snapshot (whole) and says why in /readyz."""
        try:
            if not self._signer_is_stored:
                await self._load_signing_key()
            version = await self.config.version()
            stale = version != self.snapshot.version or self.refresh_error is not None
            if stale or not self.snapshot.loaded:
                self._take(await self.config.load())
            else:
                self._fresh()
        except (RedisError, OSError) as error:
            self.refresh_failures += 1
            metrics.snapshot_refresh_failed()
            if not self._store_down_logged:
                log.error("store unreachable: %s", error)
                self._store_down_logged = True
            return False
        except InvalidConfig as error:
            if not self.snapshot.loaded:  # nothing older to serve: what compiles beats nothing
                self.snapshot = error.partial
            self._failed(str(error))
        except Exception as error:  # a stored document so broken that compiling it raised
            self._failed(f"the stored config could not be loaded: {error!r}")
        if self._store_down_logged:
            log.info("store reachable again")
            self._store_down_logged = False
        return True

    def _take(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        log.info("config version %d loaded", snapshot.version)
        self._fresh()

    def _fresh(self) -> None:
        self.refreshed_at = time.monotonic()
        self.refresh_error = None
        self.snapshot_loaded_at = time.time()  # wall time, for the snapshot-age metric
        metrics.snapshot_refreshed(self.snapshot_loaded_at)

    def _failed(self, why: str) -> None:
        metrics.snapshot_refresh_failed("invalid_config")
        if why != self.refresh_error:
            log.error("%s; still serving config version %d", why, self.snapshot.version)
        self.refresh_error = why

    async def _load_signing_key(self) -> None:
        await self.client.set(keys.SIGNING_KEY, secrets.token_hex(32), nx=True)
        secret = await self.client.get(keys.SIGNING_KEY)
        if not isinstance(secret, bytes):
            return  # flushed between the two calls: the next refresh sets it again
        self.signer = Signer([("s1", secret)])
        self._signer_is_stored = True

    async def refresh_priors(self) -> None:
        """The population's channel and send-time engagement: priors, so a few seconds stale
        is fine; read in the background, never on a decision's path."""
        try:
            slots, channels, spoken = await asyncio.gather(
                self.client.hgetall(keys.POPULATION_SLOTS),
                self.client.hgetall(keys.POPULATION_CHANNELS),
                self.client.smembers(keys.SLOT_LANGUAGES),
            )
            names = sorted(language.decode() for language in spoken)
            pipe = self.client.pipeline(transaction=False)
            for language in names:
                pipe.hgetall(keys.segment_slots(language))
            languages = dict(zip(names, await pipe.execute(), strict=True)) if names else {}
        except (RedisError, OSError) as error:
            log.warning("population priors not refreshed: %s", error)
            return
        self.priors = priors_from(slots, channels, languages)
        self._priors_at = time.monotonic()

    async def _refresh_forever(self) -> None:
        # A cancel that lands inside redis-py's I/O can be swallowed there, leaving this task
        # "cancelling" but looping; the flag ends it at the next turn, so shutdown never hangs.
        while not self._stopping:
            await asyncio.sleep(self.settings.config_refresh_s)
            try:
                await self.refresh()
                if time.monotonic() - self._priors_at >= self.settings.priors_refresh_s:
                    await self.refresh_priors()
            except Exception:  # this loop must outlive any one bad turn, or config freezes
                log.exception("background refresh failed")
