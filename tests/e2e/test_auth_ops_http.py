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


def test_public_keys_need_a_contact_token_for_stored_profiles(make_client: MakeClient) -> None:
    """A browser key sits in a web page: it decides web placements only, and another
    contact's stored name stays hidden unless the customer's backend signed the contact id."""
    from decide.auth import contact_token

    keys = parse_api_keys("adm1n:admin;pk_web:public", "https://shop.example")
    secret = b"backend-secret"
    api = make_client(Settings(api_keys=keys, contact_token_secret=secret))
    admin = {"Authorization": "Bearer adm1n"}
    assert api.put("/v1/placements/hero", json=WEB_RULE, headers=admin).status_code == 201
    email = {"channels": ["email"], "policy": {"type": "rule", "message": "m"},
             "messages": [{"key": "m", "content": {"email": {"subject": "s"}}}]}  # fmt: skip
    assert api.put("/v1/placements/mail", json=email, headers=admin).status_code == 201
    profile = {"attributes": {"first_name": "Maryam"}}
    assert api.put("/v1/contacts/c-1", json=profile, headers=admin).status_code == 200

    def headline(**body: object) -> str:
        response = api.post("/v1/decide", json={"contact_id": "c-1", "placement": "hero", **body})
        assert response.status_code == 200, response.text
        return str(response.json()["message"]["content"]["web"]["headline"])

    # The key travels in the body (sendBeacon cannot set headers).
    assert headline(api_key="pk_web") == "Hi there"  # stored profile not used
    assert headline(api_key="pk_web", contact_token="forged") == "Hi there"
    token = contact_token(secret, "c-1")
    assert headline(api_key="pk_web", contact_token=token) == "Hi Maryam"
    assert headline(api_key="pk_web", attributes={"first_name": "Sam"}) == "Hi Sam"
    assert api.post("/v1/decide", headers=admin,
                    json={"contact_id": "c-1", "placement": "hero"}).json()["message"][
        "content"]["web"]["headline"] == "Hi Maryam"  # fmt: skip

    outbound = {"contact_id": "c-1", "placement": "mail", "api_key": "pk_web"}
    assert api.post("/v1/decide", json=outbound).status_code == 403
    foreign = api.post("/v1/decide", json={**outbound, "placement": "hero"},
                       headers={"Origin": "https://evil.example"})  # fmt: skip
    assert foreign.status_code == 403
    assert api.get("/v1/contacts/c-1", headers={"X-API-Key": "pk_web"}).status_code == 403
    batch = {"placement": "hero", "contacts": [{"contact_id": "c-1"}]}
    assert (
        api.post("/v1/decide/batch", json=batch, headers={"X-API-Key": "pk_web"}).status_code == 403
    )
    beacon = {"api_key": "pk_web", "events": [{"event_id": "e1", "type": "click",
                                               "contact_id": "c-1"}]}  # fmt: skip
    assert api.post("/v1/events", json=beacon).json()["accepted"] == 1
