"""P4: the pure core's choice against MABWiser + the GrowthBook SDK, side by side in one run.

    python -m loadtest.bench core [--contacts 20000] [--repeat 5]

One decision of the core is a GrowthBook-compatible hash and an experiment assignment
(`experiments.assignment.assign`) plus a Thompson bandit choice over the same three arms
(`bandits`). The baseline is the GrowthBook Python SDK's `GrowthBook.run(Experiment)` for
the same experiment and contact, plus MABWiser's `MAB(arms, ThompsonSampling()).predict()`
fitted on the same counters. The bandit choice is timed three ways, because a served
decision does not compute a posterior:
- as served: the worker caches the arm weights (P(arm is best), 2,000 Monte-Carlo draws)
  per `refresh_ms` (1 s by default) and a decision is one categorical draw from them
  (`decide/bandit_serving.py`); the refresh is timed on its own line;
- a fresh posterior draw per decision: one Beta draw per arm and the argmax, which is what
  MABWiser's predict does (the same Beta(1 + clicks, 1 + misses) posterior);
- fresh weights per decision: the 2,000-draw propensities recomputed every time (what the
  cache saves).
The shell's own objects (`decide.decisions.choose`/`choose_bandit`: Choice, reasons) are a
further row, and rendering a two-token template is reported on its own line.

Both libraries are benchmark-only (`pip install 'decide[bench]'`). Before timing, the run
asserts the SDK puts every contact in the same variation as our hashing, and that MABWiser's
choices and our weights agree in distribution.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from bandits.argmax import split_argmax
from bandits.config import BanditConfig
from bandits.policy import choose as draw
from bandits.policy import make_policy
from bandits.posterior import sample_means
from bandits.stats import ArmStats, to_arrays
from experiments.assignment import ExperimentSpec, Variation, assign

ARMS = ("control", "discount", "shipping")
WEIGHTS = (0.34, 0.33, 0.33)
# (trials, clicks) per arm: close enough that the bandit still explores.
COUNTERS = {"control": (1000, 50), "discount": (1000, 60), "shipping": (1000, 70)}
EXPERIMENT_KEY = "hero_copy"
SPEC = ExperimentSpec(
    key=EXPERIMENT_KEY,
    seed=EXPERIMENT_KEY,
    hash_version=2,
    phase=1,
    status="running",
    variations=tuple(Variation(k, k, w) for k, w in zip(ARMS, WEIGHTS, strict=True)),
)
PLACEMENTS = {
    "hero": {
        "channels": ["web"],
        "policy": {"type": "experiment", "experiment": EXPERIMENT_KEY},
        "messages": [{"key": k, "content": {"web": {"headline":
            "Hi {{ contact.first_name | default: 'there' }} in {{ contact.city }}"}}}
            for k in ARMS],
    },
    "banner": {
        "channels": ["web"],
        "policy": {"type": "bandit", "algorithm": "thompson"},
        "messages": [{"key": k, "content": {"web": {"t": k}}} for k in ARMS],
    },
}  # fmt: skip
EXPERIMENT_DOC = {
    "placement": "hero",
    "status": "running",
    "seed": EXPERIMENT_KEY,
    "hash_version": 2,
    "variations": [
        {"key": k, "message": k, "weight": w} for k, w in zip(ARMS, WEIGHTS, strict=True)
    ],
    "metrics": {"primary": {"event": "click", "type": "binomial"}},
}


def arm_stats() -> dict[str, ArmStats]:
    return {arm: ArmStats(n, s, s) for arm, (n, s) in COUNTERS.items()}


def contacts(count: int) -> list[str]:
    return [f"contact-{i}" for i in range(count)]


def per_call_us(run: Callable[[], None], calls: int, repeat: int) -> float:
    """µs per call: the best of `repeat` rounds (the least disturbed by other processes)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best / calls * 1e6


# --- the core -----------------------------------------------------------------------------


def core_as_served(ids: Sequence[str], weights: dict[str, float], rng: np.random.Generator):
    def run() -> None:
        for cid in ids:
            assign(SPEC, cid, {})
            draw(weights, rng)

    return run


def core_fresh_draw(ids: Sequence[str], rng: np.random.Generator):
    n, s, ss = to_arrays(arm_stats())

    def run() -> None:
        for cid in ids:
            assign(SPEC, cid, {})
            shares = split_argmax(sample_means(n, s, ss, "binary", 1, rng)[..., 0])
            _ = ARMS[int(np.argmax(shares))]

    return run


def core_fresh_weights(ids: Sequence[str], config: BanditConfig, rng: np.random.Generator):
    policy, stats = make_policy(config), arm_stats()

    def run() -> None:
        for cid in ids:
            assign(SPEC, cid, {})
            draw(policy.weights(stats, rng), rng)

    return run


def shell_as_served(ids: Sequence[str], weights: dict[str, float], rng: np.random.Generator):
    """The same through decide's shell functions, which build a Choice with its reasons."""
    from decide import decisions
    from decide.config.experiments import parse_experiment
    from decide.config.placements import parse_placement

    hero = parse_placement("hero", PLACEMENTS["hero"])
    banner = parse_placement("banner", PLACEMENTS["banner"])
    experiment = parse_experiment(EXPERIMENT_KEY, EXPERIMENT_DOC)
    data: dict[str, Any] = {"contact": {}, "behaviour": {}, "context": {}}

    def run() -> None:
        for cid in ids:
            decisions.choose(hero, experiment, cid, data)
            decisions.choose_bandit(banner, weights, rng)

    return run


