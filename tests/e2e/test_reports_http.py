"""The analysts' pages and CSV exports, end to end: the numbers on the page and in the CSV
are the ones the JSON endpoints give."""

from __future__ import annotations

import csv
import io
import math
import re

import numpy as np

from decide.store import keys
from tests.conftest import Store
from tests.helpers import decide, event, load_demo

PERSIAN = "پیشنهاد ویژهٔ صفحهٔ اول"


def offers(**policy: object) -> dict[str, object]:
    return {
        "description": PERSIAN,
        "channels": ["web"],
        "context_fields": ["city"],
        "exposure": "on_decide",
        "policy": {"type": "bandit", "algorithm": "thompson", "refresh_ms": 0,
                   "reward": {"event": "click", "window_hours": 24}, **policy},
        "messages": [{"key": k, "content": {"web": {"headline": f"Offer {k}"}}} for k in "abc"],
    }  # fmt: skip


def _traffic(api, contacts: int = 150, cities: tuple[str, ...] = ("tehran",)) -> None:
    rng = np.random.default_rng(5)
    rates = {"a": 0.05, "b": 0.4, "c": 0.05}
    for i in range(contacts):
        city = cities[i % len(cities)]
        body = decide(api, f"c-{i}", "offers", context={"city": city})
        arm, token = body["message"]["key"], body["decision_id"]
        if rng.random() < rates[arm]:
            batch = [event(f"k{i}", "click", f"c-{i}", token),
                     event(f"p{i}", "purchase", f"c-{i}", value=10.0, currency="EUR")]  # fmt: skip
            assert api.post("/v1/events", json={"events": batch}).json()["accepted"] == 2


def _row(page: str, key: str) -> str:
    found = re.search(rf'<tr><td><a href="/reports/(?:placements|experiments)/{key}">.*?</tr>',
                      page, re.S)  # fmt: skip
    assert found, f"no row for {key}"
    return found.group(0)


def _offline(page: str) -> None:
    assert "http://" not in page and "https://" not in page and "<script" not in page


