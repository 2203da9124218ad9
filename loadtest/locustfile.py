"""Locust scenarios against a decide server holding the demo configuration
(`decide serve --demo`, or `decide apply -f decide/demo/demo.yaml`).

    decide loadtest website|campaign|analyst|mixed --users N --duration 60s [--url URL]

runs one headless and prints a summary; the same file runs under plain locust too:
    locust -f loadtest/locustfile.py --headless -u 10 -r 10 -t 60s -H http://127.0.0.1:8080 \
        WebsiteVisitor

- WebsiteVisitor: POST /v1/decide for the `homepage_hero` web placement (an A/B/C test),
  then an impression event for most decisions and a click for a share of those;
- CampaignEngine: POST /v1/decide/batch of `--batch-size` contacts (1,000 by default) for
  `cart_reminder`, then delivered, open and click events in batches of up to 1,000;
- Analyst: polls the experiment's results and the placements' stats;
- mixed (`--mixed`, all three classes): one campaign engine and one analyst, the other users
  visitors: the analyst polls while the others write.
Every user stops after `--max-iterations` tasks (and locust's --run-time bounds the run).
Contacts are drawn from `--contacts` ids, so decisions and events hit returning contacts.
"""

from __future__ import annotations

import itertools
import os
import random
import uuid
from typing import Any

from locust import between, constant, events, task
from locust.contrib.fasthttp import FastHttpUser
from locust.exception import StopUser

WEB_PLACEMENT = "homepage_hero"
EXPERIMENT = "hero_copy"
CAMPAIGN_PLACEMENT = "cart_reminder"
IMPRESSION_SHARE = 0.8  # of decisions the page reports as shown
CLICK_SHARE = 0.1  # of impressions (web) or of deliveries (campaign)
OPEN_SHARE = 0.3  # of deliveries
EVENTS_PER_REQUEST = 1000
LOCALES = ("fa-IR", "en-US", "he", "ru")
NAMES = ("Maryam", "Sara", "Noa", "Olga", "Ali", None)
RUN = uuid.uuid4().hex[:8]  # event ids unique across runs against one store
_ids = itertools.count()


@events.init_command_line_parser.add_listener
def _arguments(parser: Any) -> None:
    parser.add_argument("--max-iterations", type=int, default=10_000,
                        help="tasks per user before it stops")  # fmt: skip
    parser.add_argument("--batch-size", type=int, default=1000,
                        help="campaign: contacts per batch decide (1,000-10,000)")  # fmt: skip
    parser.add_argument("--contacts", type=int, default=100_000,
                        help="contact ids the users draw from")  # fmt: skip
    parser.add_argument("--mixed", action="store_true",
                        help="one campaign engine and one analyst, the rest visitors")  # fmt: skip


@events.init.add_listener
def _mixed(environment: Any, **_: Any) -> None:
    if environment.parsed_options is not None and environment.parsed_options.mixed:
        CampaignEngine.fixed_count = 1
        Analyst.fixed_count = 1


def _event_id() -> str:
    return f"lt-{RUN}-{os.getpid()}-{next(_ids)}"


class _Bounded(FastHttpUser):
    abstract = True

    def on_start(self) -> None:
        options = self.environment.parsed_options
        self.left = options.max_iterations if options else 10_000
        self.contacts = options.contacts if options else 100_000
        key = os.environ.get("DECIDE_API_KEY")
        self.headers = {"authorization": f"Bearer {key}"} if key else {}

    def tick(self) -> None:
        """Count a task; stop this user once it has done its share."""
        self.left -= 1
        if self.left < 0:
            raise StopUser()

    def contact(self) -> str:
        return f"lt-c{random.randrange(self.contacts)}"

    def post(self, path: str, body: dict[str, Any], name: str) -> Any:
        """POST and return the JSON answer, or None (counted as a failure) unless a 200."""
        with self.client.post(path, json=body, name=name, headers=self.headers,
                              catch_response=True) as response:  # fmt: skip
            if response.status_code != 200:
                response.failure(f"{response.status_code}: {(response.text or '')[:200]}")
                return None
            answer = response.json()
            if path == "/v1/events" and answer.get("rejected"):
                response.failure(f"events rejected: {answer['rejected'][:2]}")
            return answer

    def send_events(self, rows: list[dict[str, Any]], name: str) -> None:
        for start in range(0, len(rows), EVENTS_PER_REQUEST):
            self.post("/v1/events", {"events": rows[start : start + EVENTS_PER_REQUEST]}, name)