def render_two_tokens() -> Callable[[], None]:
    from decide import decisions
    from decide.config.placements import parse_placement

    message = parse_placement("hero", PLACEMENTS["hero"]).messages[ARMS[0]]
    data = {"contact": {"first_name": "Sara", "city": "Tehran"}, "behaviour": {}, "context": {}}
    return lambda: decisions.render(message, ["web"], "en", data)


# --- the baseline -------------------------------------------------------------------------


def growthbook_experiment() -> Any:
    from growthbook import Experiment

    return Experiment(key=EXPERIMENT_KEY, variations=list(ARMS), weights=list(WEIGHTS),
                      hashVersion=2, seed=EXPERIMENT_KEY)  # fmt: skip


def growthbook_reused(ids: Sequence[str]):
    """One SDK instance for the process, its attributes set per contact: the cheapest use."""
    from growthbook import GrowthBook

    gb, experiment = GrowthBook(), growthbook_experiment()

    def run() -> None:
        for cid in ids:
            gb.set_attributes({"id": cid})
            gb.run(experiment)

    return run


def growthbook_per_request(ids: Sequence[str]):
    """A GrowthBook per request with the user's attributes, as its server-side docs show."""
    from growthbook import GrowthBook

    experiment = growthbook_experiment()

    def run() -> None:
        for cid in ids:
            GrowthBook(attributes={"id": cid}).run(experiment)

    return run


def fitted_mab(seed: int) -> Any:
    """MABWiser's Thompson sampling fitted on the same counters (one row per trial)."""
    from mabwiser.mab import MAB, LearningPolicy

    decided, rewards = [], []
    for arm, (n, clicks) in COUNTERS.items():
        decided += [arm] * n
        rewards += [1] * clicks + [0] * (n - clicks)
    mab = MAB(list(ARMS), LearningPolicy.ThompsonSampling(), seed=seed)
    mab.fit(decided, rewards)
    return mab


def mabwiser_predict(ids: Sequence[str], mab: Any):
    def run() -> None:
        for _ in ids:
            mab.predict()

    return run


# --- equivalence checks -------------------------------------------------------------------


def check_same_buckets(ids: Sequence[str]) -> None:
    """Our hashing claims GrowthBook compatibility: the SDK must agree for every contact."""
    from growthbook import GrowthBook

    gb, experiment = GrowthBook(), growthbook_experiment()
    for cid in ids:
        gb.set_attributes({"id": cid})
        ours = assign(SPEC, cid, {})
        theirs = gb.run(experiment)
        assert ours.variation is not None and theirs.inExperiment, cid
        assert ours.variation.key == theirs.value, (cid, ours.variation.key, theirs.value)
        assert ours.bucket == theirs.bucket, (cid, ours.bucket, theirs.bucket)


def check_same_bandit(weights: dict[str, float], mab: Any, draws: int = 20_000) -> None:
    """MABWiser's one-draw Thompson choices fall on each arm about as often as our weights
    (P(arm is best) under the same posterior) say: within 0.03, well above the noise."""
    picked = [mab.predict() for _ in range(draws)]
    for arm in ARMS:
        share = picked.count(arm) / draws
        assert abs(share - weights[arm]) < 0.03, (arm, share, weights[arm])


# --- the scenario ---------------------------------------------------------------------------


def run_core(count: int, repeat: int) -> dict[str, Any]:
    ids = contacts(count)
    rng = np.random.default_rng(7)
    config = BanditConfig()
    refresh = make_policy(config)
    weights = refresh.weights(arm_stats(), rng)
    mab = fitted_mab(seed=7)
    check_same_buckets(ids)
    check_same_bandit(weights, mab)

    render = render_two_tokens()
    slow = ids[: max(count // 20, 200)]  # the per-decision posterior rows cost ~100 times more
    us = {
        "core_as_served": per_call_us(core_as_served(ids, weights, rng), count, repeat),
        "core_fresh_draw": per_call_us(core_fresh_draw(ids, rng), count, repeat),
        "core_fresh_weights": per_call_us(core_fresh_weights(slow, config, rng), len(slow), repeat),
        "shell_as_served": per_call_us(shell_as_served(ids, weights, rng), count, repeat),
        "weights_refresh": per_call_us(
            lambda: [refresh.weights(arm_stats(), rng) for _ in range(200)], 200, repeat
        ),
        "growthbook_run_reused": per_call_us(growthbook_reused(ids), count, repeat),
        "growthbook_run_per_request": per_call_us(growthbook_per_request(slow), len(slow), repeat),
        "mabwiser_predict": per_call_us(mabwiser_predict(ids, mab), count, repeat),
        "render_two_tokens": per_call_us(lambda: [render() for _ in range(2000)], 2000, repeat),
    }
    us["assign_only"] = per_call_us(lambda: [assign(SPEC, c, {}) for c in ids], count, repeat)
    # The baseline at its cheapest: the reused SDK instance.
    us["baseline_growthbook_plus_mabwiser"] = us["growthbook_run_reused"] + us["mabwiser_predict"]
    baseline = us["baseline_growthbook_plus_mabwiser"]
    rows = {name: {"us": value, "rate": 1e6 / value} for name, value in us.items()}
    return {
        "scenario": "core",
        "contacts": count,
        "arms": list(ARMS),
        "counters": COUNTERS,
        "weights": weights,
        "rows": rows,
        "ratios": {
            "baseline_vs_core_as_served": baseline / us["core_as_served"],
            "baseline_vs_core_fresh_draw": baseline / us["core_fresh_draw"],
            "baseline_vs_core_fresh_weights": baseline / us["core_fresh_weights"],
            "baseline_vs_shell_as_served": baseline / us["shell_as_served"],
        },
    }
