"""The audit log: every admin change, written with the change itself, listed newest first."""

from __future__ import annotations

import hashlib

from decide.auth import parse_api_keys
from decide.settings import Settings
from decide.store import keys
from tests.conftest import MakeClient, Store
from tests.helpers import WEB_RULE

SEGMENT = {"condition": {"contact.plan": "pro"}}
HOLDOUT = {"share": 0.05}
EXPERIMENT = {
    "placement": "hero", "status": "running", "seed": "s1",
    "variations": [{"key": "a", "message": "hello"}, {"key": "b", "message": "bye"}],
}  # fmt: skip
TWO_MESSAGES = WEB_RULE | {
    "policy": {"type": "experiment", "experiment": "exp"},
    "messages": WEB_RULE["messages"] + [{"key": "bye", "content": {"web": {"headline": "Bye"}}}],
}


def test_every_admin_change_is_audited_with_who_and_versions(
    make_client: MakeClient, store: Store
) -> None:
    api = make_client(Settings(api_keys=parse_api_keys("adm1n:admin;reader:read")))
    admin = {"Authorization": "Bearer adm1n"}
    who = "key:" + hashlib.sha256(b"adm1n").hexdigest()[:12]
    steps = [
        ("PUT", "/v1/placements/hero", TWO_MESSAGES, "put", "placements", "hero"),
        ("PUT", "/v1/experiments/exp", EXPERIMENT, "put", "experiments", "exp"),
        ("PUT", "/v1/segments/pro", SEGMENT, "put", "segments", "pro"),
        ("PUT", "/v1/holdouts/h", HOLDOUT, "put", "holdouts", "h"),
        ("PUT", "/v1/workspace", {}, "put", "workspace", "default"),
        ("POST", "/v1/experiments/exp/stop", None, "stop", "experiments", "exp"),
        ("POST", "/v1/experiments/exp/rollout", {"variation": "b"}, "rollout", "experiments",
         "exp"),
        ("DELETE", "/v1/holdouts/h", None, "delete", "holdouts", "h"),
        ("PUT", "/v1/placements/hero/state", {"segments": {"": {"hello": {"n": 3}}}},
         "import_state", "placements", "hero"),
        ("DELETE", "/v1/contacts/c-42", None, "erase_contact", None, None),
    ]  # fmt: skip
    for method, path, body, *_ in steps:
        response = api.request(method, path, json=body, headers=admin)
        assert response.status_code in (200, 201), (path, response.text)

    listed = api.get("/v1/audit?limit=50", headers=admin)
    assert listed.status_code == 200
    entries = listed.json()["entries"]
    assert [(e["action"], e.get("kind"), e.get("key")) for e in reversed(entries)] == [
        (action, kind, key) for *_, action, kind, key in steps
    ]
    assert {e["by"] for e in entries} == {who}
    assert all(isinstance(e["at"], float) and e["at"] > 1.7e9 for e in entries)
    newest_first = [e["id"] for e in entries]
    assert newest_first == sorted(newest_first, key=lambda i: tuple(map(int, i.split("-"))))[::-1]
    # Versions: a new object was at 0; each change moves the global config version by one.
    first, experiment = entries[-1], entries[-2]
    assert first["version_before"] == 0 and first["version_after"] == 1
    assert experiment["version_before"] == 0 and experiment["version_after"] == 2
    stop, rollout, delete = entries[-6], entries[-7], entries[-8]
    assert stop["version_before"] == 2 and stop["version_after"] == 6
    assert rollout["version_before"] == 6 and rollout["version_after"] == 7
    assert delete["version_before"] == 4 and delete["version_after"] == 8
    erasure = entries[0]
    assert "c-42" not in str(erasure) and len(erasure["contact"]) == 16
    assert len(api.get("/v1/audit?limit=2", headers=admin).json()["entries"]) == 2


def test_audit_needs_admin_and_a_sane_limit(make_client: MakeClient, store: Store) -> None:
    api = make_client(Settings(api_keys=parse_api_keys("adm1n:admin;reader:read")))
    assert api.get("/v1/audit").status_code == 401
    assert api.get("/v1/audit", headers={"Authorization": "Bearer reader"}).status_code == 403
    admin = {"Authorization": "Bearer adm1n"}
    for bad in ("0", "1001", "x", "-1"):
        response = api.get(f"/v1/audit?limit={bad}", headers=admin)
        assert response.status_code == 422 and response.json()["error"]["details"][0]["field"] == (
            "limit"
        )


def test_a_refused_change_leaves_no_audit_entry(api, store: Store) -> None:
    assert api.put("/v1/placements/hero", json=WEB_RULE).status_code == 201
    stale = api.put("/v1/placements/hero", json=WEB_RULE, headers={"If-Match": '"99"'})
    assert stale.status_code == 412
    assert api.put("/v1/placements/bad", json={"channels": "nope"}).status_code == 422
    assert api.delete("/v1/placements/missing").status_code == 404
    entries = api.get("/v1/audit").json()["entries"]
    assert [(e["action"], e["key"], e["by"]) for e in entries] == [("put", "hero", "anonymous")]
    stream = store.client().xlen(keys.AUDIT_LOG)
    assert stream == 1
