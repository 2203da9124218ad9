"""Which kind of server REDIS_URL names: `redis+cluster://host:port` (or `rediss+cluster://`)
seeds a Redis Cluster client from any one node; every other URL is a single server."""

from __future__ import annotations

from typing import Any

import redis

CLUSTER_SCHEME = "redis+cluster"
_PLAIN = {"redis+cluster": "redis", "rediss+cluster": "rediss"}


def cluster_seed(url: str) -> str | None:
    """The node URL redis-py's RedisCluster starts from, or None when `url` is not a cluster."""
    scheme, sep, rest = url.partition("://")
    plain = _PLAIN.get(scheme.lower())
    return f"{plain}://{rest}" if plain and sep else None


def sync_client(url: str, **options: Any) -> redis.Redis | redis.RedisCluster:
    """A blocking client for tools and tests (the service itself uses runtime.connect)."""
    seed = cluster_seed(url)
    if seed is not None:
        return redis.RedisCluster.from_url(seed, **options)
    return redis.Redis.from_url(url, **options)
