"""API keys and scopes; health, readiness and the OpenAPI document."""

from __future__ import annotations

from starlette.routing import Route

from decide.app import ROUTES
from decide.auth import parse_api_keys
from decide.settings import Settings
from tests.conftest import MakeClient, Store
from tests.helpers import WEB_RULE


def test_scopes_are_enforced(make_client: MakeClient) -> None:
    keys = parse_api_keys("adm1n:admin;web-key:decide,events;analyst:read")
    api = make_client(Settings(api_keys=keys))
    admin = {"Authorization": "Bearer adm1n"}
    web = {"Authorization": "Bearer web-key"}
    assert api.put("/v1/placements/hero", json=WEB_RULE).status_code == 401
    assert (
        api.put(
            "/v1/placements/hero", json=WEB_RULE, headers={"Authorization": "Bearer nope"}
        ).status_code
        == 401
    )
    assert api.put("/v1/placements/hero", json=WEB_RULE, headers=web).status_code == 403
    assert api.put("/v1/placements/hero", json=WEB_RULE, headers=admin).status_code == 201
    decision = {"contact_id": "c", "placement": "hero"}
    assert api.post("/v1/decide", json=decision, headers=web).status_code == 200
    assert (
        api.post("/v1/decide", json=decision, headers={"X-API-Key": "web-key"}).status_code == 200
    )
    assert (
        api.post(
            "/v1/decide", json=decision, headers={"Authorization": "Bearer analyst"}
        ).status_code
        == 403
    )
    assert (
        api.get("/v1/placements/hero", headers={"Authorization": "Bearer analyst"}).status_code
        == 200
    )
    assert api.get("/v1/placements/hero", headers=web).status_code == 403
    assert api.get("/healthz").status_code == 200


def test_health_and_readiness(api, store: Store) -> None:
    assert api.get("/healthz").json() == {"status": "ok"}
    ready = api.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {
        "store": True,
        "config_loaded": True,
    }


def test_openapi_describes_every_route(api, store: Store) -> None:
    document = api.get("/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    for route in ROUTES:
        assert isinstance(route, Route)
        for method in route.methods or ():
            if method == "HEAD":
                continue
            assert method.lower() in document["paths"][route.path], (method, route.path)


def test_unknown_routes_use_the_error_envelope(api, store: Store) -> None:
    response = api.get("/v2/nothing")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    response = api.get("/v1/decide")
    assert response.status_code == 405 and response.json()["error"]["code"] == "method_not_allowed"
