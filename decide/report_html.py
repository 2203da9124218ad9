"""The experiment report page: a results table and charts as inline SVG, readable offline."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

Point = tuple[float, float]
COLOURS = ("#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df", "#bf3989")
STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 72rem;
       color: #1f2328; }
table { border-collapse: collapse; width: 100%; margin: 1rem 0; }
th, td { border-bottom: 1px solid #d0d7de; padding: .35rem .6rem; text-align: start; }
tr.metric th { background: #f6f8fa; }
.badge { display: inline-block; padding: .1rem .5rem; border-radius: 1rem; background: #ddf4ff; }
.bad { background: #ffebe9; }
figure { margin: 1.5rem 0; }
svg { width: 100%; max-width: 40rem; }
svg text { font-size: 11px; fill: #57606a; }
figcaption { font-weight: 600; }
"""


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "\u2013"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return html.escape(str(value))


def percent(value: Any) -> str:
    return "\u2013" if value is None else f"{100 * value:+.2f}%"


def line_chart(
    title: str,
    series: Mapping[str, Sequence[Point]],
    band: Sequence[tuple[float, float, float]] = (),
    y_format: str = "{:.3g}",
    zero_line: bool = False,
    x_format: str | None = None,  # e.g. "round {:.0f}"; None: x is an epoch day, shown as a date
) -> str:
    """An SVG line chart over days: one line per series, an optional shaded interval band."""
    legend = max(90, 7 * max((len(name) for name in series), default=0))
    width, height, pad = 640 + legend, 260, 56
    xs = [x for pts in series.values() for x, _ in pts] + [b[0] for b in band]
    ys = [y for pts in series.values() for _, y in pts] + [v for b in band for v in b[1:]]
    ys = [y for y in ys if math.isfinite(y)] + ([0.0] if zero_line else [])
    if not xs or not ys:
        return f"<figure><figcaption>{html.escape(title)}</figcaption><p>No data yet.</p></figure>"
    x0, x1 = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1
    y0, y1 = min(ys), max(ys) if max(ys) > min(ys) else min(ys) + 1

    def sx(x: float) -> float:
        return pad + (x - x0) / (x1 - x0) * (width - 2 * pad - legend)

    def sy(y: float) -> float:
        return height - pad + (y - y0) / (y1 - y0) * -(height - 2 * pad)

    parts = [f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{html.escape(title)}">']
    plot_w, plot_h = width - 2 * pad - legend, height - 2 * pad
    parts.append(f'<rect x="{pad}" y="{pad}" width="{plot_w}" height="{plot_h}" '
                 'fill="none" stroke="#d0d7de"/>')  # fmt: skip
    for y in (y0, (y0 + y1) / 2, y1):
        parts.append(f'<text x="{pad - 6}" y="{sy(y) + 4:.1f}" text-anchor="end">'
                     f"{html.escape(y_format.format(y))}</text>")  # fmt: skip

    def label(x: float) -> str:
        return html.escape(x_format.format(x)) if x_format else _date(x)

    parts.append(f'<text x="{pad}" y="{height - pad + 18}">{label(x0)}</text>')
    right = pad + plot_w
    parts.append(f'<text x="{right}" y="{height - pad + 18}" text-anchor="end">{label(x1)}</text>')
    if zero_line and y0 < 0 < y1:
        parts.append(f'<line x1="{pad}" x2="{right}" y1="{sy(0):.1f}" y2="{sy(0):.1f}" '
                     'stroke="#57606a" stroke-dasharray="4 3"/>')  # fmt: skip
    finite_band = [b for b in band if all(math.isfinite(v) for v in b)]
    if finite_band:
        upper = " ".join(f"{sx(x):.1f},{sy(hi):.1f}" for x, _, hi in finite_band)
        lower = " ".join(f"{sx(x):.1f},{sy(lo):.1f}" for x, lo, _ in reversed(finite_band))
        parts.append(f'<polygon points="{upper} {lower}" fill="#1f6feb" fill-opacity="0.15"/>')
    for i, (name, points) in enumerate(series.items()):
        colour = COLOURS[i % len(COLOURS)]
        finite = [(x, y) for x, y in points if math.isfinite(y)]
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in finite)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        parts.append(f'<text x="{right + 6}" y="{pad + 14 * (i + 1)}" style="fill:{colour}">'
                     f"{html.escape(name)}</text>")  # fmt: skip
    parts.append("</svg>")
    return f"<figure><figcaption>{html.escape(title)}</figcaption>{''.join(parts)}</figure>"


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
            rows.append(f"<tr class='metric'><th colspan='8'>{html.escape(metric['metric'])} "
                        f"<small>({html.escape(metric['kind'])})</small></th></tr>")  # fmt: skip
            rows.append(f"<tr><td>{html.escape(control['variation'])} (control)</td>"
                        f"<td>{control['users']}</td><td>{_fmt(control['mean'])}</td>"
                        "<td colspan='5'></td></tr>")  # fmt: skip
            for variation in metric["variations"]:
                rel, absolute = variation["relative"], variation["absolute"]
                seq = absolute["sequential"]
                rows.append(
                    f"<tr><td>{html.escape(variation['variation'])}</td><td>{variation['users']}</td>"
                    f"<td>{_fmt(variation['mean'])}</td><td>{percent(rel['estimate'])}</td>"
                    f"<td>[{percent(rel['fixed']['ci_lower'])}, "
                    f"{percent(rel['fixed']['ci_upper'])}]</td>"
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
        charts = line_chart(lift_title, lift_series, band, zero_line=True)
        charts += line_chart(f"Cumulative {primary} per variation", rates)
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    rollout = document.get("rollout_variation")
    rolled = f"· rolled out <b>{html.escape(str(rollout))}</b>" if rollout else ""
    mismatch = bool(srm and srm.get("mismatch"))
    srm_badge = '<span class="badge bad">mismatch' if mismatch else '<span class="badge">ok'
    srm_p = f"(p = {_fmt(srm['p_value'], 3)})" if srm else ""
    state = html.escape(str(winner.get("state", "no rule")))
    table = "".join(rows) or '<tr><td colspan="8">No exposures yet.</td></tr>'
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>decide · {html.escape(key)}</title>
<style>{STYLE}</style></head><body>
<h1>Experiment <code>{html.escape(key)}</code></h1>
<p>Placement <code>{html.escape(str(document.get("placement")))}</code> · status
<span class="badge">{html.escape(document["status"])}</span>
· phase {document["phase"]} {rolled}</p>
<p>Sample ratio: {srm_badge}</span> {srm_p} · winner rule: <span class="badge">{state}</span>
{html.escape(str(winner.get("reason", "")))}</p>
<table><thead><tr><th>variation</th><th>users</th><th>mean</th><th>relative lift</th>
<th>95% CI</th><th>p (fixed)</th><th>p (sequential)</th><th>chance to beat control</th></tr></thead>
<tbody>{table}</tbody></table>
{charts}
<p><small>Generated {generated} by decide. Users are contacts exposed in this phase; each metric
counts a contact once (binomial) or sums its values before squaring.</small></p>
</body></html>"""


def _date(epoch_day: float) -> str:
    return datetime.fromtimestamp(epoch_day * 86_400, UTC).strftime("%Y-%m-%d")


def _num(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else math.nan
