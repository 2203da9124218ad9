"""Headless Chromium (Debian's, driven by Playwright) against `decide serve --demo`.

Every page records its console errors and every request that left 127.0.0.1, so a test
can assert that a page works offline. Skipped, saying why, where Chromium is missing
(`.ci/run` installs it).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.processes import Served, serving

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Without the background-networking flags Chromium dials Google's hosts at start.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class PageLog:
    """What a page did besides rendering: console errors, uncaught errors, requests."""

    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def outside(self, host: str = "127.0.0.1") -> list[str]:
        return [u for u in self.requests if urlsplit(u).scheme in ("http", "https", "ws", "wss")
                and urlsplit(u).hostname != host]  # fmt: skip


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    # Module scope, not session: Playwright's sync API keeps an event loop running in this
    # thread while it is open, and every later test calling asyncio.run() would fail.
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: object) -> Iterator[tuple[object, PageLog]]:
    """A fresh page and its log: console errors, page errors, every request URL."""
    context = browser.new_context()  # type: ignore[attr-defined]
    opened = context.new_page()
    log = PageLog()
    opened.on("console", lambda m: log.console_errors.append(m.text) if m.type == "error" else None)
    opened.on("pageerror", lambda e: log.console_errors.append(str(e)))
    opened.on("request", lambda r: log.requests.append(r.url))
    yield opened, log
    context.close()


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`decide serve --demo` on a free port, with its own embedded Valkey."""
    data: Path = tmp_path_factory.mktemp("browser-demo")
    with serving(data, "--demo") as server:
        yield server
