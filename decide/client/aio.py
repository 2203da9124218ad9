"""The asyncio client: the same API as the blocking one, awaited."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Mapping
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


class AsyncDecideClient(ClientBase):
    """The same API for asyncio; here `timeout` is a deadline for the whole decide call."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        timeout: float = 0.25,
        transport: httpx.AsyncBaseTransport | None = None,
        **options: Unpack[Options],
    ) -> None:
        super().__init__(timeout, options)
        headers = auth_headers(api_key)
        self._http = httpx.AsyncClient(base_url=base_url, headers=headers, transport=transport)

    async def decide(
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
            async with asyncio.timeout(self.timeout):
                request = build_request(self._http, "/v1/decide", body, self.timeout)
                response = await self._http.send(request)
            check(response)
            decision: Json = response.json()
            return decision
        except (Retryable, httpx.HTTPError, ValueError, TimeoutError) as failure:
            return fallback_decision(contact_id, placement, fallback, repr(failure))

    async def decide_batch(
        self,
        placement: str,
        contacts: Iterable[Contact],
        context: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        chunk: int = 1000,
    ) -> AsyncIterator[Json]:
        for offset, body in batch_requests(placement, contacts, context, request_id, chunk):
            async for entry in self._stream_chunk(offset, body):
                yield entry

    async def _stream_chunk(self, offset: int, body: bytes) -> AsyncIterator[Json]:
        seen, failure = 0, None
        for planned in self.retry.waits():
            await asyncio.sleep(self.retry.wait(planned, failure))
            try:
                request = build_request(self._http, "/v1/decide/batch", body, self.bulk_timeout)
                response = await self._http.send(request, stream=True)
                try:
                    if response.status_code >= 400:
                        await response.aread()
                        check(response)
                    n = 0
                    async for line in response.aiter_lines():
                        if line.strip():
                            if n >= seen:
                                seen += 1
                                yield reindex(line, offset)
                            n += 1
                finally:
                    await response.aclose()
                return
            except (Retryable, httpx.TransportError) as error:
                failure = retryable(error)
        raise gave_up("/v1/decide/batch", failure)

    async def track(self, type: str, contact_id: str, **fields: Unpack[EventFields]) -> str:
        doc = event_doc(type, contact_id, fields)
        self._buffer.append(doc)  # one event loop: no lock needed
        if len(self._buffer) >= self.flush_at:
            try:
                await self.flush()
            except DecideError as error:
                log.warning("decide events not sent: %s", error)
        return str(doc["event_id"])

    async def flush(self) -> FlushResult:
        events, result = self._take(), FlushResult()
        for start in range(0, len(events), EVENTS_PER_REQUEST):
            part = events[start : start + EVENTS_PER_REQUEST]
            try:
                tally(result, part, await self.send_events(part))
            except DecideError as error:
                self._requeue(events[start:])
                return kept(result, len(events) - start, error)
        return result

    async def send_events(self, events: list[Json]) -> Json:
        body, failure = dumps({"events": events}), None
        for planned in self.retry.waits():
            await asyncio.sleep(self.retry.wait(planned, failure))
            try:
                request = build_request(self._http, "/v1/events", body, self.bulk_timeout)
                response = await self._http.send(request)
                check(response)
                answer: Json = response.json()
                return answer
            except (Retryable, httpx.TransportError) as error:
                failure = retryable(error)
        raise gave_up("/v1/events", failure)

    async def aclose(self) -> None:
        try:
            await self.flush()
        finally:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncDecideClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
