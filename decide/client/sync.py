"""The blocking client: decisions that never break a page, events counted once."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Unpack

import httpx

from decide.client.protocol import (
    EVENTS_PER_REQUEST,
    ClientBase,
    Contact,
    DecideError,
    EventFields,
    FlushResult,
    Json,
    Options,
    Retryable,
    auth_headers,
    batch_requests,
    build_request,
    check,
    decide_body,
    dumps,
    event_doc,
    fallback_decision,
    gave_up,
    kept,
    log,
    reindex,
    retryable,
    tally,
)


class DecideClient(ClientBase):
    """Blocking client; `timeout` bounds each phase (connect, write, read) of a decide call."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        timeout: float = 0.25,
        transport: httpx.BaseTransport | None = None,
        **options: Unpack[Options],
    ) -> None:
        super().__init__(timeout, options)
        headers = auth_headers(api_key)
        self._http = httpx.Client(base_url=base_url, headers=headers, transport=transport)
        self._lock = threading.Lock()  # the buffer is shared by the caller's threads

    def decide(
        self,
        contact_id: str,
        placement: str,
        attributes: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
        channels: list[str] | None = None,
        fallback: Mapping[str, Any] | None = None,
    ) -> Json:
        body = decide_body(
            contact_id, placement, attributes=attributes, context=context, channels=channels
        )
        try:
            response = self._http.send(build_request(self._http, "/v1/decide", body, self.timeout))
            check(response)
            decision: Json = response.json()
            return decision
        except (Retryable, httpx.HTTPError, ValueError) as failure:
            return fallback_decision(contact_id, placement, fallback, repr(failure))

    def decide_batch(
        self,
        placement: str,
        contacts: Iterable[Contact],
        context: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        chunk: int = 1000,
    ) -> Iterator[Json]:
        for offset, body in batch_requests(placement, contacts, context, request_id, chunk):
            yield from self._stream_chunk(offset, body)

    def _stream_chunk(self, offset: int, body: bytes) -> Iterator[Json]:
        seen, failure = 0, None  # lines already yielded: a retry resumes after them
        for planned in self.retry.waits():
            time.sleep(self.retry.wait(planned, failure))
            try:
                request = build_request(self._http, "/v1/decide/batch", body, self.bulk_timeout)
                response = self._http.send(request, stream=True)
                try:
                    if response.status_code >= 400:
                        response.read()
                        check(response)
                    lines = (line for line in response.iter_lines() if line.strip())
                    for n, line in enumerate(lines):
                        if n >= seen:
                            seen += 1
                            yield reindex(line, offset)
                finally:
                    response.close()
                return
            except (Retryable, httpx.TransportError) as error:
                failure = retryable(error)
        raise gave_up("/v1/decide/batch", failure)

    def track(self, type: str, contact_id: str, **fields: Unpack[EventFields]) -> str:
        """Buffer one event and return its event_id; a full buffer is flushed."""
        doc = event_doc(type, contact_id, fields)
        with self._lock:
            self._buffer.append(doc)
            full = len(self._buffer) >= self.flush_at
        if full:
            try:
                self.flush()
            except DecideError as error:  # tracking never breaks the caller
                log.warning("decide events not sent: %s", error)
        return str(doc["event_id"])

    def flush(self) -> FlushResult:
        with self._lock:
            events = self._take()
        result = FlushResult()
        for start in range(0, len(events), EVENTS_PER_REQUEST):
            part = events[start : start + EVENTS_PER_REQUEST]
            try:
                tally(result, part, self.send_events(part))
            except DecideError as error:
                with self._lock:
                    self._requeue(events[start:])
                return kept(result, len(events) - start, error)
        return result

    def send_events(self, events: list[Json]) -> Json:
        """One POST /v1/events, retried with the same event_ids: the server counts each once."""
        body, failure = dumps({"events": events}), None
        for planned in self.retry.waits():
            time.sleep(self.retry.wait(planned, failure))
            try:
                request = build_request(self._http, "/v1/events", body, self.bulk_timeout)
                response = self._http.send(request)
                check(response)
                answer: Json = response.json()
                return answer
            except (Retryable, httpx.TransportError) as error:
                failure = retryable(error)
        raise gave_up("/v1/events", failure)

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self._http.close()

    def __enter__(self) -> DecideClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
