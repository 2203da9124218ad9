"""Steer some generated requests towards the demo configuration, so the fuzzer gets past
"not found" into validation, rendering and the store: existing keys in paths, existing
placements in decide bodies, and demo documents with one field replaced by arbitrary JSON.
"""

from __future__ import annotations

from typing import Any

import hypothesis.strategies as st
from schemathesis import HookContext
from schemathesis.schemas import BaseSchema

from decide.config.files import demo_config_path, read_config_file

DEMO: dict[str, dict[str, dict[str, Any]]] = {}
for _kind, _key, _doc in read_config_file(demo_config_path()):
    DEMO.setdefault(_kind, {})[_key] = _doc
KEYS = sorted(key for docs in DEMO.values() for key in docs)
PLACEMENTS = sorted(DEMO["placements"])

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=10,
)


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(doc, dict):
        for name, value in doc.items():
            found += _paths(value, (*prefix, name))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            found += _paths(value, (*prefix, index))
    return found


def _replace(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(doc, dict):
        return {**doc, head: _replace(doc[head], rest, value)}
    return [_replace(item, rest, value) if i == head else item for i, item in enumerate(doc)]


def mutated(doc: dict[str, Any]) -> st.SearchStrategy[Any]:
    """The document with one field (anywhere in it) replaced by arbitrary JSON."""
    paths = _paths(doc)
    return st.builds(_replace, st.just(doc), st.sampled_from(paths), JSON_VALUES)


def _documents(kind: str) -> st.SearchStrategy[Any]:
    docs = list(DEMO.get(kind, {}).values())
    return st.sampled_from(docs) | st.sampled_from(docs).flatmap(mutated)


def _aimed(body: dict[str, Any], placement: str) -> dict[str, Any]:
    """The decide body aimed at a demo placement, with the context fields it requires."""
    declared = DEMO["placements"][placement].get("context_fields", [])
    context = body.get("context", {})
    if isinstance(context, dict):
        context = {**context, **{name: "https://example.com/x" for name in declared}}
    return {**body, "placement": placement, "context": context}


def install(schema: BaseSchema) -> None:
    @schema.hook
    def flatmap_path_parameters(ctx: HookContext, params: dict[str, Any]) -> Any:
        if not isinstance(params, dict) or "key" not in params:
            return st.just(params)
        return st.just(params) | st.sampled_from(KEYS).map(lambda key: {**params, "key": key})

    @schema.hook
    def flatmap_body(ctx: HookContext, body: Any) -> Any:
        assert ctx.operation is not None
        path, method = ctx.operation.path, ctx.operation.method.lower()
        if path in ("/v1/decide", "/v1/decide/batch") and isinstance(body, dict):
            return st.sampled_from(PLACEMENTS).map(lambda key: _aimed(body, key)) | st.just(body)
        for kind in ("placements", "experiments"):
            if method == "put" and path == f"/v1/{kind}/{{key}}":
                return st.just(body) | _documents(kind)
        return st.just(body)
