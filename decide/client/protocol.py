"""What the decide clients share: errors, retry policy, request bodies, response checks,
fallback decisions and event bookkeeping — plain functions, no I/O."""

from __future__ import annotations

import json
import logging
import random
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypedDict

import httpx

log = logging.getLogger("decide.client")

Json = dict[str, Any]
Contact = str | Mapping[str, Any]  # a contact id, or {"contact_id", "attributes", "context"}
EVENTS_PER_REQUEST = 100
JSON_HEADERS = {"content-type": "application/json"}
BATCH_HEADERS = {**JSON_HEADERS, "accept": "application/x-ndjson"}


class DecideError(Exception):
    """A request decide refused (4xx: a caller bug), or one that kept failing (status None)."""

    def __init__(
        self, status: int | None, code: str, message: str, details: list[Json] | None = None
    ) -> None:
        self.status, self.code, self.message = status, code, message
        self.details = details or []
        fields = ", ".join(f"{d.get('field')}: {d.get('reason')}" for d in self.details)
        super().__init__(f"{status} {code}: {message}" + (f" ({fields})" if fields else ""))

    @property
    def fields(self) -> list[str]:
        return [str(d.get("field")) for d in self.details]


@dataclass
class FlushResult:
    accepted: int = 0
    duplicate: int = 0
    rejected: list[Json] = field(default_factory=list)  # {"index", "reason", "field", "event"}
    pending: int = 0  # left in the buffer: the server could not be reached


@dataclass(frozen=True)
class RetryPolicy:
    retries: int = 3  # attempts after the first
    backoff_s: float = 0.1  # doubled each attempt, with jitter
    max_wait_s: float = 2.0

    def waits(self) -> Iterator[float]:
        """How long to sleep before each attempt: nothing before the first."""
        yield 0.0
        for n in range(self.retries):
            yield min(self.max_wait_s, self.backoff_s * 2**n * random.uniform(1.0, 1.5))

    def wait(self, planned: float, failure: Retryable | None) -> float:
        if failure is not None and failure.after is not None:  # honour Retry-After
            return max(planned, min(failure.after, self.max_wait_s))
        return planned


class Options(TypedDict, total=False):
    bulk_timeout: float  # seconds per phase for batches and events (default 30)
    retry: RetryPolicy
    flush_at: int  # buffered events that trigger a flush (default 100)


class EventFields(TypedDict, total=False):
    event_id: str  # default: a uuid4, fixed at track() so every retry reuses it
    decision_id: str
    value: float
    currency: str
    channel: str
    timestamp: str | datetime  # default: when track() was called
    properties: Mapping[str, Any]


class Retryable(Exception):
    """A failure worth repeating with the very same body: timeout, connection, 5xx, 429."""

    def __init__(self, reason: str, after: float | None = None) -> None:
        super().__init__(reason)
        self.after = after


def retryable(error: Exception) -> Retryable:
    return error if isinstance(error, Retryable) else Retryable(repr(error))


def dumps(doc: Any) -> bytes:
    # Deterministic bytes: a retried batch must match its first body to replay its decisions.
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()


def build_request(
    http: httpx.Client | httpx.AsyncClient, path: str, body: bytes, timeout: float
) -> httpx.Request:
    headers = BATCH_HEADERS if path.endswith("/batch") else JSON_HEADERS
    return http.build_request("POST", path, content=body, headers=headers, timeout=timeout)


def check(response: httpx.Response) -> None:
    """Nothing for a 2xx; `Retryable` for what a retry may cure; `DecideError` for the rest."""
    status = response.status_code
    if status >= 500 or status == 429:
        after = response.headers.get("retry-after", "")
        raise Retryable(f"HTTP {status}", float(after) if after.isdigit() else None)
    if status >= 400:
        raise error_from(response)


def error_from(response: httpx.Response) -> DecideError:
    try:
        error = response.json()["error"]
        return DecideError(
            response.status_code, error["code"], error.get("message", ""), error.get("details")
        )
    except (ValueError, KeyError, TypeError):
        return DecideError(response.status_code, "http_error", response.text[:200])


