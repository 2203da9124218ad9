"""Schemathesis over /openapi.json: every route, no 5xx, every response as documented.

Requests go in-process to the real app (lifespan included) against the real Valkey, with
the demo configuration loaded so generated path keys sometimes name something that exists.
Generation is derandomized, so a run is repeatable and CI sees the same requests each time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.testclient import TestClient

from decide.app import create_app
from decide.openapi import openapi_document
from decide.settings import Settings
from tests.conftest import Clock, Store
from tests.fuzz import seeds, tally
from tests.helpers import load_demo

# About 55 operations,  positive and negative examples: comfortably over 5,000 requests.
EXAMPLES_PER_OPERATION = 120
MIN_REQUESTS = 5_000

schema = schemathesis.openapi.from_dict(openapi_document())
schema.config.generation.update(modes=["positive", "negative"], max_examples=EXAMPLES_PER_OPERATION)
seeds.install(schema)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def fuzz_api(valkey: Store) -> Iterator[TestClient]:
    import time

    valkey.flush()
    app = create_app(Settings(config_refresh_s=0.05), valkey.url, Clock(time.time()))
    with TestClient(app, raise_server_exceptions=False) as client:
        load_demo(client)
        yield client
    valkey.flush()


@pytest.fixture
def demo(fuzz_api: TestClient) -> TestClient:
    """Each operation starts from the demo configuration, whatever the previous one deleted."""
    load_demo(fuzz_api)
    return fuzz_api


def _send(client: TestClient, kwargs: dict[str, Any]) -> Any:
    data = kwargs.pop("data", None)
    if data is not None and "content" not in kwargs:
        kwargs["content"] = data
    kwargs.pop("auth", None)
    # Generated header values may hold any character; send them as raw bytes, as a client could.
    headers = kwargs.get("headers") or {}
    kwargs["headers"] = {name: str(value).encode() for name, value in headers.items()}
    return client.request(**kwargs)


@schema.parametrize()
@settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=EXAMPLES_PER_OPERATION,
    suppress_health_check=list(HealthCheck),
)
def test_route_answers_as_documented(case: schemathesis.Case, demo: TestClient) -> None:
    response = _send(demo, case.as_transport_kwargs(base_url="http://testserver"))
    tally.record(response.status_code)
    case.validate_response(response, checks=CHECKS)


def test_fuzz_sent_enough_requests() -> None:
    if tally.COUNTS["total"] == 0:
        pytest.skip("the fuzz test did not run (deselected)")
    print("\n" + tally.summary())
    assert tally.COUNTS["total"] >= MIN_REQUESTS
