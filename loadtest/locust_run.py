"""`decide loadtest SCENARIO`: one locust scenario (loadtest/locustfile.py), headless and
bounded, against --url or a demo server started here on 127.0.0.1; prints a summary.

Locust runs in its own process: it monkey-patches the standard library with gevent, which
must not leak into the command (or into a test process that runs it).
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from loadtest.load import free_port

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
SCENARIOS = {
    "website": ["WebsiteVisitor"],
    "campaign": ["CampaignEngine"],
    "analyst": ["Analyst"],
    "mixed": ["WebsiteVisitor", "CampaignEngine", "Analyst"],
}
# What each scenario needs from the server: the demo configuration's placements.
NEEDED = ("/v1/placements/homepage_hero", "/v1/placements/cart_reminder",
          "/v1/experiments/hero_copy")  # fmt: skip
MAX_SECONDS = 3600


def seconds(duration: str) -> int:
    """'60s', '2m', '1h' or '45' → seconds; at most an hour, so a run is always bounded."""
    match = re.fullmatch(r"(\d+)([smh]?)", duration.strip())
    if not match:
        raise ValueError(f"--duration {duration!r}: expected e.g. 60s, 2m or 1h")
    value = int(match[1]) * {"": 1, "s": 1, "m": 60, "h": 3600}[match[2]]
    if not 1 <= value <= MAX_SECONDS:
        raise ValueError(f"--duration {duration!r}: must be between 1 s and 1 h")
    return value


def run(
    scenario: str, users: int, duration: str, url: str | None, key: str | None = None,
    batch_size: int = 1000, max_iterations: int = 10_000,
) -> int:  # fmt: skip
    run_s = seconds(duration)
    if not (3 if scenario == "mixed" else 1) <= users <= 1000:
        raise ValueError("--users must be between 1 (3 for mixed) and 1,000")
    if not 1 <= batch_size <= 10_000:
        raise ValueError("--batch-size must be between 1 and 10,000")
    with target_server(url) as base:
        missing = [path for path in NEEDED if _status(base + path, key) != 200]
        if missing:
            demo = "decide apply -f decide/demo/demo.yaml"
            print(f"decide loadtest: {base} lacks {', '.join(missing)}; load the demo "
                  f"configuration ({demo})", file=sys.stderr)  # fmt: skip
            return 2
        with tempfile.TemporaryDirectory(prefix="decide-locust-") as out:
            prefix = str(Path(out) / "run")
            command = [
                sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
                "--only-summary", "--users", str(users), "--spawn-rate", str(users),
                "--run-time", f"{run_s}s", "--stop-timeout", "10", "--host", base,
                "--csv", prefix, "--loglevel", "WARNING",
                "--batch-size", str(batch_size), "--max-iterations", str(max_iterations),
                *(["--mixed"] if scenario == "mixed" else []), *SCENARIOS[scenario],
            ]  # fmt: skip
            env = os.environ | ({"DECIDE_API_KEY": key} if key else {})
            started = time.monotonic()
            locust = subprocess.run(command, env=env, capture_output=True, text=True,
                                    timeout=run_s + 120, check=False)  # fmt: skip
            elapsed = time.monotonic() - started
            stats = Path(prefix + "_stats.csv")
            if not stats.exists():
                print(locust.stdout[-3000:], locust.stderr[-3000:], sep="\n", file=sys.stderr)
                print(f"decide loadtest: locust failed (exit {locust.returncode})",
                      file=sys.stderr)  # fmt: skip
                return 1
            rows = list(csv.DictReader(stats.open(encoding="utf-8")))
            failed = Path(prefix + "_failures.csv")
            errors = list(csv.DictReader(failed.open(encoding="utf-8"))) if failed.exists() else []
    print_summary(scenario, users, base, elapsed, rows)
    for error in errors[:5]:
        print(f"  failed {error['Occurrences']}x {error['Method']} {error['Name']}: "
              f"{error['Error'][:300]}")  # fmt: skip
    failures = sum(int(row["Failure Count"]) for row in rows if row["Name"] == "Aggregated")
    if locust.returncode not in (0, 1):  # 1: locust saw failures, reported above
        print(locust.stderr[-3000:], file=sys.stderr)
        return locust.returncode
    return 1 if failures else 0


def print_summary(
    scenario: str, users: int, base: str, elapsed: float, rows: list[dict[str, str]]
) -> None:
    print(f"\n{scenario}: {users} users against {base} for {elapsed:.0f} s "
          f"({os.cpu_count()} cores; the server and locust share them)")  # fmt: skip
    print(f"{'request':<32}{'count':>9}{'fails':>7}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}")
    for row in rows:
        name = row["Name"] if row["Name"] != "Aggregated" else "all"
        if name == "all":
            print("-" * 75)
        print(f"{(row['Type'] + ' ' + name).strip()[:31]:<32}{row['Request Count']:>9}"
              f"{row['Failure Count']:>7}{float(row['Requests/s']):>9.1f}"
              f"{row['50%']:>9}{row['99%']:>9}")  # fmt: skip


def _status(url: str, key: str | None) -> int:
    request = urllib.request.Request(url)
    if key:
        request.add_header("authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code
    except urllib.error.URLError:
        return 0


@contextmanager
def target_server(url: str | None) -> Iterator[str]:
    """The --url given, or `decide serve --demo` on 127.0.0.1 with a throwaway data dir."""
    if url is not None:
        yield url.rstrip("/")
        return
    port = free_port()
    data = tempfile.mkdtemp(prefix="decide-loadtest-")
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"} | {"DECIDE_DATA_DIR": data}
    command = [sys.executable, "-m", "decide", "serve", "--demo", "--host", "127.0.0.1",
               "--port", str(port), "--log-level", "warning"]  # fmt: skip
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while _status(base + "/readyz", None) != 200:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the demo server did not become ready")
            time.sleep(0.2)
        print(f"decide loadtest: demo server on {base}", file=sys.stderr)
        yield base
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(data, ignore_errors=True)
