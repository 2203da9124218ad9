"""Prometheus metrics: what /metrics shows, and the cheap calls the hot path makes.

Labels are route templates, placement/message keys and fixed reasons — configuration names,
never a contact id or a raw path. With several uvicorn workers `decide serve` sets
PROMETHEUS_MULTIPROC_DIR before they start, and prometheus-client keeps each worker's values
in files there that /metrics sums (the client library's multiprocess mode).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric

if TYPE_CHECKING:
    from decide.pending import Pending

_LATENCY = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
_STORE_LATENCY = (0.0002, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1)

REQUESTS = Counter(
    "decide_http_requests",
    "HTTP requests by route template and status",
    ["method", "route", "status"],
)
REQUEST_SECONDS = Histogram(
    "decide_http_request_duration_seconds", "HTTP request latency", ["method", "route"],
    buckets=_LATENCY,
)  # fmt: skip
DECISIONS = Counter(
    "decide_decisions", "Decisions served, by what chose them", ["placement", "message", "source"]
)
DEGRADED = Counter(
    "decide_degraded_decisions", "Decisions answered without the store", ["placement", "reason"]
)
EVENTS = Counter("decide_events", "Events received, by outcome", ["outcome"])
EVENTS_REJECTED = Counter("decide_events_rejected", "Events rejected, by reason", ["reason"])
STORE_SECONDS = Histogram(
    "decide_store_duration_seconds", "Redis round trips the service waits for", ["operation"],
    buckets=_STORE_LATENCY,
)  # fmt: skip
STORE_ERRORS = Counter("decide_store_errors", "Redis calls that failed", ["operation"])
SNAPSHOT_LOADED_AT = Gauge(
    "decide_config_snapshot_loaded_timestamp_seconds",
    "Wall time of the last successful config refresh (the stalest worker's)",
    multiprocess_mode="livemin",
)
SNAPSHOT_REFRESH_FAILURES = Counter(
    "decide_config_refresh_failures",
    "Config refreshes that failed: the store unreachable, or a stored config that does not "
    "compile (the last good snapshot is kept)",
    ["reason"],
)


_children: dict[tuple[int, tuple[str, ...]], Any] = {}


def child(metric: Any, *labels: str) -> Any:
    """`metric.labels(*labels)`, remembered: labels() costs ~2 µs (a lock and a tuple), a dict
    lookup ~0.1 µs. Label sets are few (routes, config keys), and prometheus-client keeps every
    child anyway."""
    key = (id(metric), labels)
    found = _children.get(key)
    if found is None:
        found = _children[key] = metric.labels(*labels)
    return found


class store_call:  # lower case: used like a function, `with store_call("decide_read"):`
    """Times one awaited store call and counts it as an error if it raises (a class, not
    @contextmanager: about a microsecond cheaper, and this runs per request)."""

    __slots__ = ("operation", "started")

    def __init__(self, operation: str) -> None:
        self.operation = operation

    def __enter__(self) -> None:
        self.started = time.perf_counter()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, _: TracebackType | None
    ) -> None:
        child(STORE_SECONDS, self.operation).observe(time.perf_counter() - self.started)
        if isinstance(error, Exception):
            child(STORE_ERRORS, self.operation).inc()


def store_failed(operation: str) -> None:
    """A call that returned per-command errors instead of raising."""
    child(STORE_ERRORS, operation).inc()


def count_decisions(placement: str, pending: Sequence[Pending]) -> None:
    for p in pending:
        choice = p.choice
        if p.error is not None or choice is None:
            continue
        message = choice.message.key if choice.message is not None else "none"
        child(DECISIONS, placement, message, choice.source).inc()
        if p.state is None:
            child(DEGRADED, placement, "store_unreadable").inc()
        elif not p.recorded:
            child(DEGRADED, placement, "not_recorded").inc()


def not_recorded(placement: str, decisions: int) -> None:
    """Decisions answered before their write failed (see recording.record)."""
    child(DEGRADED, placement, "not_recorded").inc(decisions)


def count_events(accepted: int, duplicate: int, rejected: Iterable[str]) -> None:
    if accepted:
        child(EVENTS, "accepted").inc(accepted)
    if duplicate:
        child(EVENTS, "duplicate").inc(duplicate)
    for reason in rejected:
        child(EVENTS, "rejected").inc()
        child(EVENTS_REJECTED, reason).inc()


def snapshot_refreshed(loaded_at: float) -> None:
    SNAPSHOT_LOADED_AT.set(loaded_at)


def snapshot_refresh_failed(reason: str = "store_unreachable") -> None:
    SNAPSHOT_REFRESH_FAILURES.labels(reason).inc()


def multiprocess_mode() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def worker_exited() -> None:
    """Drop this worker's live gauges from the multiprocess totals."""
    if multiprocess_mode():
        multiprocess.mark_process_dead(os.getpid())


class _Exposition:
    """What a scrape returns: this process's registry, or every worker's files, plus the
    snapshot's age computed now from the stalest worker's load time."""

    def __init__(self, source: Any) -> None:
        self.source = source

    def collect(self) -> Iterable[Metric]:
        families = list(self.source.collect())
        loaded = [
            s.value
            for f in families
            if f.name == "decide_config_snapshot_loaded_timestamp_seconds"
            for s in f.samples
        ]
        age = GaugeMetricFamily(
            "decide_config_snapshot_age_seconds",
            "Seconds since the stalest worker last refreshed its config snapshot",
        )
        if loaded:
            age.add_metric([], max(0.0, time.time() - min(loaded)))
        return [*families, age]


def exposition() -> tuple[bytes, str]:
    """The body and content type of GET /metrics."""
    if multiprocess_mode():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        source: Any = registry
    else:
        source = REGISTRY
    return generate_latest(_Exposition(source)), CONTENT_TYPE_LATEST
