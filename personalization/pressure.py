"""Contact pressure: frequency caps over sliding windows, per channel and across channels.

A cap "at most `max` sends in any `window_s`" is checked for a send at time t by counting the
sends within `window_s` of t on either side: any window of that length holding t holds only
such sends, so passing the check keeps every window within the cap — for sends already made
and for sends scheduled later (campaigns decide ahead of sending).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Web content shown inside a page is not a message to a person: it is never capped across
# channels (a channel-specific cap on "web" still applies if someone configures one).
NOT_PRESSURE = frozenset({"web"})
_PERIODS = {"hours": 3600, "days": 86_400}


@dataclass(frozen=True)
class CapRule:
    max: int
    window_s: int
    channel: str | None = None  # None: across every messaging channel

    def applies(self, channel: str) -> bool:
        if self.channel is None:
            return channel not in NOT_PRESSURE
        return self.channel == channel

    def describe(self) -> str:
        days, hours = divmod(self.window_s, 86_400)
        span = f"{days} d" if not hours else f"{self.window_s // 3600} h"
        return f"at most {self.max} {self.channel or 'message'}(s) per {span}"


@dataclass(frozen=True)
class Send:
    at: float
    channel: str
    nonce: str = ""  # the decision's, while it is a reservation not yet delivered


def parse_caps(
    doc: Any, path: str, channels: Iterable[str]
) -> tuple[tuple[CapRule, ...], list[tuple[str, str]]]:
    """`[{"channel": "email", "max": 3, "days": 7}, {"max": 5, "hours": 24}]`."""
    problems: list[tuple[str, str]] = []
    if not isinstance(doc, list):
        return (), [(path, "must be a list of caps like {'channel': 'email', 'max': 3, 'days': 7}")]
    known = set(channels)
    rules: list[CapRule] = []
    for i, item in enumerate(doc):
        where = f"{path}[{i}]"
        before = len(problems)
        if not isinstance(item, dict):
            problems.append((where, "must be an object"))
            continue
        for name in set(item) - {"channel", "max", *_PERIODS}:
            problems.append((f"{where}.{name}", "unknown field"))
        channel = item.get("channel")
        if channel is not None and (not isinstance(channel, str) or channel not in known):
            problems.append((f"{where}.channel", f"must be one of {', '.join(sorted(known))}"))
        limit = item.get("max")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= 1000:
            problems.append((f"{where}.max", "must be a whole number from 0 to 1000"))
        periods = [name for name in _PERIODS if name in item]
        if len(periods) != 1:
            problems.append((where, "needs exactly one of 'hours' or 'days'"))
            continue
        amount = item[periods[0]]
        if isinstance(amount, bool) or not isinstance(amount, int | float) or not 0 < amount <= 366:
            problems.append((f"{where}.{periods[0]}", "must be a number above 0, at most 366"))
            continue
        if len(problems) == before:
            window = round(amount * _PERIODS[periods[0]])
            rules.append(CapRule(int(limit), window, channel))  # type: ignore[arg-type]
    return tuple(rules), problems


def blocking_rule(
    sends: Sequence[Send], rules: Sequence[CapRule], channel: str, at: float
) -> CapRule | None:
    """The first cap a send on `channel` at `at` would break, or None when it may go."""
    for rule in rules:
        if not rule.applies(channel):
            continue
        near = sum(1 for s in sends if rule.applies(s.channel) and abs(s.at - at) < rule.window_s)
        if near >= rule.max:
            return rule
    return None


def earliest_allowed(
    sends: Sequence[Send], rules: Sequence[CapRule], channel: str, start: float, end: float
) -> float | None:
    """The earliest time in [start, end] at which a send on `channel` breaks no cap.

    A cap can only start to allow a send once an earlier send leaves its window, so the
    candidates are `start` and each send's time plus a window."""
    candidates = {start}
    for rule in rules:
        if rule.applies(channel):
            candidates.update(s.at + rule.window_s for s in sends if rule.applies(s.channel))
    for at in sorted(c for c in candidates if start <= c <= end):
        if blocking_rule(sends, rules, channel, at) is None:
            return at
    return None


def parse_sends(
    raw: Sequence[Any], expired: Collection[str] = (), *, now: float | None = None
) -> list[Send]:
    """ZRANGE … WITHSCORES of the sends set (`<nonce>|<channel>` → time) as Sends: flat
    (member, score, member, score…) as RESP2 returns it, or as pairs. Reservations named in
    `expired` (no delivery by their deadline) no longer count."""
    pairs = (
        raw if raw and isinstance(raw[0], list | tuple) else zip(raw[0::2], raw[1::2], strict=True)
    )
    out = []
    for member, score in pairs:
        text = member.decode() if isinstance(member, bytes) else str(member)
        nonce, _, channel = text.rpartition("|")
        if nonce not in expired:
            out.append(Send(float(score), channel, nonce))
    return out


def expired_reservations(pending: Mapping[Any, Any], now: float) -> set[str]:
    """Nonces of reservations (`nonce -> "<deadline>|<channel>"`) whose deadline passed."""
    out = set()
    for raw_nonce, raw_value in pending.items():
        nonce = raw_nonce.decode() if isinstance(raw_nonce, bytes) else str(raw_nonce)
        value = raw_value.decode() if isinstance(raw_value, bytes) else str(raw_value)
        deadline = value.partition("|")[0]
        try:
            if float(deadline) < now:
                out.add(nonce)
        except ValueError:
            continue
    return out
