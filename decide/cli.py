"""The `decide` command: serve, apply configuration, export it."""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from decide.config.files import KINDS, demo_config_path, read_config_file
from decide.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="decide", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host", default=os.environ.get("DECIDE_HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("DECIDE_PORT", "8080")))
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--demo", action="store_true", help="load the demo placements first")
    serve.add_argument("--log-level", default="info")

    apply = commands.add_parser("apply", help="apply a YAML/JSON config file through the API")
    apply.add_argument("-f", "--file", required=True, type=Path)
    _client_arguments(apply)

    config = commands.add_parser("config", help="configuration")
    config_commands = config.add_subparsers(dest="config_command", required=True)
    export = config_commands.add_parser("export", help="print the configuration as YAML")
    _client_arguments(export)

    args = parser.parse_args(argv)
    if args.command == "serve":
        return serve_command(args)
    if args.command == "apply":
        return apply_command(args)
    return export_command(args)


def _client_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", default=os.environ.get("DECIDE_URL", "http://127.0.0.1:8080"))
    parser.add_argument("--key", default=os.environ.get("DECIDE_API_KEY"), help="admin API key")


def serve_command(args: argparse.Namespace) -> int:
    import uvicorn

    from decide.store.embedded import EmbeddedServer

    settings = Settings.from_env()
    if not _loopback(args.host) and not settings.api_keys.enabled:
        print(
            f"decide: refusing to listen on {args.host} without API keys; set DECIDE_API_KEYS "
            "(e.g. 'secret:admin') or listen on 127.0.0.1",
            file=sys.stderr,
        )
        return 2
    if not settings.api_keys.enabled:
        print(
            "decide: no API keys set (DECIDE_API_KEYS): listening on 127.0.0.1 only, "
            "and every caller may do everything",
            file=sys.stderr,
        )

    embedded = None
    if settings.redis_url is None:
        embedded = EmbeddedServer(settings.data_dir)
        embedded.start()
        os.environ["REDIS_URL"] = embedded.url  # the workers read it
        print(
            f"decide: embedded valkey-server on {embedded.socket_path} "
            f"(data in {embedded.data_dir}, appendfsync always)",
            file=sys.stderr,
        )
    try:
        if args.demo:
            asyncio.run(_load_demo(Settings.from_env()))
            _print_try_it(args.host, args.port)
        uvicorn.run(
            "decide.app:app_from_env",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_level=args.log_level,
            access_log=False,
        )
    finally:
        if embedded is not None:
            embedded.stop()
    return 0


async def _load_demo(settings: Settings) -> None:
    from decide.routes.config import store_document
    from decide.runtime import Runtime

    assert settings.redis_url is not None
    runtime = Runtime(settings, settings.redis_url)
    try:
        await runtime.refresh()
        for kind, key, doc in read_config_file(demo_config_path()):
            await store_document(runtime, kind, key, doc)
        print(f"decide: demo configuration loaded from {demo_config_path()}", file=sys.stderr)
    finally:
        await runtime.client.aclose()


def _print_try_it(host: str, port: int) -> None:
    base = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    decide_body = json.dumps(
        {"contact_id": "c-1842", "placement": "homepage_hero",
         "attributes": {"first_name": "Maryam", "locale": "fa-IR", "timezone": "Asia/Tehran"}},
        ensure_ascii=False,
    )  # fmt: skip
    events_body = json.dumps(
        {"events": [{"event_id": "e-1", "type": "impression", "contact_id": "c-1842",
                     "decision_id": "<decision_id from the answer above>"}]}
    )  # fmt: skip
    print(
        f"""
decide is starting on {base}. Try:

  curl -s {base}/v1/decide -H 'content-type: application/json' -d '{decide_body}'

  curl -s {base}/v1/events -H 'content-type: application/json' -d '{events_body}'
""",
        file=sys.stderr,
    )


def apply_command(args: argparse.Namespace) -> int:
    try:
        items = read_config_file(args.file)
    except (OSError, ValueError) as error:
        print(f"decide apply: {error}", file=sys.stderr)
        return 2
    failed = 0
    for kind, key, doc in items:
        status, body = _call(args, "PUT", f"/v1/{kind}/{key}", doc)
        if status in (200, 201):
            print(
                f"{kind[:-1]} {key}: {'created' if status == 201 else 'updated'} "
                f"(version {body.get('version')})"
            )
        else:
            failed += 1
            problem = body.get("error", {})
            print(f"{kind[:-1]} {key}: {status} {problem.get('message', body)}", file=sys.stderr)
            for detail in problem.get("details", []):
                print(f"  {detail.get('field')}: {detail.get('reason')}", file=sys.stderr)
    return 1 if failed else 0


def export_command(args: argparse.Namespace) -> int:
    import yaml

    out: dict[str, Any] = {}
    for kind in KINDS:
        status, body = _call(args, "GET", f"/v1/{kind}")
        if status != 200:
            print(f"decide config export: {status} {body}", file=sys.stderr)
            return 1
        out[kind] = {
            item.pop("key"): {k: v for k, v in item.items() if k != "version"}
            for item in body[kind]
        }
    print(yaml.safe_dump(out, allow_unicode=True, sort_keys=False), end="")
    return 0


def _call(args: argparse.Namespace, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(args.url.rstrip("/") + path, data=data, method=method)
    request.add_header("content-type", "application/json")
    if args.key:
        request.add_header("authorization", f"Bearer {args.key}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")
    except urllib.error.URLError as error:
        return 0, {"error": {"message": f"cannot reach {args.url}: {error.reason}"}}


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


if __name__ == "__main__":
    raise SystemExit(main())