def test_overview_shows_traffic_and_leaders(api, store: Store) -> None:
    load_demo(api)
    assert api.put("/v1/placements/offers", json=offers()).status_code == 201
    _traffic(api)
    for i in range(12):
        decide(api, f"h-{i}", "homepage_hero")
    page = api.get("/reports/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    text = page.text
    _offline(text)
    stats = api.get("/v1/placements/offers/stats").json()
    (population,) = stats["segments"]
    decided = sum(a["decided"] for a in population["arms"])
    leader = max(population["arms"], key=lambda a: a["weight"])
    row = _row(text, "offers")
    assert f"<td>{decided}</td><td>{decided}</td>" in row, row  # decided = exposed (on decide)
    assert f'<bdi dir="auto">{leader["arm"]}</bdi>' in row and leader["arm"] == "b"
    assert f'<small dir="auto">{PERSIAN}</small>' in row
    hero = _row(text, "hero_copy")
    results = api.get("/v1/experiments/hero_copy/results").json()
    assert f"<td>{sum(results['users'].values())}</td>" in hero
    assert 'href="/reports/placements/homepage_hero"' in hero
    assert _row(text, "cart_reminder")  # a rule placement is listed too


def _experiment(api, key: str, **extra: object) -> None:
    placement = {
        "channels": ["web"], "policy": {"type": "experiment", "experiment": key},
        "messages": [{"key": k, "content": {"web": {"headline": k}}} for k in "ab"],
    }  # fmt: skip
    metrics = {"primary": {"event": "click", "type": "binomial", "window_hours": 72},
               "guardrails": [{"event": "unsubscribe", "type": "binomial"}]}  # fmt: skip
    doc = {
        "placement": f"p_{key}",
        "status": "running",
        "metrics": metrics,
        "variations": [{"key": "a", "message": "a"}, {"key": "b", "message": "b"}],
        **extra,
    }
    assert api.put(f"/v1/placements/p_{key}", json=placement).status_code == 201
    assert api.put(f"/v1/experiments/{key}", json=doc).status_code == 201


def _totals(store: Store, key: str, **fields: float) -> None:
    """Stored statistics as the event scripts would leave them (a skew, a harm, a winner
    take thousands of events to produce through HTTP)."""
    mapping = {name.replace("__", ":"): value for name, value in fields.items()}
    store.client().hset(keys.experiment_totals(key, 1), mapping=mapping)


def test_overview_alerts(api, store: Store) -> None:
    _experiment(api, "skewed")
    _totals(store, "skewed", a__users=1000, b__users=700, a__click__sum=50, b__click__sum=35)
    _experiment(api, "harmful")
    _totals(store, "harmful", a__users=1000, b__users=1000, a__click__sum=50, b__click__sum=52,
            a__unsubscribe__sum=5, b__unsubscribe__sum=60)  # fmt: skip
    primary_only = {"primary": {"event": "click", "type": "binomial", "window_hours": 72}}
    auto = {"enabled": True, "min_users_per_variation": 100}
    _experiment(api, "winning", auto_winner=auto, metrics=primary_only)
    _totals(store, "winning", a__users=2000, b__users=2000, a__click__sum=100, b__click__sum=300)
    assert api.post("/v1/experiments/winning/check").json()["status"] == "rolled_out"
    _experiment(api, "halted")
    assert api.post("/v1/experiments/halted/stop").status_code == 200
    text = api.get("/reports/").text
    assert "sample ratio mismatch" in _row(text, "skewed")
    assert "guardrail harmed" not in _row(text, "skewed")
    harmful = _row(text, "harmful")
    assert "guardrail unsubscribe harmed by b" in harmful and "mismatch" not in harmful
    winning = _row(text, "winning")
    assert "auto-winner rolled_out b" in winning and "rolled out b" in winning
    assert '<bdi dir="auto">b</bdi>' in winning  # the leader on the primary metric
    assert '<span class="badge warn">stopped</span>' in _row(text, "halted")


def test_overview_flags_a_bandit_that_stopped_exploring(api, store: Store) -> None:
    assert api.put("/v1/placements/offers", json=offers(stop_loss=0.5)).status_code == 201
    mapping = {"a:n": 2000, "a:sum": 100, "b:n": 2000, "b:sum": 800, "c:n": 2000, "c:sum": 100}
    store.client().hset(keys.arm_stats("offers"), mapping=mapping)
    assert "stop_loss reached: serving b" in _row(api.get("/reports/").text, "offers")


def test_placement_page(api, store: Store) -> None:
    assert (
        api.put("/v1/placements/offers", json=offers(segment_by="context.city")).status_code == 201
    )
    _traffic(api, cities=("tehran", "تهران"))
    text = api.get("/reports/placements/offers").text
    _offline(text)
    logged = len(api.get("/v1/placements/offers/decisions.ndjson").text.splitlines())
    assert logged == 150
    assert f"the newest {logged} decision-log entries (at most 5000)" in text
    titles = ("Share of decisions per arm", "Mean logged propensity", "Decisions per channel",
              "Decisions per local hour of the planned send")  # fmt: skip
    assert all(title in text for title in titles)
    assert text.count("<svg") == 5 and "No data yet" not in text
    assert f'<p dir="auto">{PERSIAN}</p>' in text
    assert 'segment <bdi dir="auto">تهران</bdi>' in text  # a segment value is user content
    attribution = api.get("/v1/placements/offers/attribution").json()["models"]
    top = attribution["last_touch"][0]
    assert top["message"] == "b" and top["conversions"] > 0
    assert (
        f'<tr><td><bdi dir="auto">b</bdi></td><td>web</td><td>{top["conversions"]:.4g}</td>' in text
    )
    assert 'href="/v1/placements/offers/stats.csv"' in text
    assert (
        "the newest 10 decision-log entries"
        in api.get("/reports/placements/offers?decisions=10").text
    )
    assert api.get("/reports/placements/offers?decisions=0").status_code == 422
    assert api.get("/reports/placements/nope").status_code == 404


def test_an_empty_workspace_and_a_placement_without_log(api, store: Store) -> None:
    assert "None configured." in api.get("/reports/").text
    load_demo(api)
    text = api.get("/reports/placements/cart_reminder").text  # a rule: never in the log
    assert "nothing to chart here" in text and "no decision-log entries yet" not in text
    assert api.put("/v1/placements/offers", json=offers()).status_code == 201
    text = api.get("/reports/placements/offers").text  # a bandit that has not drawn yet
    assert "no decision-log entries yet" in text and text.count("No data yet") == 5


def test_an_experiment_placement_points_to_its_experiment_over_time(api, store: Store) -> None:
    """The decision log holds bandit draws only: five empty charts would say nothing."""
    _experiment(api, "copy")
    for i in range(20):
        decide(api, f"c-{i}", "p_copy")
    text = api.get("/reports/placements/p_copy").text
    assert "<svg" not in text and "No data yet" not in text
    assert "this placement's policy is experiment, so there is nothing to chart here" in text
    assert 'on the <a href="/reports/experiments/copy">experiment\'s report</a>' in text
    assert "What was learned per arm" in text


def _csv(response) -> list[dict[str, str]]:
    assert response.headers["content-type"].startswith("text/csv; charset=utf-8")
    body = response.content.decode("utf-8")
    assert body.startswith("\ufeff")  # for Excel
    return list(csv.DictReader(io.StringIO(body[1:])))


def _same(cell: str, value: object) -> bool:
    if value is None:
        return cell == ""
    return math.isclose(float(cell), float(value), rel_tol=1e-12)  # type: ignore[arg-type]


def test_results_csv_has_the_json_numbers(api, store: Store) -> None:
    _experiment(api, "harmful")
    _totals(store, "harmful", a__users=1000, b__users=1000, a__click__sum=50, b__click__sum=70,
            a__unsubscribe__sum=5, b__unsubscribe__sum=9)  # fmt: skip
    document = api.get("/v1/experiments/harmful/results").json()
    rows = _csv(api.get("/v1/experiments/harmful/results.csv"))
    assert len(rows) == 4  # 2 metrics x 2 variations
    by = {(r["metric"], r["variation"]): r for r in rows}
    for metric in document["analysis"]["metrics"]:
        control = by[(metric["metric"], "a")]
        assert control["is_control"] == "true" and control["lift_abs"] == ""
        assert _same(control["mean"], metric["control"]["mean"])
        (b,) = metric["variations"]
        row = by[(metric["metric"], "b")]
        assert int(row["users"]) == b["users"] == 1000
        assert _same(row["sum"], {"click": 70, "unsubscribe": 9}[metric["metric"]])
        assert _same(row["mean"], b["mean"])
        assert _same(row["lift_rel"], b["relative"]["estimate"])
        assert _same(row["lift_abs_ci_lower"], b["absolute"]["fixed"]["ci_lower"])
        assert _same(row["p_value"], b["absolute"]["fixed"]["p_value"])
        assert _same(row["p_value_sequential"], b["absolute"]["sequential"]["p_value"])
        bayes = b["absolute"]["bayesian"]
        assert _same(row["chance_to_beat_control"], bayes["chance_to_beat_control"])
        assert row["role"] == ("primary" if metric["metric"] == "click" else "guardrail")
    plain = api.get("/v1/experiments/harmful/results.csv?bom=0")
    assert plain.content.startswith(b"experiment,phase,metric")
    assert "attachment" in plain.headers["content-disposition"]
    assert (
        'href="/v1/experiments/harmful/results.csv"' in api.get("/reports/experiments/harmful").text
    )
    assert api.get("/v1/experiments/nope/results.csv").status_code == 404


def test_stats_csv_has_the_json_numbers(api, store: Store) -> None:
    assert (
        api.put("/v1/placements/offers", json=offers(segment_by="context.city")).status_code == 201
    )
    _traffic(api, contacts=60, cities=("tehran", "تهران"))
    document = api.get("/v1/placements/offers/stats").json()
    rows = _csv(api.get("/v1/placements/offers/stats.csv"))
    assert len(rows) == 3 * len(document["segments"]) == 9
    by = {(r["segment"], r["arm"]): r for r in rows}
    assert {s for s, _ in by} == {"", "tehran", "تهران"}  # Persian survives the round trip
    for segment in document["segments"]:
        for arm in segment["arms"]:
            row = by[(segment["segment"], arm["arm"])]
            assert int(row["decided"]) == arm["decided"] and _same(row["trials"], arm["trials"])
            assert _same(row["rewards"], arm["rewards"]) and _same(row["mean"], arm["mean"])
            assert _same(row["interval_lower"], arm["interval"][0])
            assert row["weight"] != ""  # weights are random draws: present, not compared
    assert api.get("/v1/placements/nope/stats.csv").status_code == 404
