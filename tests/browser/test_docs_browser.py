"""/docs in headless Chromium: it renders offline, with nothing fetched from anywhere else."""

from __future__ import annotations

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
