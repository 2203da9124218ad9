"""Full-size bandit checks: regret against MABWiser, batching, pooling, drift, OPE, hot path.

Run ``python -m loadtest.bandit_sims`` (defaults: 1,000 seeds x 10,000 rounds). Every comparison
is paired: policies see the same reward stream per seed (common random numbers, see
``bandits.environment``), so differences have far tighter intervals than independent runs.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace

import numpy as np

from bandits.config import ALGORITHMS, BanditConfig
from bandits.environment import Environment
from bandits.ope import OffPolicyEstimate, doubly_robust, ips, snips
from bandits.policy import choose, make_policy
from bandits.simulate import Simulation, SimulationResult, simulate
from bandits.stats import ArmStats, FloatArray

RATES = (0.04, 0.045, 0.05, 0.055, 0.06)
DRIFTED = (0.08, 0.045, 0.05, 0.055, 0.02)  # best 6% -> 2%, worst 4% -> 8%
DECISIONS_PER_SECOND = 100  # stated traffic: weights refresh once per simulated second
DECISIONS_PER_DAY = 1000  # drift check: 10,000 rounds = 10 days, one bucket per day
DISCOUNT_PER_DAY = 0.5  # drift check: yesterday counts half
HIERARCHY_CAP = 1000.0  # prior_strength cap for the pooling check (the default is 10)
Z95 = 1.959963984540054


@dataclass(frozen=True)
class Summary:
    mean: float
    low: float
    high: float
    n: int


def summary(values: FloatArray) -> Summary:
    half = Z95 * float(values.std(ddof=1)) / np.sqrt(values.size)
    mean = float(values.mean())
    return Summary(mean, mean - half, mean + half, int(values.size))


def ratio(numerator: FloatArray, denominator: FloatArray) -> Summary:
    """Ratio of paired means with a delta-method 95% interval."""
    r = float(numerator.mean() / denominator.mean())
    se = float((numerator - r * denominator).std(ddof=1)) / np.sqrt(numerator.size)
    half = Z95 * se / float(denominator.mean())
    return Summary(r, r - half, r + half, int(numerator.size))


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    cells = [[str(c) for c in header], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    print(f"\n## {title}\n")
    for i, row in enumerate(cells):
        print(
            "  ".join(
                c.rjust(w) if j else c.ljust(w)
                for j, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if i == 0:
            print("  ".join("-" * w for w in widths))
    sys.stdout.flush()


CURVES: dict[str, FloatArray] = {}  # label -> mean cumulative regret per round, for --plot


def progress_bar(label: str) -> Callable[[int, int], None]:
    def show(done: int, total: int) -> None:
        filled = 30 * done // total
        bar = "#" * filled + "." * (30 - filled)
        end = "\n" if done == total else ""
        print(
            f"\r  {label} [{bar}] {100 * done // total:3d}%", end=end, file=sys.stderr, flush=True
        )

    return show


def timed(
    label: str, run: Callable[[Callable[[int, int], None]], SimulationResult]
) -> SimulationResult:
    start = time.perf_counter()
    result = run(progress_bar(label))
    print(f"  {label}: {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
    CURVES[label] = result.regret_curve
    return result


def write_plot(path: str) -> None:
    """Regret curves (mean over seeds) as an SVG, drawn with the report pages' chart."""
    from decide.report_html import line_chart

    series = {}
    for label, curve in CURVES.items():
        step = max(1, len(curve) // 200)
        series[label] = [(float(t + 1), float(curve[t])) for t in range(step - 1, len(curve), step)]
    svg = line_chart("Mean cumulative regret by round", series, x_format="round {:.0f}")
    with open(path, "w", encoding="utf-8") as out:
        out.write(f"<!doctype html><meta charset='utf-8'><body>{svg}</body>")
    print(f"regret curves written to {path}", file=sys.stderr)


# --- MABWiser (benchmark-only dependency, imported lazily in the worker) ----------------------


def mabwiser_regret(job: tuple[int, int, int]) -> float:
    """One seed of MABWiser's Thompson sampling on the same reward stream as ours."""
    from mabwiser.mab import MAB, LearningPolicy  # type: ignore[import-untyped]

    replicate, rounds, env_seed = job
    env = Environment.stationary(RATES, seed=env_seed)
    arms = len(RATES)
    pulls = np.arange(rounds)
    zeros = np.zeros(rounds, dtype=np.intp)
    # rewards[k, j]: the reward of the j-th pull of arm k, exactly as bandits.simulate draws it.
    rewards = np.stack(
        [
            env.rewards(np.full(rounds, replicate), zeros, np.full(rounds, k), pulls, 0)
            for k in range(arms)
        ]
    )
    mab = MAB(list(range(arms)), LearningPolicy.ThompsonSampling(), seed=replicate)
    mab.fit(decisions=[], rewards=[])
    counts = [0] * arms
    regret = 0.0
    best = max(RATES)
    for _ in range(rounds):
        arm = int(mab.predict())
        reward = float(rewards[arm, counts[arm]])
        counts[arm] += 1
        mab.partial_fit(decisions=[arm], rewards=[reward])
        regret += best - RATES[arm]
    return regret


def run_mabwiser(seeds: int, rounds: int, env_seed: int, workers: int) -> FloatArray | str:
    try:
        import mabwiser  # type: ignore[import-untyped]  # noqa: F401
    except ImportError as error:
        return f"MABWiser is not installed ({error}); `pip install mabwiser` to compare"
    jobs = [(r, rounds, env_seed) for r in range(seeds)]
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        regrets = list(pool.map(mabwiser_regret, jobs, chunksize=max(1, seeds // (8 * workers))))
    took = time.perf_counter() - start
    print(f"  mabwiser {seeds} seeds on {workers} workers: {took:.1f} s", file=sys.stderr)
    return np.array(regrets)


# --- the checks -------------------------------------------------------------------------------


def fmt(s: Summary, digits: int = 1) -> str:
    return f"{s.mean:.{digits}f} [{s.low:.{digits}f}, {s.high:.{digits}f}]"


def check_regret(args: argparse.Namespace) -> None:
    env = Environment.stationary(RATES, seed=args.env_seed)
    refresh = DECISIONS_PER_SECOND

    def run(config: BanditConfig, refresh_every: int = 1) -> FloatArray:
        sim = Simulation(config, args.rounds, args.seeds, refresh_every=refresh_every)
        label = f"{config.algorithm} mc_draws={config.mc_draws} refresh={refresh_every}"
        return timed(
            label, lambda show: simulate(env, sim, np.random.default_rng(args.seed), show)
        ).regret

    ours = run(BanditConfig(mc_draws=1))
    batched = run(BanditConfig(), refresh)
    greedy = run(BanditConfig(algorithm="epsilon_greedy", epsilon=0.1))
    uniform = run(BanditConfig(algorithm="uniform"))
    mab = run_mabwiser(args.mabwiser_seeds, args.rounds, args.env_seed, args.workers)

    rows = [
        ["ours: Thompson, online (per-decision draw)", args.seeds, fmt(summary(ours))],
        [
            f"ours: Thompson, weights ({BanditConfig().mc_draws} draws) every {refresh} rounds",
            args.seeds,
            fmt(summary(batched)),
        ],
        ["ours: epsilon-greedy(0.1)", args.seeds, fmt(summary(greedy))],
        ["ours: uniform", args.seeds, fmt(summary(uniform))],
    ]
    if isinstance(mab, str):
        rows.append(["MABWiser Thompson", 0, mab])
    else:
        rows.insert(1, ["MABWiser 2.7 Thompson (online)", mab.size, fmt(summary(mab))])
    title = f"Regret after {args.rounds:,} rounds, arms {RATES} (mean [95% CI])"
    table(title, ["policy", "seeds", "regret"], rows)

    if not isinstance(mab, str):
        paired = ours[: mab.size] - mab
        d = summary(paired)
        base = float(mab.mean())
        table(
            "Ours (online) minus MABWiser, paired by seed",
            ["seeds", "difference", "as % of MABWiser", "target", "met"],
            [
                [
                    d.n,
                    fmt(d, 2),
                    f"{100 * d.mean / base:+.1f}% "
                    f"[{100 * d.low / base:+.1f}%, {100 * d.high / base:+.1f}%]",
                    "upper < +5%",
                    "yes" if 100 * d.high / base < 5 else "NO",
                ]
            ],
        )
    r = ratio(batched, ours)
    table(
        f"Batched refresh ({DECISIONS_PER_SECOND} decisions/s, refresh every second = "
        f"{refresh} rounds) vs fully online",
        ["seeds", "regret ratio [95% CI]", "target", "met"],
        [[r.n, fmt(r, 3), "<= 1.2", "yes" if r.mean <= 1.2 else "NO"]],
    )


def check_hierarchy(args: argparse.Namespace) -> None:
    worlds = 10
    per_world = max(1, args.seeds // worlds)
    results: dict[str, list[FloatArray]] = {"independent": [], "cap 10": [], "cap 1000": []}
    for world in range(worlds):
        env = Environment.related_segments(
            RATES, 20, 0.1, np.random.default_rng(1000 + world), seed=world
        )
        for name, strength in (("independent", 0.0), ("cap 10", 10.0), ("cap 1000", HIERARCHY_CAP)):
            sim = Simulation(
                BanditConfig(mc_draws=1, prior_strength=strength), args.rounds, per_world
            )
            start = time.perf_counter()
            results[name].append(simulate(env, sim, np.random.default_rng(world)).regret)
            took = time.perf_counter() - start
            print(f"  world {world} {name}: {took:.1f} s", file=sys.stderr, flush=True)
    independent = np.concatenate(results["independent"])
    rows = [
        [
            "independent per-segment Thompson",
            independent.size,
            fmt(summary(independent)),
            "",
            "",
            "",
        ]
    ]
    for name in ("cap 10", "cap 1000"):
        pooled = np.concatenate(results[name])
        r = ratio(pooled, independent)
        met = "yes" if r.mean <= 0.8 else "NO"
        rows.append(
            [
                f"hierarchical Thompson, MoM strength, {name}",
                pooled.size,
                fmt(summary(pooled)),
                fmt(r, 3),
                "<= 0.8",
                met,
            ]
        )
    table(
        f"20 segments, rates ~ base x exp(N(0, 0.1^2)), {worlds} draws of the rates, "
        f"{args.rounds:,} rounds in all (~{args.rounds // 20} per segment)",
        ["policy", "seeds", "regret", "ratio to independent", "target", "met"],
        rows,
    )


def check_drift(args: argparse.Namespace) -> None:
    change = args.rounds // 2
    window = min(2000, args.rounds - change)
    env = Environment.drifting([(0, RATES), (change, DRIFTED)], seed=args.env_seed)
    fresh_env = Environment.stationary(DRIFTED, seed=args.env_seed)
    config = BanditConfig(mc_draws=1)

    def run(e: Environment, rounds: int, discount: float) -> SimulationResult:
        sim = Simulation(
            config, rounds, args.seeds, discount_per_day=discount, rounds_per_day=DECISIONS_PER_DAY
        )
        return timed(
            f"drift discount={discount}",
            lambda show: simulate(e, sim, np.random.default_rng(args.seed), show),
        )

    plain = run(env, args.rounds, 1.0)
    forgetting = run(env, args.rounds, DISCOUNT_PER_DAY)
    fresh = run(fresh_env, window, 1.0)

    def row(name: str, r: SimulationResult, offset: int) -> list[object]:
        return [
            name,
            f"{r.best_share[offset : offset + window].mean():.1%}",
            f"{r.best_share[offset + window - 200 : offset + window].mean():.1%}",
            f"{r.leader_share[offset + window - 1]:.1%}",
            fmt(summary(r.regret)) if offset else "",
        ]

    table(
        f"Drift at round {change:,}: {RATES} -> {DRIFTED}; {DECISIONS_PER_DAY:,} decisions/day, "
        f"{args.seeds} seeds; target >= 80% on the new best within {window:,} rounds",
        [
            "policy",
            f"decisions to new best, rounds 0-{window}",
            f"... rounds {window - 200}-{window}",
            f"leader = new best at round {window}",
            "total regret",
        ],
        [
            row("Thompson, no forgetting", plain, change),
            row(f"Thompson, discount {DISCOUNT_PER_DAY}/day", forgetting, change),
            row("bound: Thompson restarted at the change", fresh, 0),
        ],
    )


def check_ope(args: argparse.Namespace) -> None:
    rates = np.array(RATES)
    truth = float(rates.max())
    rng = np.random.default_rng(args.seed)
    size, reps = args.ope_size, args.ope_reps
    estimates: dict[str, list[OffPolicyEstimate]] = {"IPS": [], "SNIPS": [], "DR": []}
    for _ in range(reps):
        arm = rng.integers(0, rates.size, size)
        reward = (rng.random(size) < rates[arm]).astype(np.float64)
        propensity = np.full(size, 1.0 / rates.size)
        probs = np.zeros((size, rates.size))
        probs[:, rates.argmax()] = 1.0
        target = probs[np.arange(size), arm]
        estimates["IPS"].append(ips(propensity, reward, target))
        estimates["SNIPS"].append(snips(propensity, reward, target))
        # A deliberately wrong reward model (5% for every arm): DR must correct its bias.
        estimates["DR"].append(
            doubly_robust(propensity, arm, reward, probs, np.full(rates.size, 0.05))
        )
    rows = []
    for name, found in estimates.items():
        values = np.array([e.estimate for e in found])
        half = np.mean([(e.high - e.low) / 2 for e in found])
        covered = np.mean([e.low <= truth <= e.high for e in found])
        within = np.mean(np.abs(values / truth - 1) <= 0.1)
        rows.append(
            [
                name,
                f"{values.mean():.5f}",
                f"{100 * (values.mean() / truth - 1):+.2f}%",
                f"{within:.0%}",
                f"{half:.5f}",
                f"{covered:.0%}",
                "yes" if covered >= 0.9 and within >= 0.95 else "NO",
            ]
        )
    table(
        f"OPE: uniform logging over 5 arms, deterministic target (the {truth:.0%} arm), "
        f"{size:,} decisions x {reps} repetitions",
        [
            "estimator",
            "mean estimate",
            "bias",
            "within 10%",
            "mean CI half-width",
            "CI coverage",
            "met (>= 90%)",
        ],
        rows,
    )


def check_hot_path(args: argparse.Namespace) -> None:
    stats = {f"arm{i}": ArmStats(1000, 1000 * r, 1000 * r) for i, r in enumerate(RATES)}
    rng = np.random.default_rng(0)
    rows = []
    for algorithm in ALGORITHMS:
        reward = "value" if algorithm == "gaussian_thompson" else "binary"
        for guarded in (False, True):
            config = BanditConfig(algorithm=algorithm, reward=reward)
            if guarded:
                config = replace(config, floor=0.01, control="arm0", control_share=0.1)
            policy = make_policy(config)
            times = []
            for _ in range(args.timing_calls):
                start = time.perf_counter()
                policy.weights(stats, rng)
                times.append(time.perf_counter() - start)
            rows.append(
                [algorithm, "floor, control" if guarded else "-", f"{1e6 * np.median(times):.0f}"]
            )
    weights = make_policy(BanditConfig()).weights(stats, rng)
    times = []
    for _ in range(args.timing_calls):
        start = time.perf_counter()
        choose(weights, rng)
        times.append(time.perf_counter() - start)
    rows.append(["choose()", "-", f"{1e6 * np.median(times):.1f}"])
    table(
        f"Hot path, 5 arms: median us per weights() call over {args.timing_calls} calls",
        ["policy", "guard rails", "us"],
        rows,
    )


CHECKS: dict[str, Callable[[argparse.Namespace], None]] = {
    "regret": check_regret,
    "hierarchy": check_hierarchy,
    "drift": check_drift,
    "ope": check_ope,
    "hotpath": check_hot_path,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=1000, help="replicates per policy")
    parser.add_argument("--rounds", type=int, default=10_000, help="decisions per replicate")
    parser.add_argument("--mabwiser-seeds", type=int, default=None, help="default: --seeds")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="for MABWiser")
    parser.add_argument("--ope-size", type=int, default=50_000, help="logged decisions per OPE log")
    parser.add_argument("--ope-reps", type=int, default=100, help="OPE repetitions")
    parser.add_argument("--timing-calls", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=20251125, help="policy RNG seed")
    parser.add_argument("--env-seed", type=int, default=1, help="reward-stream seed")
    parser.add_argument("--only", choices=sorted(CHECKS), action="append", help="run some checks")
    parser.add_argument("--plot", metavar="FILE.svg", help="write the regret curves here")
    args = parser.parse_args(argv)
    if args.mabwiser_seeds is None:
        args.mabwiser_seeds = args.seeds
    start = time.perf_counter()
    print(
        f"# bandit simulations: --seeds {args.seeds} --rounds {args.rounds} "
        f"--mabwiser-seeds {args.mabwiser_seeds}"
    )
    for name in args.only or list(CHECKS):
        CHECKS[name](args)
    if args.plot:
        write_plot(args.plot)
    print(f"\n(total {time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
