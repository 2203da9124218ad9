"""REDIS_URL: which URLs name a Redis Cluster."""

from __future__ import annotations

from decide.store.connection import cluster_seed


def test_cluster_schemes_seed_a_cluster_client_from_one_node() -> None:
    assert cluster_seed("redis+cluster://127.0.0.1:7000") == "redis://127.0.0.1:7000"
    assert cluster_seed("rediss+cluster://u:p@h:7000/0") == "rediss://u:p@h:7000/0"
    assert cluster_seed("REDIS+CLUSTER://h:1") == "redis://h:1"


def test_other_urls_are_a_single_server() -> None:
    for url in ["redis://h:6379/0", "unix:///tmp/r.sock", "rediss://h", "redis+cluster:h"]:
        assert cluster_seed(url) is None
