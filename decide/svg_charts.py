"""Inline SVG charts for the report pages: no script, no external request, readable offline."""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime

Point = tuple[float, float]
COLOURS = ("#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df", "#bf3989")


def epoch_day_label(epoch_day: float) -> str:
    return datetime.fromtimestamp(epoch_day * 86_400, UTC).strftime("%Y-%m-%d")


def epoch_label(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%d %H:%M")


def _figure(title: str, body: str) -> str:
    return f"<figure><figcaption>{html.escape(title)}</figcaption>{body}</figure>"


def line_chart(
    title: str,
    series: Mapping[str, Sequence[Point]],
    band: Sequence[tuple[float, float, float]] = (),
    y_format: str = "{:.3g}",
    zero_line: bool = False,
    x_label: Callable[[float], str] = epoch_day_label,
    x_format: str | None = None,  # shorthand for x_label=x_format.format, e.g. "round {:.0f}"
    colours: Mapping[str, str] | None = None,
    band_colour: str = COLOURS[0],
) -> str:
    """One line per series over x (by default an epoch day), an optional shaded interval band.
    `colours` by series name keeps a series' colour the same across the charts of a page;
    without it (or for a name it lacks) series take COLOURS in order."""
    if x_format is not None:
        x_label = x_format.format
    legend = max(90, 7 * max((len(name) for name in series), default=0))
    width, height, pad = 640 + legend, 260, 56
    xs = [x for pts in series.values() for x, _ in pts] + [b[0] for b in band]
    ys = [y for pts in series.values() for _, y in pts] + [v for b in band for v in b[1:]]
    ys = [y for y in ys if math.isfinite(y)] + ([0.0] if zero_line else [])
    if not xs or not ys:
        return _figure(title, "<p>No data yet.</p>")
    x0, x1 = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1
    y0, y1 = min(ys), max(ys) if max(ys) > min(ys) else min(ys) + 1
    plot_w, plot_h = width - 2 * pad - legend, height - 2 * pad

    def sx(x: float) -> float:
        return pad + (x - x0) / (x1 - x0) * plot_w

    def sy(y: float) -> float:
        return height - pad - (y - y0) / (y1 - y0) * plot_h

    parts = [f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{html.escape(title)}">']
    parts.append(f'<rect x="{pad}" y="{pad}" width="{plot_w}" height="{plot_h}" '
                 'fill="none" stroke="#d0d7de"/>')  # fmt: skip
    for y in (y0, (y0 + y1) / 2, y1):
        parts.append(f'<text x="{pad - 6}" y="{sy(y) + 4:.1f}" text-anchor="end">'
                     f"{html.escape(y_format.format(y))}</text>")  # fmt: skip
    right = pad + plot_w
    parts.append(f'<text x="{pad}" y="{height - pad + 18}">{html.escape(x_label(x0))}</text>')
    parts.append(f'<text x="{right}" y="{height - pad + 18}" text-anchor="end">'
                 f"{html.escape(x_label(x1))}</text>")  # fmt: skip
    if zero_line and y0 < 0 < y1:
        parts.append(f'<line x1="{pad}" x2="{right}" y1="{sy(0):.1f}" y2="{sy(0):.1f}" '
                     'stroke="#57606a" stroke-dasharray="4 3"/>')  # fmt: skip
    finite_band = [b for b in band if all(math.isfinite(v) for v in b)]
    if finite_band:
        upper = " ".join(f"{sx(x):.1f},{sy(hi):.1f}" for x, _, hi in finite_band)
        lower = " ".join(f"{sx(x):.1f},{sy(lo):.1f}" for x, lo, _ in reversed(finite_band))
        parts.append(f'<polygon points="{upper} {lower}" fill="{band_colour}" '
                     'fill-opacity="0.15"/>')  # fmt: skip
    for i, (name, points) in enumerate(series.items()):
        colour = (colours or {}).get(name) or COLOURS[i % len(COLOURS)]
        finite = [(x, y) for x, y in points if math.isfinite(y)]
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in finite)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        if len(finite) == 1:  # a single point draws no line: show it as a dot
            parts.append(f'<circle cx="{sx(finite[0][0]):.1f}" cy="{sy(finite[0][1]):.1f}" '
                         f'r="3" fill="{colour}"/>')  # fmt: skip
        parts.append(f'<text x="{right + 6}" y="{pad + 14 * (i + 1)}" style="fill:{colour}">'
                     f"{html.escape(name)}</text>")  # fmt: skip
    parts.append("</svg>")
    return _figure(title, "".join(parts))


def column_chart(title: str, columns: Sequence[tuple[str, float]], y_format: str = "{:.0f}") -> str:
    """One column per (label, value), e.g. decisions per channel or per local hour."""
    if not columns or not any(v > 0 for _, v in columns):
        return _figure(title, "<p>No data yet.</p>")
    width, height, pad = 640, 220, 40
    top = max(v for _, v in columns)
    step = (width - 2 * pad) / len(columns)
    plot_h = height - 2 * pad
    parts = [f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{html.escape(title)}">']
    parts.append(f'<line x1="{pad}" x2="{width - pad}" y1="{height - pad}" y2="{height - pad}" '
                 'stroke="#d0d7de"/>')  # fmt: skip
    for i, (label, value) in enumerate(columns):
        bar_h = max(0.0, value) / top * plot_h
        x = pad + i * step
        parts.append(f'<rect x="{x + step * 0.15:.1f}" y="{height - pad - bar_h:.1f}" '
                     f'width="{step * 0.7:.1f}" height="{bar_h:.1f}" fill="{COLOURS[0]}">'
                     f"<title>{html.escape(label)}: {html.escape(y_format.format(value))}</title>"
                     "</rect>")  # fmt: skip
        centre = x + step / 2
        parts.append(f'<text x="{centre:.1f}" y="{height - pad + 14}" text-anchor="middle">'
                     f"{html.escape(label)}</text>")  # fmt: skip
        if value > 0:
            shown = html.escape(y_format.format(value))
            parts.append(
                f'<text x="{centre:.1f}" y="{height - pad - bar_h - 4:.1f}" '
                f'text-anchor="middle">{shown}</text>'
            )
    parts.append("</svg>")
    return _figure(title, "".join(parts))
