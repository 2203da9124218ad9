"""The placement page: arm weights over time, channel and send-time mix (from the newest
decision-log entries), what was learned per arm, and attribution."""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from decide.report_html import name, page
from decide.svg_charts import Point, column_chart, epoch_label, line_chart

BUCKETS_S = (60, 300, 900, 3600, 4 * 3600, 86_400, 7 * 86_400)
MAX_BUCKETS = 48
DASH = "\u2013"
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def bucket_size(first: float, last: float) -> int:
    """The smallest bucket that keeps the chart to at most MAX_BUCKETS points."""
    return next((b for b in BUCKETS_S if (last - first) / b < MAX_BUCKETS), BUCKETS_S[-1])


def arm_series(
    entries: Sequence[Mapping[str, Any]], arms: Sequence[str]
) -> tuple[dict[str, list[Point]], dict[str, list[Point]], int]:
    """Per time bucket and arm: the share of decisions, and the mean logged propensity (the
    weight the arm was drawn with). `entries` have `t` (issued at), `a` (arm), `p`."""
    if not entries:
        return {}, {}, 0
    times = [e["t"] for e in entries]
    size = bucket_size(min(times), max(times))
    count: Counter[tuple[int, str]] = Counter()
    propensity: Counter[tuple[int, str]] = Counter()
    total: Counter[int] = Counter()
    for e in entries:
        bucket = int(e["t"] // size) * size
        count[(bucket, e["a"])] += 1
        propensity[(bucket, e["a"])] += e["p"]
        total[bucket] += 1
    buckets = sorted(total)
    known = list(arms) + sorted({e["a"] for e in entries} - set(arms))
    shares = {arm: [(float(b), count[(b, arm)] / total[b]) for b in buckets] for arm in known}
    weights = {
        arm: [
            (float(b), propensity[(b, arm)] / count[(b, arm)]) for b in buckets if count[(b, arm)]
        ]
        for arm in known
    }
    return shares, weights, size


def channel_mix(entries: Sequence[Mapping[str, Any]]) -> list[tuple[str, float]]:
    found = Counter(e["ch"] for e in entries if e.get("ch"))
    return [(channel, float(n)) for channel, n in found.most_common()]


def send_hour_mix(
    entries: Sequence[Mapping[str, Any]],
) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
    """Decisions per local hour of day and per local weekday of the planned send."""
    slots = [e["sl"] for e in entries if e.get("sl", -1) >= 0]
    hours = Counter(s % 24 for s in slots)
    days = Counter(s // 24 for s in slots)
    return ([(f"{h:02d}", float(hours[h])) for h in range(24)],
            [(DAYS[d], float(days[d])) for d in range(7)])  # fmt: skip


def _duration(seconds: int) -> str:
    if seconds >= 86_400:
        return f"{seconds // 86_400} d"
    return f"{seconds // 3600} h" if seconds >= 3600 else f"{seconds // 60} min"


def _stats_table(stats: Mapping[str, Any], max_segments: int) -> str:
    rows = []
    weighted = stats.get("algorithm") is not None
    # a decision is counted in its own segment only; the population row shows their sum
    decided: dict[str, int] = {}
    for segment in stats["segments"]:
        for arm in segment["arms"]:
            decided[arm["arm"]] = decided.get(arm["arm"], 0) + arm["decided"]
    for segment in stats["segments"][:max_segments]:
        label = name(segment["segment"]) if segment["segment"] else "all (population)"
        rows.append(f"<tr class='metric'><th colspan='7'>segment {label}</th></tr>")
        for arm in segment["arms"]:
            if not segment["segment"]:
                arm = arm | {"decided": decided[arm["arm"]]}
            low, high = arm["interval"]
            weight = f"{100 * arm['weight']:.1f}%" if "weight" in arm else "\u2013"
            rows.append(
                f"<tr><td>{name(arm['arm'])}</td><td>{arm['decided']}</td><td>{round(arm['trials'])}</td>"
                f"<td>{_num(arm['rewards'])}</td><td>{_num(arm['mean'])} "
                f"<small class='num'>[{_num(low)}, {_num(high)}]</small></td>"
                f"<td>{_num(arm['chance_best'])}</td><td>{weight}</td></tr>"
            )
    more = len(stats["segments"]) - max_segments
    note = f"<p><small>{more} more segments in the CSV.</small></p>" if more > 0 else ""
    head = "weight" if weighted else "weight (bandits only)"
    return (f"<table><thead><tr><th>arm</th><th>decided</th><th>trials</th><th>rewards</th>"
            f"<th>mean [95% interval]</th><th>chance best</th><th>{head}</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>{note}")  # fmt: skip


def _attribution_table(attribution: Mapping[str, Any]) -> str:
    rows = []
    for model, credited in attribution["models"].items():
        rows.append(f"<tr class='metric'><th colspan='4'>{html.escape(model)}</th></tr>")
        for row in credited:
            revenue = ", ".join(f"<span class='num'>{v:.2f} {html.escape(c)}</span>"
                                for c, v in row["revenue"].items())  # fmt: skip
            rows.append(f"<tr><td>{name(row['message'])}</td>"
                        f"<td>{html.escape(row['channel'])}</td>"
                        f"<td>{_num(row['conversions'])}</td>"
                        f"<td>{revenue or DASH}</td></tr>")  # fmt: skip
        if not credited:
            rows.append("<tr><td colspan='4'>No conversions credited yet.</td></tr>")
    days = attribution["window_days"]
    return (f"<p>Conversions ({html.escape(', '.join(attribution['conversion_events']))}) "
            f"credited to the exposures in the {days:g} days before them.</p>"
            "<table><thead><tr><th>message</th><th>channel</th><th>conversions</th>"
            f"<th>revenue</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")  # fmt: skip


def _num(value: Any) -> str:
    if value is None:
        return "\u2013"
    return f"{value:.4g}" if isinstance(value, float) else html.escape(str(value))


def placement_page(
    placement: Mapping[str, Any],
    stats: Mapping[str, Any],
    entries: Sequence[Mapping[str, Any]],
    limit: int,
    attribution: Mapping[str, Any],
    max_segments: int = 20,
) -> str:
    """`placement` is the placement's document (with `key`), `stats` the /stats JSON,
    `entries` the newest decision-log entries (at most `limit`), `attribution` the
    /attribution JSON."""
    key = html.escape(placement["key"])
    arms = [m["key"] for m in placement.get("messages", [])]
    shares, weights, size = arm_series(entries, arms)
    policy = placement.get("policy", {})
    experiment = policy.get("experiment")
    linked = (f' · experiment <a href="/reports/experiments/{html.escape(experiment)}">'
              f"{html.escape(experiment)}</a>" if experiment else "")  # fmt: skip
    if entries:
        first, last = min(e["t"] for e in entries), max(e["t"] for e in entries)
        span = (f"the newest {len(entries)} decision-log entries (at most {limit}), "
                f"{epoch_label(first)} to {epoch_label(last)} UTC, "
                f"in buckets of {_duration(size)}")  # fmt: skip
    else:
        span = "no decision-log entries yet"
    hours, days = send_hour_mix(entries)
    charts = (
        line_chart("Share of decisions per arm", shares, y_format="{:.0%}", x_label=epoch_label)
        + line_chart("Mean logged propensity (serving weight) per arm", weights,
                     y_format="{:.0%}", x_label=epoch_label)
        + column_chart("Decisions per channel", channel_mix(entries))
        + column_chart("Decisions per local hour of the planned send", hours)
        + column_chart("Decisions per local weekday of the planned send", days)
    )  # fmt: skip
    logged = "The decision log holds bandit draws only"
    over_time = (f"<p><small>From {span}. {logged} (experiments and rules are not logged "
                 f"there).</small></p>\n{charts}")  # fmt: skip
    if policy.get("type") != "bandit" and not entries:  # five empty charts would say nothing
        see = ""
        if experiment:
            link = f'<a href="/reports/experiments/{html.escape(experiment)}">'
            see = f" Its results over time are on the {link}experiment's report</a>."
        over_time = (f"<p>{logged}; this placement's policy is "
                     f"{html.escape(str(policy.get('type')))}, so there is nothing to chart "
                     f"here.{see}</p>")  # fmt: skip
    description = placement.get("description")
    about = f'<p dir="auto">{html.escape(description)}</p>' if description else ""
    data = f"/v1/placements/{key}"
    return page(
        placement["key"],
        f"""<h1>Placement <code>{key}</code></h1>
{about}<p>Policy <span class="badge">{html.escape(str(policy.get("type")))}</span>{linked}
· channels {html.escape(", ".join(placement.get("channels", [])))}</p>
<p>Download: <a href="{data}/stats.csv">stats.csv</a> · <a href="{data}/stats">stats JSON</a>
· <a href="{data}/attribution">attribution JSON</a>
· <a href="{data}/decisions.ndjson">decision log NDJSON</a></p>
<h2>What was learned per arm</h2>
{_stats_table(stats, max_segments)}
<h2>Over time</h2>
{over_time}
<h2>Attribution</h2>
{_attribution_table(attribution)}""",
    )
