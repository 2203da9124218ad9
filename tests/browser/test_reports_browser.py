"""The analysts' pages in headless Chromium: they render with no console error, make no
request outside decide, their links work, and Persian content reads right to left."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.processes import Served

pytestmark = pytest.mark.slow

PERSIAN = "پیشنهاد ویژهٔ صفحهٔ اول"
OFFERS = {
    "description": PERSIAN,
    "channels": ["web"],
    "context_fields": ["city"],
    "exposure": "on_decide",
    "policy": {"type": "bandit", "algorithm": "thompson", "refresh_ms": 0,
               "segment_by": "context.city", "reward": {"event": "click", "window_hours": 24}},
    "messages": [{"key": k, "content": {"web": {"headline": {"en": f"Offer {k}",
                                                              "fa": f"پیشنهاد {k}"}}}}
                 for k in ("a", "b", "c")],
}  # fmt: skip


def _traffic(url: str) -> None:
    """Decisions spread over the last eight hours (`context.now`), each outcome reported before
    the next decision, so the bandit's weights move over time; and the demo's experiment."""
    start = time.time() - 8 * 3600
    rng = random.Random(4)
    rates = {"a": 0.1, "b": 0.35, "c": 0.15}
    with httpx.Client(base_url=url, timeout=10) as client:
        assert client.put("/v1/placements/offers", json=OFFERS).status_code == 201
        for i in range(160):
            at = datetime.fromtimestamp(start + i * 180, UTC).isoformat()
            city = ("tehran", "تهران")[i % 2]
            asked = {"contact_id": f"c-{i}", "placement": "offers",
                     "context": {"city": city, "now": at}}  # fmt: skip
            body = client.post("/v1/decide", json=asked).json()
            events = []
            if rng.random() < rates[body["message"]["key"]]:
                events += [{"event_id": f"k{i}", "type": "click", "contact_id": f"c-{i}",
                            "decision_id": body["decision_id"]},
                           {"event_id": f"p{i}", "type": "purchase", "contact_id": f"c-{i}",
                            "value": 12.5, "currency": "EUR"}]  # fmt: skip
            asked = {"contact_id": f"h-{i}", "placement": "homepage_hero",
                     "attributes": {"locale": "fa"}}  # fmt: skip
            hero = client.post("/v1/decide", json=asked).json()
            events.append({"event_id": f"i{i}", "type": "impression", "contact_id": f"h-{i}",
                           "decision_id": hero["decision_id"]})  # fmt: skip
            if rng.random() < {"control": 0.1, "discount": 0.3}.get(
                hero["assignment"]["variation"], 0.15
            ):
                events.append({"event_id": f"hk{i}", "type": "click", "contact_id": f"h-{i}",
                               "decision_id": hero["decision_id"]})  # fmt: skip
            answer = client.post("/v1/events", json={"events": events}).json()
            assert answer["rejected"] == [], answer


def _links_work(url: str, page: object) -> list[str]:
    hrefs: list[str] = page.eval_on_selector_all("a", "els => els.map(e => e.getAttribute('href'))")  # type: ignore[attr-defined]
    for href in hrefs:
        assert href.startswith("/"), href  # every link stays on decide
        assert httpx.get(url + href, timeout=30).status_code == 200, href
    return hrefs


def test_reports_render_offline_with_working_links(
    demo_server: Served, page: tuple[object, object], tmp_path: Path
) -> None:
    opened, log = page
    _traffic(demo_server.url)
    shots = []
    for path, heading in (("/reports/", "Placements and experiments"),
                          ("/reports/placements/offers", "Placement offers"),
                          ("/reports/experiments/hero_copy", "Experiment hero_copy")):  # fmt: skip
        response = opened.goto(demo_server.url + path)  # type: ignore[attr-defined]
        assert response.status == 200
        assert opened.inner_text("h1") == heading  # type: ignore[attr-defined]
        assert opened.locator("svg").count() >= (0 if path == "/reports/" else 2)  # type: ignore[attr-defined]
        hrefs = _links_work(demo_server.url, opened)
        shot = tmp_path / (path.strip("/").replace("/", "_") + ".png")
        opened.screenshot(path=str(shot), full_page=True)  # type: ignore[attr-defined]
        shots.append(shot)
        if path == "/reports/":
            assert (
                "/reports/placements/offers" in hrefs and "/reports/experiments/hero_copy" in hrefs
            )
            # the Persian description is its own right-to-left run inside a left-to-right page
            directions = opened.eval_on_selector_all(  # type: ignore[attr-defined]
                "small[dir=auto]",
                "els => els.map(e => [e.textContent, getComputedStyle(e).direction])",
            )
            assert [PERSIAN, "rtl"] in directions and [
                "Hero banner on the home page, A/B/C tested",
                "ltr",
            ] in directions
    # the whole page mirrored, as in a right-to-left locale: logical CSS keeps it readable
    opened.goto(demo_server.url + "/reports/placements/offers")  # type: ignore[attr-defined]
    opened.evaluate("document.documentElement.dir = 'rtl'")  # type: ignore[attr-defined]
    rtl = tmp_path / "placement_rtl.png"
    opened.screenshot(path=str(rtl), full_page=True)  # type: ignore[attr-defined]
    shots.append(rtl)
    assert log.console_errors == []  # type: ignore[attr-defined]
    assert log.outside() == []  # type: ignore[attr-defined]
    assert all(s.stat().st_size > 10_000 for s in shots)
    print("screenshots:", *shots)
