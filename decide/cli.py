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

from decide.config.files import KINDS, WORKSPACE, demo_config_path, read_config_file
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
    apply.add_argument(
        "--dry-run",
        action="store_true",
        help="print a diff against the live configuration and change nothing; exit 0 when "
        "nothing would change, 1 when something would, 2 on an error (as `kubectl diff`)",
    )
    _client_arguments(apply)

    config = commands.add_parser("config", help="configuration")
    config_commands = config.add_subparsers(dest="config_command", required=True)
    export = config_commands.add_parser("export", help="print the configuration as YAML")
    _client_arguments(export)

    results = commands.add_parser("results", help="an experiment's results as a table")
    results.add_argument("experiment")
    _client_arguments(results)

    state = commands.add_parser("state", help="save or restore a placement's learned state")
    state_commands = state.add_subparsers(dest="state_command", required=True)
    state_export = state_commands.add_parser("export", help="print the state as JSON")
    state_export.add_argument("placement")
    _client_arguments(state_export)
    state_import = state_commands.add_parser("import", help="replace the state from a JSON file")
    state_import.add_argument("placement")
    state_import.add_argument("-f", "--file", required=True, type=Path)
    _client_arguments(state_import)

    evaluate = commands.add_parser("evaluate", help="off-policy evaluation of a candidate policy")
    evaluate.add_argument("placement")
    evaluate.add_argument("--policy", required=True, help='JSON, e.g. \'{"rule": "b"}\'')
    _client_arguments(evaluate)

    commands.add_parser(
        "simulate",
        help="simulations: bandit regret (default), or `simulate send-time|channels` for "
        "per-contact send-time and channel learning",
        add_help=False,
    )

    migrate = commands.add_parser(
        "migrate",
        help="fold contacts stored by an older version into the current layout (idempotent; "
        "`serve` does it once per store by itself)",
    )
    migrate.add_argument(
        "--force", action="store_true", help="scan again even if this store was migrated"
    )

    loadtest = commands.add_parser(
        "loadtest", help="a locust scenario, headless and bounded; prints a summary"
    )
    loadtest.add_argument("scenario", choices=("website", "campaign", "analyst", "mixed"))
    loadtest.add_argument("--users", type=int, default=10)
    loadtest.add_argument("--duration", default="60s", help="e.g. 60s, 2m (at most 1h)")
    loadtest.add_argument("--batch-size", type=int, default=1000, help="campaign: contacts")
    loadtest.add_argument("--max-iterations", type=int, default=10_000, help="tasks per user")
    loadtest.add_argument(
        "--url", default=None, help="a server with the demo config; default: start one here"
    )
    loadtest.add_argument("--key", default=os.environ.get("DECIDE_API_KEY"), help="API key")

    args, rest = parser.parse_known_args(argv)
    if args.command == "simulate":
        if rest and rest[0] in ("send-time", "channels"):
            from loadtest.engagement_sims import main as engagement

            return engagement(rest)
        from loadtest.bandit_sims import main as simulate

        return simulate(rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    handlers = {
        "serve": serve_command, "apply": apply_command, "config": export_command,
        "results": results_command, "state": state_command, "evaluate": evaluate_command,
        "loadtest": loadtest_command, "migrate": migrate_command,
    }  # fmt: skip
    return handlers[args.command](args)


def _client_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", default=os.environ.get("DECIDE_URL", "http://127.0.0.1:8080"))
    parser.add_argument("--key", default=os.environ.get("DECIDE_API_KEY"), help="admin API key")


APP_FACTORY = "decide.app:app_from_env"


def serve_command(args: argparse.Namespace) -> int:
    import uvicorn

    from decide import supervisor
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
        url = settings.redis_url or (embedded.url if embedded is not None else "")
        done = asyncio.run(_migrate(url, force=False))
        if done["contacts"]:
            print(f"decide: {done['contacts']} contacts moved to the one-hash layout",
                  file=sys.stderr)  # fmt: skip
        if args.demo:
            asyncio.run(_load_demo(Settings.from_env()))
            _print_try_it(args.host, args.port)
        if args.workers > 1:  # after the demo load: only the workers write metric files
            _metrics_dir(settings.data_dir)
        options: dict[str, Any] = {
            "factory": True, "host": args.host, "port": args.port, "workers": args.workers,
            "log_level": args.log_level,
            "access_log": False,  # decide.request_log writes one line per request instead
        }  # fmt: skip
        if args.workers > 1 and supervisor.balances_connections():  # a socket per worker
            return supervisor.serve(uvicorn.Config(APP_FACTORY, **options))
        uvicorn.run(APP_FACTORY, **options)
    finally:
        if embedded is not None:
            embedded.stop()
    return 0


async def _migrate(url: str, *, force: bool) -> dict[str, int]:
    from decide.runtime import connect
    from decide.store.migrate_contacts import migrate

    client = connect(url, 30.0)
    try:
        return await migrate(client, 30 * 86_400.0, force=force)
    finally:
        await client.aclose()


def migrate_command(args: argparse.Namespace) -> int:
    """Contacts an older version stored in six keys each, folded into one hash each."""
    from decide.store.embedded import EmbeddedServer

    settings = Settings.from_env()
    embedded = None
    if settings.redis_url is None:
        embedded = EmbeddedServer(settings.data_dir)
        embedded.start()
    url = settings.redis_url or (embedded.url if embedded is not None else "")
    try:
        done = asyncio.run(_migrate(url, force=args.force))
    finally:
        if embedded is not None:
            embedded.stop()
    if done["skipped"]:
        print("decide: this store was already migrated (use --force to scan again)")
    else:
        print(f"decide: {done['contacts']} contacts moved to the one-hash layout")
    return 0


def _metrics_dir(data_dir: Path) -> None:
    """prometheus-client's multiprocess mode: each worker writes its values to files here and
    /metrics sums them. Its files are removed at start: a previous run's are not counted."""
    folder = Path(os.environ.get("PROMETHEUS_MULTIPROC_DIR") or data_dir / "metrics")
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)  # the workers read it at import


