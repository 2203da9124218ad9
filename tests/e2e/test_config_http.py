"""Configuration API: validated, versioned, served by every worker within ~1 s."""

from __future__ import annotations

import time

from tests.conftest import MakeClient, Store
from tests.helpers import WEB_RULE, decide, load_demo

EXPERIMENT = {
    "placement": "hero",
    "status": "running",
    "seed": "s1",
    "variations": [
        {"key": "a", "message": "hello", "weight": 0.5},
        {"key": "b", "message": "bye", "weight": 0.5},
    ],
}
TWO_MESSAGES = WEB_RULE | {
    "policy": {"type": "experiment", "experiment": "exp"},
    "messages": WEB_RULE["messages"] + [{"key": "bye", "content": {"web": {"headline": "Bye"}}}],
}


def test_put_get_list_delete_round_trip(api, store: Store) -> None:
    created = api.put("/v1/placements/hero", json=WEB_RULE)
    assert (
        created.status_code == 201 and created.headers["etag"] == f'"{created.json()["version"]}"'
    )
    updated = api.put("/v1/placements/hero", json=WEB_RULE | {"description": "v2"})
    assert updated.status_code == 200 and updated.json()["version"] > created.json()["version"]
    got = api.get("/v1/placements/hero").json()
    assert got["description"] == "v2" and got["key"] == "hero" and got["exposure"] == "event"
    assert [p["key"] for p in api.get("/v1/placements").json()["placements"]] == ["hero"]
    assert api.delete("/v1/placements/hero").status_code == 200
    assert api.get("/v1/placements/hero").status_code == 404
    assert api.delete("/v1/placements/hero").status_code == 404
    assert api.post("/v1/decide", json={"contact_id": "c", "placement": "hero"}).status_code == 404


def test_every_bad_field_is_named_and_nothing_is_stored(api, store: Store) -> None:
    bad = {
        "channels": ["web", "fax"],
        "exposure": "sometimes",
        "policy": {"type": "rule", "message": "missing"},
        "messages": [
            {"key": "hello", "content": {"web": {"headline": "Hi {{ contact.first_name "}}},
            {"key": "hello", "content": {"web": {"headline": "{{ context.page }}"}}},
        ],
        "frequency_caps": [{"channel": "web", "max": -1, "days": 7}],
        "colour": "blue",
    }
    response = api.put("/v1/placements/hero", json=bad)
    assert response.status_code == 422
    fields = {d["field"] for d in response.json()["error"]["details"]}
    assert {
        "channels[1]",
        "exposure",
        "policy.message",
        "messages[0].content.web.headline",
        "messages[1].key",
        "frequency_caps[0].max",
        "colour",
    } <= fields
    assert any(
        f.startswith("messages[1].content.web.headline") for f in fields
    )  # undeclared context
    assert api.get("/v1/placements/hero").status_code == 404
    assert api.put("/v1/placements/bad key!", json=WEB_RULE).status_code == 422


def test_unsafe_literal_urls_are_refused(api, store: Store) -> None:
    placement = WEB_RULE | {
        "messages": [
            {"key": "hello", "content": {"web": {"html": '<a href="javascript:alert(1)">x</a>'}}}
        ]
    }
    response = api.put("/v1/placements/hero", json=placement)
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"].startswith(
        "messages[0].content.web.html"
    )


def test_a_change_reaches_another_worker_within_a_second(make_client: MakeClient) -> None:
    writer, reader = make_client(), make_client()
    assert (
        reader.post("/v1/decide", json={"contact_id": "c", "placement": "hero"}).status_code == 404
    )
    assert writer.put("/v1/placements/hero", json=WEB_RULE).status_code == 201
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        if (
            reader.post("/v1/decide", json={"contact_id": "c", "placement": "hero"}).status_code
            == 200
        ):
            break
        time.sleep(0.02)
    else:
        raise AssertionError("the second worker did not serve the new placement within 1 s")


def test_stale_if_match_is_refused(api, store: Store) -> None:
    version = api.put("/v1/placements/hero", json=WEB_RULE).json()["version"]
    api.put("/v1/placements/hero", json=WEB_RULE | {"description": "someone else"})
    stale = api.put("/v1/placements/hero", json=WEB_RULE, headers={"If-Match": f'"{version}"'})
    assert stale.status_code == 412 and stale.json()["error"]["code"] == "version_conflict"
    assert api.get("/v1/placements/hero").json()["description"] == "someone else"


def test_reweighting_starts_a_new_phase(api, store: Store) -> None:
    assert api.put("/v1/placements/hero", json=TWO_MESSAGES).status_code == 201
    assert (
        api.put("/v1/experiments/exp", json=EXPERIMENT | {"placement": "hero"}).json()["phase"] == 1
    )
    same = api.put("/v1/experiments/exp", json=EXPERIMENT | {"coverage": 0.5})
    assert same.json()["phase"] == 1
    reweighted = EXPERIMENT | {
        "variations": [
            {"key": "a", "message": "hello", "weight": 0.2},
            {"key": "b", "message": "bye", "weight": 0.8},
        ]
    }
    assert api.put("/v1/experiments/exp", json=reweighted).json()["phase"] == 2
    assert api.get("/v1/experiments/exp").json()["phase"] == 2
    assignment = decide(api, "c1", "hero")["assignment"]
    assert assignment["phase"] == 2 and assignment["propensity"] in (0.2, 0.8)


def test_experiment_variations_must_name_placement_messages(api, store: Store) -> None:
    assert api.put("/v1/placements/hero", json=TWO_MESSAGES).status_code == 201
    bad = EXPERIMENT | {
        "variations": [{"key": "a", "message": "hello"}, {"key": "b", "message": "nope"}]
    }
    response = api.put("/v1/experiments/exp", json=bad)
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "variations[1].message"
    weights = EXPERIMENT | {
        "variations": [
            {"key": "a", "message": "hello", "weight": 0.7},
            {"key": "b", "message": "bye", "weight": 0.7},
        ]
    }
    assert api.put("/v1/experiments/exp", json=weights).status_code == 422


def test_stop_and_rollout(api, store: Store) -> None:
    assert api.put("/v1/placements/hero", json=TWO_MESSAGES).status_code == 201
    assert api.put("/v1/experiments/exp", json=EXPERIMENT).status_code == 201
    assert api.post("/v1/experiments/exp/stop").json()["status"] == "stopped"
    body = decide(api, "c1", "hero")
    assert body["assignment"]["source"] == "default" and body["message"]["key"] == "hello"
    assert api.post("/v1/experiments/exp/rollout", json={"variation": "zzz"}).status_code == 422
    rolled = api.post("/v1/experiments/exp/rollout", json={"variation": "b"}).json()
    assert rolled["status"] == "rolled_out" and rolled["phase"] == 1
    keys = {decide(api, f"c{i}", "hero")["message"]["key"] for i in range(20)}
    assert keys == {"bye"}


def test_draft_experiment_serves_the_default(api, store: Store) -> None:
    assert api.put("/v1/placements/hero", json=TWO_MESSAGES).status_code == 201
    assert api.put("/v1/experiments/exp", json=EXPERIMENT | {"status": "draft"}).status_code == 201
    body = decide(api, "c1", "hero")
    assert body["assignment"]["source"] == "default" and "draft" in body["reasons"][0]


def test_demo_file_applies_cleanly(api, store: Store) -> None:
    load_demo(api)
    listed = api.get("/v1/experiments").json()["experiments"]
    assert [e["key"] for e in listed] == ["hero_copy"]
