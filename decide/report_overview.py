"""The /reports/ overview: every placement and experiment, its traffic, leader and alerts.

Pure functions from the /stats and /results documents to summaries and HTML; the route
gathers the documents.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from bandits.stopping import should_stop
from decide.config.placements import Placement
from decide.report_html import name, page

Alert = tuple[str, str]  # (css class: "bad" | "warn" | "", text)


def placement_summary(placement: Placement, stats: Mapping[str, Any]) -> dict[str, Any]:
    """Traffic over all segments; the bandit leader and stop rule on the population row."""
    population = next(s for s in stats["segments"] if s["segment"] == "")
    arms = population["arms"]
    summary: dict[str, Any] = {
        "key": placement.key,
        "description": placement.document.get("description", ""),
        "policy": placement.policy,
        "experiment": placement.experiment,
        "channels": list(placement.channels),
        # a decision is counted in its own segment only; exposures also in the population
        "decisions": sum(a["decided"] for s in stats["segments"] for a in s["arms"]),
        "exposures": round(sum(a["trials"] for a in arms)),
        "segments": len(stats["segments"]) - 1,
        "leader": None,
        "alerts": [],
    }  # fmt: skip
    if placement.bandit is None or not arms:
        return summary
    leader = max(arms, key=lambda a: (a.get("weight", 0.0), a["chance_best"] or 0.0))
    summary["leader"] = {"arm": leader["arm"], "weight": leader.get("weight"),
                         "chance_best": leader["chance_best"]}  # fmt: skip
    config = placement.bandit.config
    # /stats has no sums of squares, which a binary reward does not need (ss == s)
    binary = config.reward == "binary"
    if binary and config.stop_loss is not None and all(a["trials"] > 0 for a in arms):
        n = np.array([[a["trials"] for a in arms]], dtype=float)
        s = np.array([[a["rewards"] for a in arms]], dtype=float)
        stop, best = should_stop(n, s, s, config.reward, config.mc_draws, config.stop_loss)
        if bool(stop[0]):
            summary["alerts"].append(("warn", f"stop_loss reached: serving {arms[best[0]]['arm']}"))
    return summary


def experiment_summary(
    document: Mapping[str, Any], actions: Sequence[Mapping[str, Any]], alpha: float
) -> dict[str, Any]:
    """`document` is the /results JSON, `actions` the newest auto-winner actions."""
    analysis = document.get("analysis")
    alerts: list[Alert] = []
    if document["status"] == "stopped":
        alerts.append(("warn", "stopped"))
    elif document["status"] == "rolled_out":
        alerts.append(("", f"rolled out {document.get('rollout_variation')}"))
    leader = None
    if analysis:
        if analysis["srm"]["mismatch"]:
            alerts.append(("bad", f"sample ratio mismatch (p = {analysis['srm']['p_value']:.2g})"))
        roles = {m["name"]: m["role"] for m in document["metrics"]}
        for metric in analysis["metrics"]:
            if roles.get(metric["metric"]) == "guardrail":
                alerts += _guardrail_harm(metric, alpha)
            elif roles.get(metric["metric"]) == "primary":
                leader = _leader(metric)
    winner = document.get("winner") or {}
    if winner.get("state") in ("winner", "blocked_srm", "blocked_guardrail"):
        css = "" if winner["state"] == "winner" else "bad"
        alerts.append((css, f"winner rule: {winner['state']}"))
    for action in actions:
        alerts.append(
            ("", f"auto-winner {action['action']} {action['verdict'].get('winner') or ''}")
        )
    return {
        "key": document["experiment"],
        "placement": document.get("placement"),
        "status": document["status"],
        "phase": document["phase"],
        "exposures": sum(document["users"].values()),
        "leader": leader,
        "alerts": alerts,
    }


def _leader(metric: Mapping[str, Any]) -> dict[str, Any] | None:
    """The variation with the best mean on the primary metric, and its chance to beat control."""
    control = metric["control"]
    sign = 1 if metric["higher_is_better"] else -1
    candidates = [(control, None)] + [
        (v, v["absolute"]["bayesian"]["chance_to_beat_control"]) for v in metric["variations"]
    ]
    known = [(arm, chance) for arm, chance in candidates if arm["mean"] is not None]
    if not known:
        return None
    arm, chance = max(known, key=lambda c: sign * c[0]["mean"])
    if sum(1 for other, _ in known if other["mean"] == arm["mean"]) > 1:
        return None  # a tie (e.g. nobody converted yet) has no leader
    return {"variation": arm["variation"], "metric": metric["metric"], "mean": arm["mean"],
            "chance_to_beat_control": chance, "control": arm is control}  # fmt: skip


def _guardrail_harm(metric: Mapping[str, Any], alpha: float) -> list[Alert]:
    """A variation whose always-valid test shows it moves a guardrail the wrong way (the
    sequential test, because analysts look at this page as often as they like)."""
    sign = 1 if metric["higher_is_better"] else -1
    alerts = []
    for v in metric["variations"]:
        absolute = v["absolute"]
        p = absolute["sequential"]["p_value"]
        if p is not None and p < alpha and sign * (absolute["estimate"] or 0) < 0:
            alerts.append(("bad", f"guardrail {metric['metric']} harmed by {v['variation']}"))
    return alerts


def _alerts(alerts: Sequence[Alert]) -> str:
    return (
        "".join(f'<span class="badge {css}">{html.escape(text)}</span>' for css, text in alerts)
        or '<span class="badge">ok</span>'
    )


def _placement_row(p: Mapping[str, Any]) -> str:
    key = html.escape(p["key"])
    policy = html.escape(p["policy"])
    if p["experiment"]:
        policy += f' · <a href="/reports/experiments/{html.escape(p["experiment"])}">' \
                  f'{html.escape(p["experiment"])}</a>'  # fmt: skip
    leader = "\u2013"
    if p["leader"]:
        weight, chance = p["leader"]["weight"], p["leader"]["chance_best"]
        leader = (f"{name(p['leader']['arm'])} <small>weight {_share(weight)}, "
                  f"chance best {_share(chance)}</small>")  # fmt: skip
    segments = f" <small>({p['segments']} segments)</small>" if p["segments"] else ""
    return (f'<tr><td><a href="/reports/placements/{key}"><code>{key}</code></a>'
            f'<br><small dir="auto">{html.escape(str(p["description"]))}</small></td>'
            f"<td>{policy}{segments}</td><td>{html.escape(', '.join(p['channels']))}</td>"
            f"<td>{p['decisions']}</td><td>{p['exposures']}</td><td>{leader}</td>"
            f"<td>{_alerts(p['alerts'])}</td></tr>")  # fmt: skip


def _experiment_row(e: Mapping[str, Any]) -> str:
    key = html.escape(e["key"])
    placement = html.escape(str(e["placement"]))
    leader = "\u2013"
    if e["leader"]:
        lead = e["leader"]
        chance = (
            "the control"
            if lead["control"]
            else f"chance to beat control {_share(lead['chance_to_beat_control'])}"
        )
        leader = (f"{name(lead['variation'])} <small>{html.escape(lead['metric'])} "
                  f"{lead['mean']:.4g}, {chance}</small>")  # fmt: skip
    return (f'<tr><td><a href="/reports/experiments/{key}"><code>{key}</code></a></td>'
            f'<td><a href="/reports/placements/{placement}"><code>{placement}</code></a></td>'
            f'<td><span class="badge">{html.escape(e["status"])}</span> phase {e["phase"]}</td>'
            f"<td>{e['exposures']}</td><td>{leader}</td>"
            f"<td>{_alerts(e['alerts'])}</td></tr>")  # fmt: skip


def _share(value: float | None) -> str:
    return "\u2013" if value is None else f"{100 * value:.1f}%"


def overview_page(
    placements: Sequence[Mapping[str, Any]], experiments: Sequence[Mapping[str, Any]]
) -> str:
    empty = '<tr><td colspan="7">None configured.</td></tr>'
    return page(
        "reports",
        f"""<h1>Placements and experiments</h1>
<h2>Placements</h2>
<table><thead><tr><th>placement</th><th>policy</th><th>channels</th><th>decisions</th>
<th>exposures</th><th>leader</th><th>alerts</th></tr></thead>
<tbody>{"".join(_placement_row(p) for p in placements) or empty}</tbody></table>
<h2>Experiments</h2>
<table><thead><tr><th>experiment</th><th>placement</th><th>status</th><th>exposed users</th>
<th>leader (primary metric)</th><th>alerts</th></tr></thead>
<tbody>{"".join(_experiment_row(e) for e in experiments) or empty}</tbody></table>
<p><small>Decisions: messages decided (exposed or not), all time. Exposures: decisions shown
or delivered (bandit trials). Experiment users: contacts exposed in the current phase. A bandit
leader is the arm with the highest serving weight on the population; an experiment leader is
the best variation on the primary metric so far, not a verdict — see the winner rule.
Guardrail harm uses the always-valid (sequential) test.</small></p>""",
    )
