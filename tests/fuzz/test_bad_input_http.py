"""Bad input the fuzzer found, and the limits: each one a 4xx naming the field, nothing stored."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from tests.helpers import WEB_RULE


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
