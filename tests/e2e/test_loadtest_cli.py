"""`decide loadtest`: the locust scenarios run headless against a real server and report."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from decide.cli import main
from tests.processes import Served, free_port


@pytest.mark.slow
def test_mixed_scenario_drives_every_endpoint_and_reports_no_failures(tmp_path: Path) -> None:
    # A generous Redis timeout: a loaded CI box must not turn slow reads into 503s here; what
    # is tested is that every scenario's requests are well-formed and answered.
    server = Served(tmp_path / "data", "--demo", env={"DECIDE_REDIS_TIMEOUT_MS": "2000"})
    try:
        server.wait_ready()
        run = subprocess.run(
            [sys.executable, "-m", "decide", "loadtest", "mixed", "--users", "3",
             "--duration", "4s", "--batch-size", "50", "--url", server.url],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        stats = httpx.get(server.url + "/v1/placements/homepage_hero/stats").json()
        batch_stats = httpx.get(server.url + "/v1/placements/cart_reminder/stats").json()
    finally:
        server.stop()
    assert run.returncode == 0, run.stdout + run.stderr
    lines = {line.split()[1]: line.split() for line in run.stdout.splitlines()
             if line.startswith(("POST", "GET"))}  # fmt: skip
    for path in ("/v1/decide", "/v1/decide/batch", "/v1/events"):
        assert path in lines, run.stdout
        assert int(lines[path][-5]) > 0 and lines[path][-4] == "0", run.stdout  # count, fails
    assert any(path.startswith("/v1/experiments/hero_copy/r") for path in lines), run.stdout
    assert "all" in run.stdout and "req/s" in run.stdout
    # The load really reached the store: both placements counted decisions.
    assert sum(_decided(stats).values()) > 0, stats
    assert sum(_decided(batch_stats).values()) >= 50, batch_stats


def _decided(stats: dict) -> dict[str, int]:  # type: ignore[type-arg]
    return {arm["arm"]: arm.get("decided", 0) for segment in stats["segments"]
            for arm in segment["arms"]}  # fmt: skip


def test_a_server_without_the_demo_configuration_is_refused_before_any_load(
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens: no placement can be found
    assert main(["loadtest", "website", "--users", "1", "--duration", "1s", "--url", url]) == 2
    assert "decide apply -f decide/demo/demo.yaml" in capsys.readouterr().err


@pytest.mark.parametrize("duration", ["0s", "2d", "90m", "soon"])
def test_an_unbounded_or_unreadable_duration_is_refused(
    duration: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["loadtest", "website", "--duration", duration, "--url", "http://x"]) == 2
    assert "--duration" in capsys.readouterr().err
