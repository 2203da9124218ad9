"""Results and placement stats as CSV (RFC 4180, via the csv module) for spreadsheets and
notebooks: one row per metric and variation, or per segment and arm.

The body starts with a UTF-8 byte-order mark by default: Excel reads a CSV without one in the
system's legacy code page, which garbles Persian, Hebrew or Russian names; pandas, R and
Python's `encoding="utf-8-sig"` skip it. `?bom=0` leaves it out for tools that do not.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

BOM = "\ufeff"

RESULT_COLUMNS = (
    "experiment", "phase", "metric", "metric_type", "role", "variation", "is_control",
    "users", "sum", "mean", "std_dev",
    "lift_abs", "lift_abs_ci_lower", "lift_abs_ci_upper",
    "lift_rel", "lift_rel_ci_lower", "lift_rel_ci_upper",
    "p_value", "p_value_holm", "p_value_bh",
    "p_value_sequential", "lift_abs_seq_ci_lower", "lift_abs_seq_ci_upper",
    "chance_to_beat_control", "expected_loss", "srm_p_value",
)  # fmt: skip

STATS_COLUMNS = (
    "placement", "policy", "segment", "arm", "decided", "trials", "rewards", "mean",
    "interval_lower", "interval_upper", "chance_best", "weight",
)  # fmt: skip


def result_rows(document: Mapping[str, Any], totals: Mapping[str, float]) -> list[dict[str, Any]]:
    """`document` is the /results JSON; `totals` the stored per-variation sums it came from
    (the JSON gives means; analysts also want the raw sums, e.g. conversions)."""
    analysis = document.get("analysis")
    if not analysis:
        return []
    roles = {m["name"]: m for m in document["metrics"]}
    srm_p = analysis["srm"]["p_value"]
    rows = []
    for metric in analysis["metrics"]:
        name = metric["metric"]
        base = {
            "experiment": document["experiment"], "phase": document["phase"], "metric": name,
            "metric_type": roles.get(name, {}).get("type", metric["kind"]),
            "role": roles.get(name, {}).get("role", ""), "srm_p_value": srm_p,
        }  # fmt: skip
        control = metric["control"]
        rows.append(base | _arm(control, totals, name) | {"is_control": "true"})
        for variation in metric["variations"]:
            absolute, relative = variation["absolute"], variation["relative"]
            rows.append(
                base | _arm(variation, totals, name) | {
                    "is_control": "false",
                    "lift_abs": absolute["estimate"],
                    "lift_abs_ci_lower": absolute["fixed"]["ci_lower"],
                    "lift_abs_ci_upper": absolute["fixed"]["ci_upper"],
                    "lift_rel": relative["estimate"],
                    "lift_rel_ci_lower": relative["fixed"]["ci_lower"],
                    "lift_rel_ci_upper": relative["fixed"]["ci_upper"],
                    "p_value": absolute["fixed"]["p_value"],
                    "p_value_holm": absolute["fixed_corrected"]["holm"],
                    "p_value_bh": absolute["fixed_corrected"]["benjamini_hochberg"],
                    "p_value_sequential": absolute["sequential"]["p_value"],
                    "lift_abs_seq_ci_lower": absolute["sequential"]["ci_lower"],
                    "lift_abs_seq_ci_upper": absolute["sequential"]["ci_upper"],
                    "chance_to_beat_control": absolute["bayesian"]["chance_to_beat_control"],
                    "expected_loss": absolute["bayesian"]["expected_loss"],
                }
            )  # fmt: skip
    return rows


def _arm(arm: Mapping[str, Any], totals: Mapping[str, float], metric: str) -> dict[str, Any]:
    total = totals.get(f"{arm['variation']}:{metric}:sum", 0.0)
    return {"variation": arm["variation"], "users": arm["users"], "sum": total,
            "mean": arm["mean"], "std_dev": arm["std_dev"]}  # fmt: skip


def stats_rows(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """`document` is the /stats JSON."""
    return [
        {"placement": document["placement"], "policy": document["policy"],
         "segment": segment["segment"], "arm": arm["arm"], "decided": arm["decided"],
         "trials": arm["trials"], "rewards": arm["rewards"], "mean": arm["mean"],
         "interval_lower": arm["interval"][0], "interval_upper": arm["interval"][1],
         "chance_best": arm["chance_best"], "weight": arm.get("weight")}
        for segment in document["segments"]
        for arm in segment["arms"]
    ]  # fmt: skip


def to_csv(columns: Sequence[str], rows: Iterable[Mapping[str, Any]], bom: bool = True) -> str:
    """Empty cells for missing numbers (JSON null); full float precision (repr)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return (BOM if bom else "") + out.getvalue()


def csv_response(
    request: Request, filename: str, columns: Sequence[str], rows: Iterable[Mapping[str, Any]]
) -> Response:
    bom = request.query_params.get("bom", "1") not in ("0", "false")
    return Response(
        to_csv(columns, rows, bom).encode("utf-8"),
        media_type="text/csv; charset=utf-8; header=present",
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )
