"""Rolls out an experiment's winner by itself when its rule says so, and logs why.

Checks run on every worker's clock, but a `SET NX EX` marker in the experiment's slot lets
one check per `check_every_minutes` through across all workers. The rule is the pure
`experiments.winner.decide_winner` (always-valid sequential test by default, so checking
often does not inflate false winners; SRM blocks any roll-out; guardrails non-inferior).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
from redis.exceptions import RedisError

from decide.config.experiments import Experiment
from decide.experiment_results import results_document, totals_of
from decide.routes.config import store_experiment
from decide.runtime import Runtime
from decide.store import keys

log = logging.getLogger("decide.auto_winner")
LOG_CAP = 1000


async def load_totals(
    rt: Runtime, experiment: Experiment, phase: int | None = None
) -> dict[str, float]:
    raw = await rt.client.hgetall(
        keys.experiment_totals(experiment.key, phase or experiment.spec.phase)
    )
    return totals_of(raw)


async def check(rt: Runtime, experiment: Experiment, *, force: bool = False) -> dict[str, Any]:
    """Evaluate the rule now; roll out a winner. Returns the results document."""
    now = rt.clock()
    document = results_document(experiment, await load_totals(rt, experiment), now)
    winner = document["winner"]
    auto = experiment.analysis.auto_winner
    if auto is None or experiment.spec.status != "running" or winner is None:
        return document
    if winner["state"] == "winner" and winner["winner"]:
        stored = await rt.config.get("experiments", experiment.key)
        if stored is None:
            return document
        version, config = stored
        change = {"status": "rolled_out", "rollout_variation": winner["winner"]}
        await store_experiment(
            rt, experiment.key, config | change, str(version), "auto_winner", "rollout"
        )
        await _log(rt, experiment, "rolled_out", winner, now)
        log.info(
            "experiment %s: rolled out %s (%s)", experiment.key, winner["winner"], winner["reason"]
        )
        document |= {"status": "rolled_out", "rollout_variation": winner["winner"]}
    elif force:
        await _log(rt, experiment, "checked", winner, now)
    return document


async def _log(rt: Runtime, experiment: Experiment, action: str, winner: Any, now: float) -> None:
    await rt.client.xadd(
        keys.experiment_log(experiment.key),
        {
            "action": action,
            "at": now,
            "phase": experiment.spec.phase,
            "verdict": orjson.dumps(winner),
        },
        maxlen=LOG_CAP,
        approximate=True,
    )


async def run_forever(rt: Runtime, tick_s: float = 30.0) -> None:
    """Each tick, check the running auto-winner experiments whose interval has passed."""
    while True:
        await asyncio.sleep(tick_s)
        for experiment in list(rt.snapshot.experiments.values()):
            auto = experiment.analysis.auto_winner
            if auto is None or experiment.spec.status != "running":
                continue
            try:
                due = await rt.client.set(
                    keys.experiment_tag(experiment.key) + ":checked", 1, nx=True,
                    ex=max(1, int(auto.check_every_s)),
                )  # fmt: skip
                if due:
                    await check(rt, experiment)
            except (RedisError, OSError) as error:
                log.warning("auto-winner check of %s failed: %s", experiment.key, error)
            except Exception:  # a bad experiment must not stop the others' checks
                log.exception("auto-winner check of %s failed", experiment.key)
