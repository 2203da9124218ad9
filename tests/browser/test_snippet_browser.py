"""decide.js in headless Chromium: a page that includes it shows the decision (Persian right to
left), its impression and click are counted, and the page keeps its fallback when decide fails.

The test page is served by Playwright at a URL on decide's own origin (`page.route`), so the
snippet's calls are same-origin, as when a site proxies decide under its own domain.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.processes import Served, free_port, serving

pytestmark = pytest.mark.slow
ADMIN = {"Authorization": "Bearer adm"}
SECRET = "backend-secret"
SNIPPET = Path(__file__).resolve().parents[2] / "decide" / "static" / "decide.js"
PAGE = """<!doctype html><html lang="fa"><head><meta charset="utf-8"><title>shop</title>
<style>body {{ font: 20px system-ui; margin: 2rem; }} .hero {{ padding: 1rem;
 background: #ddf4ff; margin: 1rem 0; }}</style></head><body>
<div id="hero" class="hero" data-decide-placement="homepage_hero"
     data-decide-field="headline">Welcome to our shop</div>
<p id="offer" data-decide-placement="homepage_hero" data-decide-field="html">
  <a href="/fallback">See our offers</a></p>
<script src="{src}" data-key="pub" data-contact="anon-123" {attrs}></script>
</body></html>"""


@pytest.fixture(scope="module")
def keyed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`decide serve --demo` with a public (browser) key and an admin key."""
    with serving(
        tmp_path_factory.mktemp("snippet"),
        "--demo",
        env={"DECIDE_API_KEYS": "pub:public;adm:admin", "DECIDE_CONTACT_TOKEN_SECRET": SECRET},
    ) as server:
        yield server


def _open(page: Any, origin: str, src: str, attrs: str = "") -> None:
    html = PAGE.format(src=src, attrs=attrs)
    kind = "text/html; charset=utf-8"
    page.route(
        f"{origin}/test-page.html", lambda route: route.fulfill(body=html, content_type=kind)
    )
    page.goto(f"{origin}/test-page.html")


def _events(server: Served, contact: str) -> list[dict[str, Any]]:
    response = httpx.get(server.url + "/v1/export/events", headers=ADMIN)
    rows = [orjson.loads(line) for line in response.text.splitlines() if line]
    return [row for row in rows if row["contact_id"] == contact]


def _wait_for_event(server: Served, contact: str, kind: str) -> dict[str, Any]:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        found = [e for e in _events(server, contact) if e["type"] == kind]
        if found:
            return found[0]
        time.sleep(0.1)
    raise AssertionError(f"no {kind} event for {contact}: {_events(server, contact)}")


def test_the_snippet_renders_the_decision_and_reports_impression_and_click(
    keyed_server: Served, page: tuple[Any, Any], tmp_path: Path
) -> None:
    opened, log = page
    # What the server decides for this visitor (decisions are sticky per contact).
    expected = httpx.post(keyed_server.url + "/v1/decide", headers={"Authorization": "Bearer pub"},
                          json={"placement": "homepage_hero", "contact_id": "anon-123",
                                "attributes": {"locale": "fa"}}).json()  # fmt: skip
    web = expected["message"]["content"]["web"]
    _open(opened, keyed_server.url, "/static/decide.js")
    opened.wait_for_function("document.getElementById('offer').lang === 'fa'", timeout=15_000)
    hero = opened.locator("#hero")
    assert hero.text_content() == web["headline"]
    assert hero.get_attribute("dir") == "rtl" and hero.get_attribute("lang") == "fa"
    assert opened.locator("#offer").inner_html() == web["html"]  # rendered as markup
    assert opened.evaluate("getComputedStyle(document.getElementById('hero')).direction") == "rtl"
    opened.screenshot(path=str(tmp_path / "snippet.png"))
    print("screenshot:", tmp_path / "snippet.png")

    impression = _wait_for_event(keyed_server, "anon-123", "impression")
    assert impression["decision"]["message"] == expected["message"]["key"]
    hero.click()  # reported with navigator.sendBeacon, the key in the body
    click = _wait_for_event(keyed_server, "anon-123", "click")
    assert click["decision"]["nonce"] == impression["decision"]["nonce"]

    stats = httpx.get(keyed_server.url + "/v1/placements/homepage_hero/stats", headers=ADMIN)
    (arm,) = [
        a for a in stats.json()["segments"][0]["arms"] if a["arm"] == expected["message"]["key"]
    ]
    assert arm["trials"] == 1 and arm["rewards"] == 1  # one impression, one click: once each
    assert log.console_errors == [] and log.outside() == []


def test_render_passes_the_contact_token_so_the_stored_profile_is_used(
    keyed_server: Served, page: tuple[Any, Any]
) -> None:
    """decide.render() from script: with the token the customer's backend signed, the page
    greets the known contact by the name stored in decide; without it, it does not."""
    from decide.auth import contact_token

    profile = {"attributes": {"first_name": "Maryam"}}
    assert httpx.put(keyed_server.url + "/v1/contacts/c-7", json=profile, headers=ADMIN).is_success
    opened, log = page
    _open(opened, keyed_server.url, "/static/decide.js", 'data-auto="false"')
    opened.wait_for_function("window.decide !== undefined")
    show = """([token]) => decide.render({placement: 'homepage_hero', contactId: 'c-7',
        element: document.getElementById('hero'), field: 'headline', contactToken: token,
        attributes: {locale: 'en'}}).then((d) => d && d.message.content.web.headline)"""
    assert "Maryam" not in opened.evaluate(show, [None])
    shown = opened.evaluate(show, [contact_token(SECRET.encode(), "c-7")])
    assert "Maryam" in shown and opened.locator("#hero").text_content() == shown
    assert opened.locator("#hero").get_attribute("dir") == "ltr"
    assert log.console_errors == [] and log.outside() == []


def test_the_snippet_drops_script_handlers_and_unsafe_urls(
    keyed_server: Served, page: tuple[Any, Any]
) -> None:
    opened, log = page
    _open(opened, keyed_server.url, "/static/decide.js")
    cleaned = opened.evaluate("""() => {
        const div = document.createElement('div');
        div.append(decide.sanitize('<b onclick="alert(1)" style="color:red">ok</b>' +
          '<a href="javascript:alert(1)">x</a><a href="/cart">y</a><img src="data:x">' +
          '<script>alert(1)</script><iframe src="https://evil.example"></iframe>' +
          '<svg><a><animate attributeName="href" to="javascript:alert(1)"/>z</a></svg>'));
        return div.innerHTML;
    }""")
    assert cleaned == '<b>ok</b><a>x</a><a href="/cart">y</a><img>'
    assert log.console_errors == [] and log.outside() == []


@pytest.mark.parametrize("failure", ["down", "503", "timeout"])
def test_the_fallback_stays_when_decide_fails(
    keyed_server: Served, page: tuple[Any, Any], failure: str
) -> None:
    opened, log = page
    if failure == "down":  # the snippet was cached, but nothing listens on decide's port
        origin = f"http://127.0.0.1:{free_port()}"
        opened.route(f"{origin}/static/decide.js", lambda route: route.fulfill(
            body=SNIPPET.read_bytes(), content_type="text/javascript"))  # fmt: skip
    elif failure == "503":
        origin = keyed_server.url
        opened.route(f"{origin}/v1/decide", lambda route: route.fulfill(
            status=503, body='{"error": {}}', content_type="application/json"))  # fmt: skip
    else:  # the request is never answered: the snippet gives up after data-timeout
        origin = keyed_server.url
        opened.route(f"{origin}/v1/decide", lambda route: None)
    _open(opened, origin, "/static/decide.js", 'data-auto="false" data-timeout="500"')
    opened.wait_for_function("window.decide !== undefined")
    results = opened.evaluate("decide.renderAll()")
    assert results == [None]  # the promise resolves, it never rejects
    assert opened.locator("#hero").text_content() == "Welcome to our shop"
    assert opened.locator("#offer a").get_attribute("href") == "/fallback"
    assert opened.locator("#hero").get_attribute("dir") is None
    # Chromium logs the failed request itself; nothing the snippet threw.
    assert all("Failed to load resource" in e for e in log.console_errors), log.console_errors
    assert log.outside() == []
