"""Send-time and channel simulations: does per-contact learning beat a fixed hour and the
population's best, and how close does it come to an oracle?

Run ``python -m loadtest.engagement_sims send-time`` (email only, the time is chosen) or
``... channels`` (channel and time). The world and the policies are described in
``personalization.engagement_sim``; every policy faces the same contacts and the same random
outcomes, so the ratios below are paired by contact (95% intervals by the delta method).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from loadtest.bandit_sims import progress_bar, table
from personalization.engagement_sim import KINDS, POLICIES, SimConfig, SimResult, simulate

LAST_DAYS = 7  # "within 60 days": judged on the final week as well as on the whole run
CLAIMS = (
    ("decide gain >= 60% of oracle gain", "oracle", 0.6),
    ("decide gain >= 2x population_best gain", "population_best", 2.0),
)


def write_plot(result: SimResult, path: str) -> None:
    """Uplift over fixed by day, one line per policy: SVG (or an HTML page) via the report pages'
    chart, PNG via matplotlib (imported only here: slow to import, not a service dependency)."""
    days = range(1, result.config.days + 1)
    series = {
        p: list(zip(days, result.daily_uplift(p).tolist(), strict=True))
        for p in POLICIES
        if p != "fixed"
    }
    title = f"{result.config.kind}: engagement uplift over fixed (10:00 local, email), by day"
    if path.endswith(".png"):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(9, 4))
        for name, points in series.items():
            ax.plot([x for x, _ in points], [100 * y for _, y in points], label=name)
        ax.set(title=title, xlabel="day", ylabel="uplift over fixed (%)")
        ax.axhline(0, color="grey", linewidth=0.5)
        ax.legend()
        fig.savefig(path, dpi=120, bbox_inches="tight")
        plt.close(fig)
    else:
        from decide.report_html import line_chart

        figure = line_chart(
            title, series, y_format="{:+.0%}", zero_line=True, x_format="day {:.0f}"
        )
        if path.endswith(".svg"):  # a standalone image: the chart's <svg>, with its namespace
            svg = figure[figure.index("<svg") : figure.index("</svg>") + len("</svg>")]
            text = svg.replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1)
        else:
            text = f"<!doctype html><meta charset='utf-8'><body>{figure}</body>"
        with open(path, "w", encoding="utf-8") as out:
            out.write(text)
    print(f"uplift curves written to {path}", file=sys.stderr)


def report(result: SimResult, per_day: bool) -> bool:
    """Print the tables; True when every claim holds on both windows."""
    config, days = result.config, result.config.days
    last = slice(max(0, days - LAST_DAYS), None)
    if per_day:
        table(
            "Engagement rate by day",
            ["day", *POLICIES, *(f"{p} uplift" for p in POLICIES[1:])],
            [
                [
                    d + 1,
                    *(f"{result.rate(p, slice(d, d + 1)):.4f}" for p in POLICIES),
                    *(f"{result.daily_uplift(p)[d]:+.1%}" for p in POLICIES[1:]),
                ]
                for d in range(days)
            ],
        )
    table(
        f"{config.kind}: {config.contacts:,} contacts, {config.history_days} days of imported "
        f"history, {days} days, seed {config.seed}",
        [
            "policy",
            "engagement rate",
            "uplift over fixed",
            f"uplift, last {LAST_DAYS} days",
            "net value per message",
        ],
        [
            [
                p,
                f"{result.rate(p):.4f}",
                f"{result.uplift(p):+.1%}",
                f"{result.uplift(p, last):+.1%}",
                f"{result.value[p].mean():.4f}",
            ]
            for p in POLICIES
        ],
    )
    rows, passed = [], True
    for claim, other, target in CLAIMS:
        for window, span in (("all days", slice(None)), (f"last {LAST_DAYS} days", last)):
            ratio, low, high = result.gain_ratio("decide", other, span)
            ok = ratio >= target
            passed &= ok
            rows.append(
                [claim, window, f"{ratio:.2f} [{low:.2f}, {high:.2f}]", "PASS" if ok else "FAIL"]
            )
    table("Claims (gain = net value over fixed, paired by contact)",
          ["claim", "window", "ratio [95% CI]", "result"], rows)  # fmt: skip
    return passed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument("--contacts", type=int, default=SimConfig.contacts)
    parser.add_argument("--days", type=int, default=SimConfig.days)
    parser.add_argument("--history-days", type=int, default=SimConfig.history_days)
    parser.add_argument("--seed", type=int, default=SimConfig.seed)
    parser.add_argument(
        "--explore-time", action="store_true",
        help="decide draws send times by Thompson sampling (default: posterior mean)",
    )  # fmt: skip
    parser.add_argument("--summary-only", action="store_true", help="skip the table by day")
    parser.add_argument("--plot", metavar="FILE.svg|FILE.png", help="uplift over fixed by day")
    args = parser.parse_args(list(argv) if argv is not None else None)
    if args.contacts < 1 or args.days < 1 or args.history_days < 0:
        parser.error("--contacts and --days must be positive, --history-days not negative")
    config = SimConfig(
        kind=args.kind, contacts=args.contacts, days=args.days, history_days=args.history_days,
        seed=args.seed, explore_time=args.explore_time,
    )  # fmt: skip
    start = time.perf_counter()
    result = simulate(config, progress_bar(f"{args.kind} {args.contacts:,} contacts"))
    print(f"# engagement simulation, {time.perf_counter() - start:.0f} s")
    report(result, per_day=not args.summary_only)
    if args.plot:
        write_plot(result, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
