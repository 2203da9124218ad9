"""The report pages' shared shell (style, number formats) and the experiment report page:
a results table and charts as inline SVG, readable offline and in right-to-left languages."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from decide.svg_charts import COLOURS, Point, line_chart

# Logical properties only (margin-inline, text-align: start), so a page mirrors cleanly when
# a browser or a user sets dir="rtl"; names and content that users wrote carry dir="auto".
STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin-block: 2rem; margin-inline: auto;
       max-inline-size: 72rem; padding-inline: 1rem; color: #1f2328; }
table { border-collapse: collapse; inline-size: 100%; margin-block: 1rem; }
th, td { border-block-end: 1px solid #d0d7de; padding-block: .35rem; padding-inline: .6rem;
         text-align: start; vertical-align: top; }
tr.metric th { background: #f6f8fa; }
.badge { display: inline-block; padding-block: .1rem; padding-inline: .5rem; border-radius: 1rem;
         background: #ddf4ff; margin-inline-end: .25rem; }
.bad { background: #ffebe9; }
.warn { background: #fff8c5; }
nav { margin-block-end: 1rem; }
nav a { margin-inline-end: 1rem; }
figure { margin-block: 1.5rem; margin-inline: 0; }
svg { inline-size: 100%; max-inline-size: 46rem; direction: ltr; }  /* time runs left to right */
.num { unicode-bidi: isolate; direction: ltr; }  /* "[-1%, +2%]" keeps its order in RTL */
svg text { font-size: 11px; fill: #57606a; }
figcaption { font-weight: 600; }
"""


def page(title: str, body: str) -> str:
    """A whole report page: the shared style, a link home, and when it was generated."""
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>decide · {html.escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<style>{STYLE}</style></head><body>
<nav><a href="/reports/">All placements and experiments</a></nav>
{body}
<p><small>Generated {generated} by decide.</small></p>
</body></html>"""


def name(text: Any) -> str:
    """A name or content a user wrote, isolated so right-to-left text keeps its own direction."""
    return f'<bdi dir="auto">{html.escape(str(text))}</bdi>'


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "\u2013"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return html.escape(str(value))


def percent(value: Any) -> str:
    return "\u2013" if value is None else f"{100 * value:+.2f}%"


def experiment_page(
    document: Mapping[str, Any], timeline: Sequence[tuple[int, Mapping[str, Any]]]
) -> str:
    """`document` is the /results JSON; `timeline` is (epoch day, /results analysis) cumulative
    at the end of each day, for the charts."""
    key = document["experiment"]
    analysis = document.get("analysis")
    rows = []
    if analysis:
        for metric in analysis["metrics"]:
            control = metric["control"]
            rows.append(f"<tr class='metric'><th colspan='8'>{name(metric['metric'])} "
                        f"<small>({html.escape(metric['kind'])})</small></th></tr>")  # fmt: skip
            rows.append(f"<tr><td>{name(control['variation'])} (control)</td>"
                        f"<td>{control['users']}</td><td>{_fmt(control['mean'])}</td>"
                        "<td colspan='5'></td></tr>")  # fmt: skip
            for variation in metric["variations"]:
                rel, absolute = variation["relative"], variation["absolute"]
                seq = absolute["sequential"]
                rows.append(
                    f"<tr><td>{name(variation['variation'])}</td><td>{variation['users']}</td>"
                    f"<td>{_fmt(variation['mean'])}</td><td>{percent(rel['estimate'])}</td>"
                    f"<td><span class='num'>[{percent(rel['fixed']['ci_lower'])}, "
                    f"{percent(rel['fixed']['ci_upper'])}]</span></td>"
                    f"<td>{_fmt(absolute['fixed']['p_value'], 3)}</td>"
                    f"<td>{_fmt(seq['p_value'], 3)}</td>"
                    f"<td>{_fmt(absolute['bayesian']['chance_to_beat_control'], 3)}</td></tr>"
                )
    srm = analysis["srm"] if analysis else None
    winner = document.get("winner") or {}
    primary = next((m["name"] for m in document["metrics"] if m["role"] == "primary"), None)
    lift_series: dict[str, list[Point]] = {}
    band: list[tuple[float, float, float]] = []
    rates: dict[str, list[Point]] = {}
    for day, day_analysis in timeline:
        for metric in day_analysis.get("metrics", []):
            if metric["metric"] != primary:
                continue
            rates.setdefault(metric["control"]["variation"], []).append(
                (day, _num(metric["control"]["mean"]))
            )
            for i, variation in enumerate(metric["variations"]):
                lift = variation["absolute"]
                lift_series.setdefault(variation["variation"], []).append(
                    (day, _num(lift["estimate"]))
                )
                rates.setdefault(variation["variation"], []).append((day, _num(variation["mean"])))
                if i == 0:
                    seq = lift["sequential"]
                    band.append((day, _num(seq["ci_lower"]), _num(seq["ci_upper"])))
    charts = ""
    if primary:
        lift_title = (f"Cumulative lift on {primary} vs control (absolute), with the always-valid "
                      "95% interval of the first variation")  # fmt: skip
        # One colour per variation on both charts (control first), the band its variation's.
        colours = {name: COLOURS[i % len(COLOURS)] for i, name in enumerate(rates)}
        first = next(iter(lift_series), None)
        charts = line_chart(lift_title, lift_series, band, zero_line=True, colours=colours,
                            band_colour=colours.get(first or "", COLOURS[0]))  # fmt: skip
        charts += line_chart(f"Cumulative {primary} per variation", rates, colours=colours)
    rollout = document.get("rollout_variation")
    rolled = f"· rolled out <b>{name(rollout)}</b>" if rollout else ""
    mismatch = bool(srm and srm.get("mismatch"))
    srm_badge = '<span class="badge bad">mismatch' if mismatch else '<span class="badge">ok'
    srm_p = f"(p = {_fmt(srm['p_value'], 3)})" if srm else ""
    state = html.escape(str(winner.get("state", "no rule")))
    table = "".join(rows) or '<tr><td colspan="8">No exposures yet.</td></tr>'
    placement = html.escape(str(document.get("placement")))
    data = f"/v1/experiments/{html.escape(key)}/results"
    return page(
        key,
        f"""<h1>Experiment <code>{html.escape(key)}</code></h1>
<p>Placement <a href="/reports/placements/{placement}"><code>{placement}</code></a> · status
<span class="badge">{html.escape(document["status"])}</span>
· phase {document["phase"]} {rolled}</p>
<p>Sample ratio: {srm_badge}</span> {srm_p} · winner rule: <span class="badge">{state}</span>
{html.escape(str(winner.get("reason", "")))}</p>
<p>Download: <a href="{data}.csv">results.csv</a> · <a href="{data}">results JSON</a>
· <a href="/v1/experiments/{html.escape(key)}/exposures.ndjson">exposures NDJSON</a></p>
<table><thead><tr><th>variation</th><th>users</th><th>mean</th><th>relative lift</th>
<th>95% CI</th><th>p (fixed)</th><th>p (sequential)</th><th>chance to beat control</th></tr></thead>
<tbody>{table}</tbody></table>
{charts}
<p><small>Users are contacts exposed in this phase; each metric counts a contact once
(binomial) or sums its values before squaring.</small></p>""",
    )


def _num(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else math.nan