async def _load_demo(settings: Settings) -> None:
    from decide.routes.config import store_document
    from decide.runtime import Runtime

    assert settings.redis_url is not None
    runtime = Runtime(settings, settings.redis_url)
    try:
        await runtime.refresh()
        for kind, key, doc in read_config_file(demo_config_path()):
            await store_document(runtime, kind, key, doc, by="demo")
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
    if args.dry_run:
        return dry_run(args, items)
    failed = 0
    for kind, key, doc in items:
        path, label = (
            ("/v1/workspace", "workspace")
            if kind == WORKSPACE
            else (f"/v1/{kind}/{key}", f"{kind[:-1]} {key}")
        )
        status, body = _call(args, "PUT", path, doc)
        if status in (200, 201):
            print(
                f"{label}: {'created' if status == 201 else 'updated'} "
                f"(version {body.get('version')})"
            )
        else:
            failed += 1
            problem = body.get("error", {})
            print(f"{label}: {status} {problem.get('message', body)}", file=sys.stderr)
            for detail in problem.get("details", []):
                print(f"  {detail.get('field')}: {detail.get('reason')}", file=sys.stderr)
    return 1 if failed else 0


def _label(kind: str, key: str) -> str:
    return "workspace" if kind == WORKSPACE else f"{kind[:-1]} {key}"


def dry_run(args: argparse.Namespace, items: list[tuple[str, str, Any]]) -> int:
    """Diff each document against what is live; 0 = no change, 1 = changes, 2 = error."""
    from decide.config_diff import compare, normalised
    from decide.errors import ApiError

    changes: dict[str, int] = {"created": 0, "updated": 0, "unchanged": 0}
    for kind, key, doc in items:
        label = _label(kind, key)
        status, live = _call(
            args, "GET", "/v1/workspace" if kind == WORKSPACE else f"/v1/{kind}/{key}"
        )
        if status == 404 or (kind == WORKSPACE and status == 200 and not live.get("version")):
            live = None
        elif status != 200:
            _failed(f"apply --dry-run: {label}", status, live)
            return 2
        try:
            new = normalised(kind, key, doc, live)
        except ApiError as error:
            print(f"{label}: {error.message}", file=sys.stderr)
            for problem in error.details:
                print(f"  {problem.field}: {problem.reason}", file=sys.stderr)
            return 2
        found = compare(label, live, new)
        print(found.diff, end="")
        print(
            f"{label}: {'unchanged' if found.change == 'unchanged' else 'would be ' + found.change}"
        )
        changes[found.change] += 1
    in_file = {(kind, key) for kind, key, _ in items}
    for kind in KINDS:
        status, body = _call(args, "GET", f"/v1/{kind}")
        if status != 200:
            _failed("apply --dry-run", status, body)
            return 2
        for item in body[kind]:
            if (kind, item["key"]) not in in_file:
                print(f"{_label(kind, item['key'])}: live, not in the file (apply does not delete)")
    print(f"dry run: {changes['created']} to create, {changes['updated']} to update, "
          f"{changes['unchanged']} unchanged; nothing was changed")  # fmt: skip
    return 1 if changes["created"] or changes["updated"] else 0


