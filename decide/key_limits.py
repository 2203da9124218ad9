"""The rate an API key may call at, as DECIDE_API_KEYS writes it (`secret:scopes@200/s`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_RATE = re.compile(r"^(\d+(?:\.\d+)?)/(s|sec|second|m|min|minute)$")


@dataclass(frozen=True)
class RateLimit:
    """`rate` tokens per second, at most `capacity` at once (one unit's worth of burst)."""

    rate: float
    capacity: float


def parse_rate(text: str) -> RateLimit | None:
    """`200/s` or `600/min`; None when it is neither."""
    match = _RATE.match(text.replace(" ", ""))
    if match is None or float(match[1]) <= 0:
        return None
    count = float(match[1])
    per_s = count if match[2].startswith("s") else count / 60
    return RateLimit(per_s, max(count, 1.0))