def decide_body(contact_id: str, placement: str, **optional: Any) -> bytes:
    body = {"contact_id": contact_id, "placement": placement}
    return dumps(body | {k: v for k, v in optional.items() if v is not None})


def fallback_decision(
    contact_id: str, placement: str, fallback: Mapping[str, Any] | None, why: str
) -> Json:
    """What a page shows when decide is slow or down; the caller's fallback keys win."""
    empty = dict.fromkeys(("decision_id", "message", "channel", "send_at", "assignment"))
    minimal = {**empty, "placement": placement, "contact_id": contact_id, "degraded": True,
               "reason": "client_fallback", "reasons": [f"decide unavailable: {why}"]}  # fmt: skip
    return {**minimal, **(fallback or {})}


def batch_requests(
    placement: str,
    contacts: Iterable[Contact],
    context: Mapping[str, Any] | None,
    request_id: str | None,
    chunk: int,
) -> Iterator[tuple[int, bytes]]:
    """(offset in the audience, body) per chunk. Each chunk has its own stable request_id, so
    a retried chunk gets its first decisions back and reserves no cap twice."""
    if chunk < 1:
        raise ValueError("chunk must be at least 1")
    base = request_id or uuid.uuid4().hex  # none given: retries inside this call stay safe
    group: list[Json] = []
    offset = n = 0

    def body() -> bytes:
        doc = {"placement": placement, "request_id": f"{base}-{n}", "contacts": group}
        return dumps(doc if context is None else doc | {"context": context})

    for contact in contacts:
        group.append({"contact_id": contact} if isinstance(contact, str) else dict(contact))
        if len(group) == chunk:
            yield offset, body()
            offset, n, group = offset + len(group), n + 1, []
    if group:
        yield offset, body()


def reindex(line: str, offset: int) -> Json:
    entry: Json = json.loads(line)
    entry["index"] = entry.get("index", 0) + offset  # the position in the whole audience
    return entry


def event_doc(type: str, contact_id: str, fields: EventFields) -> Json:
    """An event as sent: its event_id and time are fixed once, at track()."""
    doc: Json = {k: v for k, v in fields.items() if v is not None}
    at = doc.get("timestamp") or datetime.now(UTC)
    if isinstance(at, datetime):
        at = at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    event_id = doc.get("event_id") or str(uuid.uuid4())
    return doc | {"event_id": event_id, "type": type, "contact_id": contact_id, "timestamp": at}


def tally(result: FlushResult, sent: list[Json], answer: Json) -> None:
    result.accepted += int(answer.get("accepted", 0))
    result.duplicate += int(answer.get("duplicate", 0))
    for rejection in answer.get("rejected", []):  # a rejected event is dropped, not retried
        event = sent[rejection["index"]]
        log.warning("decide rejected event %s: %s", event["event_id"], rejection.get("reason"))
        result.rejected.append({**rejection, "event": event})


def gave_up(path: str, failure: Retryable | None) -> DecideError:
    return DecideError(None, "unavailable", f"POST {path} kept failing: {failure}")


def kept(result: FlushResult, remaining: int, error: DecideError) -> FlushResult:
    """A flush the server could not take: the rest stays buffered; a 4xx is the caller's."""
    result.pending = remaining
    if error.status is not None:
        raise error
    log.warning("decide events kept for the next flush: %s", error)
    return result


def auth_headers(api_key: str | None) -> dict[str, str]:
    return {"authorization": f"Bearer {api_key}"} if api_key else {}


class ClientBase:
    """The buffer and settings both clients keep; they differ only in how they do I/O."""

    def __init__(self, timeout: float, options: Options) -> None:
        self.timeout = timeout
        self.bulk_timeout = options.get("bulk_timeout", 30.0)
        self.retry = options.get("retry", RetryPolicy())
        self.flush_at = options.get("flush_at", EVENTS_PER_REQUEST)
        self._buffer: list[Json] = []

    def _take(self) -> list[Json]:
        events, self._buffer = self._buffer, []
        return events

    def _requeue(self, events: list[Json]) -> None:
        self._buffer[:0] = events  # first in, first out again next time
