"""/docs in headless Chromium: it renders offline, with nothing fetched from anywhere else."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from decide.openapi_examples import EXAMPLES
from tests.processes import Served

pytestmark = pytest.mark.slow


def test_docs_render_offline_without_errors(
    demo_server: Served, page: tuple[Any, Any], tmp_path: Path
) -> None:
    opened, log = page
    response = opened.goto(demo_server.url + "/docs")
    assert response.status == 200
    assert opened.locator("section").count() == len(EXAMPLES)
    assert opened.locator("nav a").count() == len(EXAMPLES)
    decide = opened.locator("#post-v1-decide")
    assert "Authorization" in opened.locator("body > p").first.text_content()
    assert "Maryam" in decide.text_content()  # the example answer, rendered
    opened.screenshot(path=str(tmp_path / "docs-top.png"))
    decide.screenshot(path=str(tmp_path / "docs-decide.png"))
    print("screenshots:", tmp_path)
    assert log.console_errors == []
    assert log.outside() == []
    assert all(url.startswith(demo_server.url) for url in log.requests), log.requests


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_curl_commands_on_docs_work(demo_server: Served, page: tuple[Any, Any]) -> None:
    """Pasted into a shell, a decide example from /docs gets a decision (quoting, Persian and
    the server's own address included)."""
    opened, _ = page
    opened.goto(demo_server.url + "/docs")
    for anchor, field in (("#post-v1-decide", "decision_id"), ("#get-healthz", "status")):
        command = opened.locator(f"{anchor} pre.command").text_content()
        assert command.startswith(f"curl -s '{demo_server.url}/"), command
        shell = {"DECIDE_KEY": "", "PATH": "/usr/bin:/bin"}
        done = subprocess.run(["bash", "-c", command], capture_output=True, text=True,
                              timeout=30, env=shell)  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert field in json.loads(done.stdout), done.stdout
