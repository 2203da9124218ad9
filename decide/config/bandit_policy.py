"""A bandit placement's policy: which algorithm, how it segments, forgets and refreshes."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from bandits.config import BanditConfig, parse_bandit_config
from decide.config.checks import Checks

# The keys of a `"type": "bandit"` policy that belong to the bandit library's own config.
LIBRARY_KEYS = frozenset({
    "algorithm", "floor", "control", "control_share", "warmup", "epsilon", "temperature",
    "prior_strength", "stop_loss", "mc_draws",
})  # fmt: skip
SHELL_KEYS = frozenset({"segment_by", "forgetting", "refresh_ms"})
ROOTS = ("contact.", "context.")  # known before the gather: behaviour is read with it
MAX_DAYS = 120  # daily buckets live this long (decide.store.outcomes.DAILY_TTL_S)


@dataclass(frozen=True)
class BanditPolicy:
    config: BanditConfig
    segment_by: str | None  # a dotted path, e.g. contact.locale: learn per value
    discount_per_day: float | None  # exponential forgetting …
    window_days: int | None  # … or a sliding window, over daily buckets
    refresh_s: float  # arm weights are recomputed from the counters at most this often

    @property
    def daily(self) -> bool:
        return self.discount_per_day is not None or self.window_days is not None

    @property
    def days_read(self) -> int:
        """How many daily buckets the weights read: the window, or until the discount has
        shrunk a day's weight below 0.1%."""
        if self.window_days is not None:
            return self.window_days
        if self.discount_per_day is not None:
            return min(MAX_DAYS, math.ceil(math.log(1e-3) / math.log(self.discount_per_day)))
        return 0


def parse_bandit_policy(c: Checks, policy: dict[str, Any], message_keys: set[str]) -> BanditPolicy:
    config, problems = parse_bandit_config(
        {k: v for k, v in policy.items() if k in LIBRARY_KEYS}, "policy"
    )
    for where, reason in problems:
        c.fail(where, reason)
    if config.control is not None and config.control not in message_keys:
        c.fail("policy.control", f"names no message of this placement: {config.control!r}")
    segment_by = c.string(policy, "segment_by", "policy", default=None, max_len=128)
    if segment_by is not None and not segment_by.startswith(ROOTS):
        c.fail("policy.segment_by", f"must be a path under {', '.join(ROOTS)} e.g. contact.locale")
    refresh = c.number(policy, "refresh_ms", "policy", default=1000, low=0, high=60_000)
    discount = window = None
    if "forgetting" in policy:
        forgetting = c.mapping(policy["forgetting"], "policy.forgetting")
        if forgetting is not None:
            path = "policy.forgetting"
            c.unknown_fields(forgetting, {"discount_per_day", "window_days"}, path)
            discount = c.number(
                forgetting, "discount_per_day", path, default=None, low=0.5, high=0.999
            )
            days = c.number(
                forgetting, "window_days", path, default=None, low=1, high=MAX_DAYS, integer=True
            )
            window = int(days) if days is not None else None
            if (discount is None) == (window is None):
                c.fail(path, "give exactly one of discount_per_day or window_days")
    return BanditPolicy(
        config=config,
        segment_by=segment_by,
        discount_per_day=discount,
        window_days=window,
        refresh_s=(refresh if refresh is not None else 1000) / 1000,
    )


def known_policy_keys() -> set[str]:
    return set(LIBRARY_KEYS | SHELL_KEYS)
