"""Every route's example (decide/openapi_examples.py) is documented, fits the schema, and works:
each request is sent, in order, to an app loaded with the demo configuration."""

from __future__ import annotations

import copy
import time
from typing import Any

import jsonschema_rs
import pytest

from decide.config.files import demo_config_path, read_config_file
from decide.openapi import openapi_document
from decide.openapi_examples import EXAMPLES
from tests.conftest import MakeClient

METHODS = ("get", "put", "patch", "post", "delete")


def _operations(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(m.upper(), path) for path, item in document["paths"].items() for m in item
            if m in METHODS}  # fmt: skip


def test_every_operation_has_an_example() -> None:
    document = openapi_document()
    assert _operations(document) == set(EXAMPLES)
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                assert item[method]["x-example-url"], (method, path)


def _validator(document: dict[str, Any], schema: dict[str, Any]) -> Any:
    # The components ride along so that "#/components/schemas/…" references resolve.
    return jsonschema_rs.validator_for({**schema, "components": document["components"]})


def test_examples_fit_the_documented_schemas() -> None:
    document = openapi_document()
    for (method, path), example in EXAMPLES.items():
        operation = document["paths"][path][method.lower()]
        if "request" in example:
            schema = operation["requestBody"]["content"]["application/json"]["schema"]
            _validator(document, schema).validate(example["request"])
        documented = operation["responses"].get(str(example["status"]), {}).get("content", {})
        schema = documented.get(example.get("media", "application/json"), {}).get("schema")
        if schema is not None and "media" not in example:
            _validator(document, schema).validate(example["response"])


def _demo_client(make_client: MakeClient) -> Any:
    api = make_client()
    for kind, key, doc in read_config_file(demo_config_path()):
        path = "/v1/workspace" if kind == "workspace" else f"/v1/{kind}/{key}"
        assert api.put(path, json=doc).status_code in (200, 201), path
    return api


def _log_bandit_decisions(api: Any) -> None:
    """The evaluate example needs exposed decisions with outcomes in the decision log."""
    for i in range(4):
        deadline = time.monotonic() + 5
        while True:  # the placement the PUT example created may take a refresh to appear
            answer = api.post(
                "/v1/decide", json={"contact_id": f"v-{i}", "placement": "hero_bandit"}
            )
            if answer.status_code != 404 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        decision_id = answer.json()["decision_id"]
        events = [{"event_id": f"i-{i}", "type": "impression", "contact_id": f"v-{i}",
                   "decision_id": decision_id}]  # fmt: skip
        if i % 2:
            events.append({**events[0], "event_id": f"c-{i}", "type": "click"})
        assert api.post("/v1/events", json={"events": events}).json()["accepted"] == len(events)


@pytest.mark.slow
def test_examples_run_against_the_demo_configuration(make_client: MakeClient) -> None:
    api = _demo_client(make_client)
    decision_id = None
    for (method, path), example in EXAMPLES.items():
        request = copy.deepcopy(example.get("request"))
        if path == "/v1/events":  # the token is signed by this server, not the captured one
            for event in request["events"]:
                event["decision_id"] = decision_id
        if path == "/v1/placements/{key}/evaluate":
            _log_bandit_decisions(api)
        response = api.request(method, example["url"], json=request)
        assert response.status_code == example["status"], (method, path, response.text)
        media = example.get("media", "application/json")
        assert response.headers["content-type"].startswith(media), (method, path)
        if media == "application/json":
            assert set(response.json()) == set(example["response"]), (method, path)
            if path == "/v1/decide":
                decision_id = response.json()["decision_id"]
        if path == "/v1/events":
            assert response.json() == example["response"]  # accepted, nothing rejected


def test_docs_page_shows_every_route_with_its_example(api: Any) -> None:
    from decide.docs_html import _anchor

    page = api.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for method, path in EXAMPLES:
        section = page.text.split(f'<section id="{_anchor(method.lower(), path)}">', 1)[1]
        section = section.split("</section>", 1)[0]
        assert '<h3>Example</h3><pre class="command">curl -s' in section, (method, path)
    assert "<script" not in page.text and "//cdn" not in page.text


def test_the_snippet_is_served_with_caching_headers(api: Any) -> None:
    first = api.get("/static/decide.js")
    assert first.status_code == 200
    assert first.headers["content-type"] == "text/javascript; charset=utf-8"
    assert "max-age" in first.headers["cache-control"]
    again = api.get("/static/decide.js", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