class WebsiteVisitor(_Bounded):
    """A page view: the hero placement decided, then shown (impression) and sometimes clicked."""

    wait_time = between(0.0, 0.05)

    @task
    def page_view(self) -> None:
        self.tick()
        contact = self.contact()
        attributes = {"locale": random.choice(LOCALES)}
        name = random.choice(NAMES)
        if name:
            attributes["first_name"] = name
        answer = self.post("/v1/decide", {"contact_id": contact, "placement": WEB_PLACEMENT,
                                          "attributes": attributes}, "/v1/decide")  # fmt: skip
        if not answer or random.random() >= IMPRESSION_SHARE:
            return
        seen = {"contact_id": contact, "decision_id": answer["decision_id"], "channel": "web"}
        self.post(
            "/v1/events",
            {"events": [{"event_id": _event_id(), "type": "impression", **seen}]},
            "/v1/events impression",
        )
        if random.random() < CLICK_SHARE:
            self.post(
                "/v1/events",
                {"events": [{"event_id": _event_id(), "type": "click", **seen}]},
                "/v1/events click",
            )


class CampaignEngine(_Bounded):
    """A send: a batch of contacts decided, then their delivery, open and click events."""

    wait_time = constant(0)

    @task
    def send(self) -> None:
        self.tick()
        options = self.environment.parsed_options
        size = options.batch_size if options else 1000
        contacts = [{"contact_id": self.contact(),
                     "attributes": {"email": f"c{i}@example.org", "locale": random.choice(LOCALES)}}
                    for i in range(size)]  # fmt: skip
        answer = self.post("/v1/decide/batch", {
            "placement": CAMPAIGN_PLACEMENT, "contacts": contacts,
            "context": {"cart_url": "https://shop.example/cart"}}, "/v1/decide/batch")  # fmt: skip
        if not answer:
            return
        sent = [
            {"contact_id": d["contact_id"], "decision_id": d["decision_id"],
             "channel": d["channel"]["primary"]}
            for d in answer["decisions"] if d.get("message") and d.get("channel")
        ]  # fmt: skip
        delivered = [{"event_id": _event_id(), "type": "delivered", **s} for s in sent]
        self.send_events(delivered, "/v1/events delivered")
        opened = [s for s in sent if random.random() < OPEN_SHARE]
        self.send_events([{"event_id": _event_id(), "type": "open", **s} for s in opened],
                         "/v1/events open")  # fmt: skip
        clicked = [s for s in opened if random.random() < CLICK_SHARE / OPEN_SHARE]
        self.send_events([{"event_id": _event_id(), "type": "click", **s} for s in clicked],
                         "/v1/events click")  # fmt: skip


class Analyst(_Bounded):
    """Dashboards refreshing: the experiment's results and the placements' stats."""

    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        super().on_start()
        self.results()  # a dashboard opens on the results, then refreshes at random

    def get(self, path: str) -> None:
        with self.client.get(path, headers=self.headers, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}: {(response.text or '')[:200]}")

    @task(2)
    def results(self) -> None:
        self.tick()
        self.get(f"/v1/experiments/{EXPERIMENT}/results")

    @task(1)
    def stats(self) -> None:
        self.tick()
        self.get(f"/v1/placements/{random.choice((WEB_PLACEMENT, CAMPAIGN_PLACEMENT))}/stats")
