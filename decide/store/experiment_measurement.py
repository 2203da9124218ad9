"""Experiment exposures and metric events, counted per contact in the experiment's slot."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from decide.config.experiments import Experiment
from decide.config.metrics import Metric
from decide.store import keys
from decide.store.outcomes import DAILY_TTL_S, DAY_S
from decide.store.scripts import Batch


def record_exposure(
    batch: Batch,
    experiment: Experiment,
    contact_id: str,
    variation: str,
    now: float,
    counts_before: Mapping[str, int],
) -> int:
    """The contact's pre-exposure count of each metric's event is its CUPED covariate."""
    key, phase = experiment.key, experiment.spec.phase
    metrics = experiment.analysis.metrics
    pre = [_covariate(m, counts_before.get(m.event, 0)) for m in metrics]
    return batch.script(
        "record_exposure",
        [keys.experiment_assignments(key, phase), keys.experiment_totals(key, phase),
         keys.experiment_daily(key, phase, int(now // DAY_S)),
         *(keys.experiment_covariates(key, phase, m.name) for m in metrics)],
        [contact_id, variation, now, DAILY_TTL_S, len(metrics), *(m.name for m in metrics), *pre],
    )  # fmt: skip


def _covariate(metric: Metric, count: int) -> float:
    if metric.kind == "binomial":
        return 1.0 if count > 0 else 0.0
    if metric.kind == "count":
        return float(count)
    return 0.0  # revenue before exposure is not kept per currency yet: no CUPED for revenue


def apply_metric_event(
    batch: Batch,
    experiments: Iterable[Experiment],
    contact_id: str,
    event_id: str,
    event_type: str,
    at: float,
    value: float | None,
    currency: str | None,
    marker_ttl_s: int,
) -> None:
    """Queue the event for every experiment (current phase) with a metric on its type."""
    for experiment in experiments:
        if experiment.spec.status == "draft":
            continue
        metrics = [
            m for m in experiment.analysis.metrics
            if m.event == event_type and (m.currency is None or m.currency == currency)
        ]  # fmt: skip
        if not metrics:
            continue
        key, phase = experiment.key, experiment.spec.phase
        per_metric_keys = [
            k for m in metrics
            for k in (keys.experiment_user_values(key, phase, m.name),
                      keys.experiment_covariates(key, phase, m.name))
        ]  # fmt: skip
        batch.script(
            "apply_metric_event",
            [keys.experiment_seen(key, event_id), keys.experiment_assignments(key, phase),
             keys.experiment_totals(key, phase),
             keys.experiment_daily(key, phase, int(at // DAY_S)), *per_metric_keys],
            [contact_id, at, marker_ttl_s, DAILY_TTL_S, value or 0.0, len(metrics),
             *(x for m in metrics for x in (m.name, m.kind, m.window_s))],
        )  # fmt: skip
