"""Requests the fuzzer sent, by status class, for the end-of-run summary."""

from __future__ import annotations

import time
from collections import Counter

COUNTS: Counter[str] = Counter()
STARTED: list[float] = []


def record(status: int) -> None:
    if not STARTED:
        STARTED.append(time.monotonic())
    COUNTS["total"] += 1
    COUNTS[f"{status // 100}xx"] += 1


def summary() -> str:
    classes = sorted({"2xx", "4xx", "5xx"} | set(COUNTS) - {"total"})
    by_class = ", ".join(f"{k}={COUNTS[k]}" for k in classes)
    elapsed = time.monotonic() - STARTED[0] if STARTED else 0.0
    return f"schemathesis: {COUNTS['total']} requests ({by_class}) in {elapsed:.1f} s"
