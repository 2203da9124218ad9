"""The /docs page: the OpenAPI document as one self-contained HTML page (no script, no CDN)."""

from __future__ import annotations

import json
from html import escape
from typing import Any

METHODS = ("get", "put", "patch", "post", "delete")
STYLE = """
body { font: 14px/1.5 system-ui, sans-serif; margin: 2rem auto; max-width: 72rem;
       padding: 0 1rem; color: #1f2328; }
nav ul { columns: 2; padding-inline-start: 1rem; }
section { border-top: 1px solid #d0d7de; padding: .5rem 0 1rem; }
h2 { font-size: 1.05rem; margin: .6rem 0; }
code, pre { font: 12.5px/1.45 ui-monospace, monospace; }
pre { background: #f6f8fa; padding: .6rem .8rem; border-radius: 6px; overflow-x: auto;
      max-height: 24rem; white-space: pre-wrap; overflow-wrap: anywhere; text-align: start; }
.method { display: inline-block; min-width: 4.2rem; padding: .05rem .4rem; border-radius: 4px;
          color: #fff; font: 600 12px ui-monospace, monospace; text-align: center; }
.get { background: #1f6feb; } .post { background: #1a7f37; } .put { background: #9a6700; }
.patch { background: #8250df; } .delete { background: #d1242f; }
.scope { display: inline-block; padding: 0 .5rem; border-radius: 1rem; background: #ddf4ff; }
table { border-collapse: collapse; margin: .3rem 0; }
th, td { border-bottom: 1px solid #d0d7de; padding: .2rem .6rem; text-align: start; }
details summary { cursor: pointer; color: #57606a; }
h3 { font-size: .9rem; margin: .8rem 0 .2rem; }
"""


def docs_page(document: dict[str, Any], base_url: str = "http://127.0.0.1:8080") -> str:
    operations = [
        (path, method, item[method], item.get("parameters", []))
        for path, item in document["paths"].items()
        for method in METHODS
        if method in item
    ]
    info = document["info"]
    toc = "".join(
        f'<li><a href="#{_anchor(m, p)}"><code>{m.upper()} {escape(p)}</code></a></li>'
        for p, m, _, _ in operations
    )
    body = "".join(_operation(document, base_url.rstrip("/"), *op) for op in operations)
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'  # no /favicon.ico request, no 404
        f"<title>{escape(info['title'])} API</title><style>{STYLE}</style></head><body>"
        f"<h1>{escape(info['title'])} API</h1><p>{escape(info.get('description', ''))} "
        'The machine-readable document is <a href="/openapi.json">/openapi.json</a> '
        f"(OpenAPI {escape(document['openapi'])}). Send keys as "
        "<code>Authorization: Bearer &lt;key&gt;</code>; the scope each route needs is shown "
        "beside it.</p>"
        f"<nav><ul>{toc}</ul></nav>{body}</body></html>\n"
    )


def _anchor(method: str, path: str) -> str:
    slug = "".join(c if c.isalnum() else "-" for c in path).strip("-")
    return f"{method}-{slug}"


def _operation(
    document: dict[str, Any],
    base_url: str,
    path: str,
    method: str,
    op: dict[str, Any],
    shared: list[Any],
) -> str:
    scope = op.get("x-scope")
    parts = [
        f'<section id="{_anchor(method, path)}"><h2><span class="method {method}">'
        f"{method.upper()}</span> <code>{escape(path)}</code> "
        f'<span class="scope">{escape(scope) if scope else "no key"}</span></h2>'
        f"<p>{escape(op.get('summary', ''))}</p>"
    ]
    parameters = [*shared, *op.get("parameters", [])]
    if parameters:
        rows = "".join(
            f"<tr><td><code>{escape(p['name'])}</code></td><td>{escape(p['in'])}</td>"
            f"<td>{'required' if p.get('required') else 'optional'}</td>"
            f"<td><code>{escape(_compact(p.get('schema', {})))}</code></td>"
            f"<td>{escape(p.get('description', ''))}</td></tr>"
            for p in parameters
        )
        parts.append(f"<h3>Parameters</h3><table>{rows}</table>")
    body = op.get("requestBody", {}).get("content", {}).get("application/json")
    if body is not None:
        parts.append(
            "<h3>Request body</h3><details><summary>schema</summary>"
            f"{_pre(_resolved(document, body.get('schema', {})))}</details>"
        )
    statuses = ", ".join(escape(s) for s in op.get("responses", {}))
    parts.append(f"<h3>Responses</h3><p>{statuses}</p>")
    url = op.get("x-example-url")
    if url is not None:
        example = body.get("example") if body is not None else None
        command = escape(_curl(base_url, method, url, scope, example))
        parts.append(f'<h3>Example</h3><pre class="command">{command}</pre>')
        for status, response in op["responses"].items():
            for media, content in response.get("content", {}).items():
                if "example" in content:
                    parts.append(f"<p>→ {escape(status)} <code>{escape(media)}</code></p>")
                    parts.append(_pre(content["example"]))
    parts.append("</section>")
    return "".join(parts)


def _curl(base_url: str, method: str, url: str, scope: str | None, body: Any) -> str:
    """The example as a command to paste (the key from $DECIDE_KEY, when the route needs one)."""
    implied = method == "get" or (method == "post" and body is not None)
    verb = "" if implied else f" -X {method.upper()}"
    words = [f"curl -s{verb} '{base_url}{url}'"]
    if scope is not None:
        words.append('-H "Authorization: Bearer $DECIDE_KEY"')
    if body is not None:
        text = json.dumps(body, ensure_ascii=False, indent=2).replace("'", "'\\''")
        words.append(f"-H 'content-type: application/json' -d '{text}'")
    return " \\\n  ".join(words)


def _resolved(document: dict[str, Any], schema: Any, depth: int = 0) -> Any:
    """The schema with its $refs replaced by what they name, so a reader sees the fields."""
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/") and depth < 4:
            named = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
            return _resolved(document, named, depth + 1)
        return {k: _resolved(document, v, depth) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_resolved(document, v, depth) for v in schema]
    return schema


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def _pre(value: Any) -> str:
    """A JSON (or text) block; dir="auto" so Persian or Hebrew content reads right to left."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, indent=2)
    return f'<pre dir="auto">{escape(text)}</pre>'