def export_command(args: argparse.Namespace) -> int:
    import yaml

    out: dict[str, Any] = {}
    status, body = _call(args, "GET", "/v1/workspace")
    if status == 200 and body.get("version"):  # version 0: none stored, defaults apply
        out[WORKSPACE] = {k: v for k, v in body.items() if k not in ("key", "version")}
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


def results_command(args: argparse.Namespace) -> int:
    from decide.report_html import percent

    status, body = _call(args, "GET", f"/v1/experiments/{args.experiment}/results")
    if status != 200:
        return _failed("results", status, body)
    print(f"experiment {body['experiment']} · {body['status']} · phase {body['phase']}")
    analysis = body.get("analysis")
    if not analysis:
        print("no exposures yet")
        return 0
    srm = analysis["srm"]
    print(f"sample ratio p = {srm['p_value']:.4g}{'  MISMATCH' if srm['mismatch'] else ''}")
    rows = [["metric", "variation", "users", "mean", "lift", "95% CI", "p", "p seq", "P(beat)"]]
    for metric in analysis["metrics"]:
        control = metric["control"]
        rows.append([metric["metric"], control["variation"], str(control["users"]),
                     _num(control["mean"]), "", "", "", "", ""])  # fmt: skip
        for v in metric["variations"]:
            rel, absolute = v["relative"], v["absolute"]
            ci = f"[{percent(rel['fixed']['ci_lower'])}, {percent(rel['fixed']['ci_upper'])}]"
            rows.append(["", v["variation"], str(v["users"]), _num(v["mean"]),
                         percent(rel["estimate"]), ci, _num(absolute["fixed"]["p_value"], 2),
                         _num(absolute["sequential"]["p_value"], 2),
                         _probability(absolute["bayesian"]["chance_to_beat_control"])])  # fmt: skip
    print(_table(rows, left=2))
    winner = body.get("winner")
    if winner:
        print(f"winner rule: {winner['state']} — {winner['reason']}")
    return 0


def _num(value: Any, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}g}"


def _probability(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _table(rows: list[list[str]], left: int) -> str:
    """Columns as wide as their widest cell: the first `left` flush left, the rest right."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [
            cell.ljust(width) if i < left else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def state_command(args: argparse.Namespace) -> int:
    path = f"/v1/placements/{args.placement}/state"
    if args.state_command == "export":
        status, body = _call(args, "GET", path)
        if status != 200:
            return _failed("state export", status, body)
        print(json.dumps(body, indent=1, ensure_ascii=False))
        return 0
    status, body = _call(args, "PUT", path, json.loads(args.file.read_text(encoding="utf-8")))
    if status != 200:
        return _failed("state import", status, body)
    print(f"placement {args.placement}: {body['imported']} counter groups imported")
    return 0


def evaluate_command(args: argparse.Namespace) -> int:
    try:
        policy = json.loads(args.policy)
    except json.JSONDecodeError as error:
        print(f"decide evaluate: --policy is not JSON: {error}", file=sys.stderr)
        return 2
    status, body = _call(args, "POST", f"/v1/placements/{args.placement}/evaluate",
                         {"policy": policy})  # fmt: skip
    if status != 200:
        return _failed("evaluate", status, body)
    print(f"{body['decisions']} exposed decisions; logged policy's reward per decision "
          f"{body['logged_policy_value']:.4g}")  # fmt: skip
    for name in ("ips", "snips", "doubly_robust"):
        low, high = body[name]["interval"]
        print(f"  {name:<14}{body[name]['estimate']:.4g}  95% CI [{low:.4g}, {high:.4g}]")
    return 0


def loadtest_command(args: argparse.Namespace) -> int:
    from loadtest.locust_run import run

    try:
        return run(args.scenario, args.users, args.duration, args.url, args.key,
                   args.batch_size, args.max_iterations)  # fmt: skip
    except ValueError as error:
        print(f"decide loadtest: {error}", file=sys.stderr)
        return 2


def _failed(what: str, status: int, body: Any) -> int:
    error = body.get("error", {}) if isinstance(body, dict) else {}
    print(f"decide {what}: {status} {error.get('message', body)}", file=sys.stderr)
    for detail in error.get("details", []):
        print(f"  {detail.get('field')}: {detail.get('reason')}", file=sys.stderr)
    return 1


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
