"""Bad input the fuzzer found, and the limits: each one a 4xx naming the field, nothing stored."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from decide.settings import Settings
from tests.conftest import MakeClient, Store
from tests.helpers import WEB_RULE, arm_stats


def _fields(response: Any) -> list[str]:
    return [detail["field"] for detail in response.json()["error"]["details"]]


def test_a_channel_that_is_not_a_string_is_named_not_a_crash(api: TestClient) -> None:
    response = api.put("/v1/placements/hero", json=WEB_RULE | {"channels": [{}, "web"]})
    assert response.status_code == 422, response.text
    assert _fields(response) == ["channels"]
    assert api.get("/v1/placements/hero").status_code == 404


def test_an_empty_string_is_called_empty(api: TestClient) -> None:
    response = api.post("/v1/decide", json={"contact_id": "c1", "placement": ""})
    assert response.status_code == 422
    assert response.json()["error"]["details"] == [
        {"field": "placement", "reason": "must not be empty"}
    ]
    contact = api.put("/v1/contacts/c1", json={"attributes": {"first_name": ""}})
    assert contact.status_code == 422
    assert contact.json()["error"]["details"][0]["reason"] == "must not be empty"
    wrong_type = api.post("/v1/decide", json={"contact_id": "c1", "placement": 7})
    assert wrong_type.json()["error"]["details"][0]["reason"] == (
        "must be a non-empty string, got number"
    )


def _looping_placement(api: TestClient, template: str) -> None:
    doc = WEB_RULE | {
        "messages": [{"key": "hello", "content": {"web": {"headline": template}}}],
    }
    response = api.put("/v1/placements/hero", json=doc)
    assert response.status_code in (200, 201), response.text


def test_a_template_that_runs_away_for_a_contact_is_a_422_and_nothing_is_counted(
    api: TestClient, store: Store
) -> None:
    _looping_placement(api, "{% for i in (1..contact.custom.n) %}x{% endfor %}")
    ok = api.post(
        "/v1/decide",
        json={"contact_id": "c1", "placement": "hero", "attributes": {"custom": {"n": 3}}},
    )
    assert ok.status_code == 200 and ok.json()["message"]["content"]["web"]["headline"] == "xxx"
    counted = arm_stats(store.url, "hero")
    looping = api.post(
        "/v1/decide",
        json={"contact_id": "c2", "placement": "hero", "attributes": {"custom": {"n": 10**6}}},
    )
    assert looping.status_code == 422, looping.text
    assert looping.json()["error"]["code"] == "render_failed"
    assert _fields(looping) == ["messages[0].content.web.headline"]
    assert arm_stats(store.url, "hero") == counted


def test_template_output_and_assigned_strings_are_bounded(api: TestClient) -> None:
    big = {"custom": {"big": "y" * 1000}}
    _looping_placement(api, "{% for i in (1..1000) %}{{ contact.custom.big }}{% endfor %}")
    response = api.post(
        "/v1/decide", json={"contact_id": "c1", "placement": "hero", "attributes": big}
    )
    assert response.status_code == 422 and "output" in response.json()["error"]["message"]
    _looping_placement(
        api,
        "{% assign s = '' %}{% for i in (1..5000) %}"
        "{% assign s = s | append: contact.custom.big %}{% endfor %}{{ s | size }}",
    )
    response = api.post(
        "/v1/decide", json={"contact_id": "c1", "placement": "hero", "attributes": big}
    )
    assert response.status_code == 422 and "namespace" in response.json()["error"]["message"]


def test_templates_are_bounded_in_size_and_cannot_read_files(api: TestClient) -> None:
    for template in ("{% include 'etc/passwd' %}", "{% render 'x' %}", "x" * 50_001):
        doc = WEB_RULE | {
            "messages": [{"key": "hello", "content": {"web": {"headline": template}}}]
        }
        response = api.put("/v1/placements/hero", json=doc)
        assert response.status_code == 422, template[:20]
        assert _fields(response) == ["messages[0].content.web.headline"]


def test_body_and_batch_limits_are_413_naming_what_is_too_big(make_client: MakeClient) -> None:
    api = make_client(Settings(body_limit=2000, max_batch=3, max_events=2))
    created = api.put("/v1/placements/hero", json=WEB_RULE)
    assert created.status_code == 201
    big = api.post("/v1/decide", json={"contact_id": "c1", "placement": "hero", "x": "y" * 3000})
    assert big.status_code == 413 and _fields(big) == ["body"]
    contacts = [{"contact_id": f"c{i}"} for i in range(4)]
    batch = api.post("/v1/decide/batch", json={"placement": "hero", "contacts": contacts})
    assert batch.status_code == 413 and _fields(batch) == ["contacts"]
    events = [{"event_id": f"e{i}", "type": "click", "contact_id": "c1"} for i in range(3)]
    too_many = api.post("/v1/events", json={"events": events})
    assert too_many.status_code == 413 and _fields(too_many) == ["events"]


def test_ids_keys_and_request_data_are_bounded(api: TestClient) -> None:
    assert api.put("/v1/placements/hero", json=WEB_RULE).status_code == 201
    long_id = api.post("/v1/decide", json={"contact_id": "c" * 257, "placement": "hero"})
    assert long_id.status_code == 422 and _fields(long_id) == ["contact_id"]
    long_key = api.put("/v1/placements/" + "k" * 65, json=WEB_RULE)
    assert long_key.status_code == 422 and _fields(long_key) == ["key"]
    many = {f"a{i}": i for i in range(101)}
    response = api.post(
        "/v1/decide", json={"contact_id": "c1", "placement": "hero", "attributes": many}
    )
    assert response.status_code == 422 and _fields(response) == ["attributes"]
    long_value = {"note": "x" * 2001}
    response = api.post(
        "/v1/decide", json={"contact_id": "c1", "placement": "hero", "context": long_value}
    )
    assert response.status_code == 422 and _fields(response) == ["context.note"]
    event = {"event_id": "e" * 201, "type": "click", "contact_id": "c1"}
    rejected = api.post("/v1/events", json={"events": [event]}).json()["rejected"]
    assert [r["field"] for r in rejected] == ["events[0].event_id"]
    profile = {"attributes": {"custom": {f"k{i}": 1 for i in range(51)}}}
    contact = api.put("/v1/contacts/c1", json=profile)
    assert contact.status_code == 422 and _fields(contact) == ["attributes.custom"]
