"""How a placement reaches a person: channel choice, send time, quiet hours, caps, goal exit,
no-repeat and triggers — validated once at PUT, compiled for the hot path."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import time
from typing import Any

from decide.config.checks import Checks, join
from personalization.pressure import CapRule, parse_caps
from personalization.triggers import Trigger, parse_trigger

_CLOCK = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
CONSENT_MODES = ("opt_in", "opt_out")
SEND_TIMES = ("immediate", "learned", "fixed")


@dataclass(frozen=True)
class ChannelRule:
    kind: str  # ordered: the placement's order | learned: per contact, from engagement
    max_fallbacks: int = 2
    cost: Mapping[str, float] = field(default_factory=dict)
    value: float = 1.0
    # opt_out: only an explicit `consent.<channel>: false` (or a suppression) blocks a channel;
    # opt_in: the profile or the request must say true.
    consent: str = "opt_out"
    # A campaign engine often holds the addresses itself: ordered placements trust it unless
    # told otherwise; learned ones rank what decide knows the contact can receive.
    require_address: bool = False


@dataclass(frozen=True)
class SendTimeRule:
    kind: str = "immediate"  # immediate | learned (per contact) | fixed (an hour, local)
    within_hours: int = 24
    earliest: time | None = None
    latest: time | None = None
    hour: int = 10  # the fixed hour, and the learned rule's default when nothing is known


@dataclass(frozen=True)
class Goal:
    event: str
    within_s: int | None  # None: ever


@dataclass(frozen=True)
class Outreach:
    channel: ChannelRule = ChannelRule("ordered")
    send_time: SendTimeRule = SendTimeRule()
    quiet_hours: tuple[time, time] | None = None
    caps: tuple[CapRule, ...] = ()
    goal: Goal | None = None
    no_repeat_s: int | None = None  # 0: never repeat; None: repeats allowed
    trigger: Trigger | None = None


def parse_clock(c: Checks, value: Any, path: str) -> time | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
        # YAML 1.1 (PyYAML) reads an unquoted 21:00 as the base-60 number 1260.
        return time(value // 60, value % 60)
    match = _CLOCK.match(value) if isinstance(value, str) else None
    if match is None:
        c.fail(path, "must be a local time HH:MM like 21:00")
        return None
    return time(int(match[1]), int(match[2]))


def parse_quiet_hours(c: Checks, doc: Any, path: str) -> tuple[time, time] | None:
    spec = c.mapping(doc, path)
    if spec is None:
        return None
    c.unknown_fields(spec, {"start", "end"}, path)
    start = parse_clock(c, spec.get("start"), join(path, "start"))
    end = parse_clock(c, spec.get("end"), join(path, "end"))
    if start is not None and start == end:
        c.fail(path, "start and end must differ")
    return (start, end) if start is not None and end is not None else None


def parse_outreach(c: Checks, body: Mapping[str, Any], channels: tuple[str, ...]) -> Outreach:
    """The outreach fields of a placement document; problems go to `c`."""
    out = Outreach(channel=_channel_rule(c, body.get("channel"), channels))
    if "send_time" in body:
        out = replace(out, send_time=_send_time(c, body["send_time"]))
        spec = body["send_time"]
        if isinstance(spec, dict) and "quiet_hours" in spec:  # DESIGN.md's example puts it here
            if "quiet_hours" in body:
                c.fail("send_time.quiet_hours", "is also given at the top level; keep one")
            quiet = parse_quiet_hours(c, spec["quiet_hours"], "send_time.quiet_hours")
            out = replace(out, quiet_hours=quiet)
    if "quiet_hours" in body:
        out = replace(out, quiet_hours=parse_quiet_hours(c, body["quiet_hours"], "quiet_hours"))
    if "frequency_caps" in body:
        caps, problems = parse_caps(body["frequency_caps"], "frequency_caps", channels)
        for problem in problems:
            c.fail(*problem)
        out = replace(out, caps=caps)
    if "goal" in body:
        out = replace(out, goal=_goal(c, body["goal"]))
    if "no_repeat" in body:
        out = replace(out, no_repeat_s=_no_repeat(c, body["no_repeat"]))
    if "trigger" in body:
        trigger, problems = parse_trigger(body["trigger"], "trigger")
        for problem in problems:
            c.fail(*problem)
        out = replace(out, trigger=trigger)
    return out


def _channel_rule(c: Checks, doc: Any, channels: tuple[str, ...]) -> ChannelRule:
    if doc is None:
        return ChannelRule("ordered")
    spec = c.mapping(doc, "channel")
    if spec is None:
        return ChannelRule("ordered")
    c.unknown_fields(
        spec, {"type", "max_fallbacks", "cost", "value", "consent", "require_address"}, "channel"
    )
    kind = c.string(spec, "type", "channel", default="ordered", choices=("ordered", "learned"))
    require_address = c.boolean(spec, "require_address", "channel", default=kind == "learned")
    fallbacks = c.number(spec, "max_fallbacks", "channel", default=2, low=0, high=2, integer=True)
    value = c.number(spec, "value", "channel", default=1.0, low=0, high=1e9)
    consent = c.string(spec, "consent", "channel", default="opt_out", choices=CONSENT_MODES)
    cost: dict[str, float] = {}
    raw_cost = c.mapping(spec.get("cost", {}), "channel.cost") or {}
    for name, amount in raw_cost.items():
        if name not in channels:
            c.fail(join("channel.cost", name), "is not one of the placement's channels")
        elif c.number(raw_cost, name, "channel.cost", low=0, high=1e9) is not None:
            cost[name] = float(amount)
    return ChannelRule(
        kind or "ordered",
        int(fallbacks if fallbacks is not None else 2),
        cost,
        float(value if value is not None else 1.0),
        consent or "opt_out",
        require_address,
    )


def _send_time(c: Checks, doc: Any) -> SendTimeRule:
    spec = c.mapping(doc, "send_time")
    if spec is None:
        return SendTimeRule()
    path = "send_time"
    c.unknown_fields(
        spec, {"type", "within_hours", "window", "hour", "default_hour", "quiet_hours"}, path
    )
    kind = c.string(spec, "type", path, default="learned", choices=SEND_TIMES) or "learned"
    within = c.number(spec, "within_hours", path, default=24, low=1, high=24 * 14, integer=True)
    # `hour` for a fixed send time; `default_hour` when a learned one knows nothing yet.
    name = "hour" if "hour" in spec else "default_hour"
    hour = c.number(spec, name, path, default=10, low=0, high=23, integer=True)
    earliest = latest = None
    if "window" in spec:
        window = c.mapping(spec["window"], join(path, "window"))
        if window is not None:
            c.unknown_fields(window, {"start", "end"}, join(path, "window"))
            earliest = parse_clock(c, window.get("start"), join(path, "window.start"))
            latest = parse_clock(c, window.get("end"), join(path, "window.end"))
    return SendTimeRule(kind, int(within or 24), earliest, latest, int(hour or 0))


def _goal(c: Checks, doc: Any) -> Goal | None:
    spec = c.mapping(doc, "goal")
    if spec is None:
        return None
    c.unknown_fields(spec, {"event", "within_days"}, "goal")
    event = c.string(spec, "event", "goal", max_len=64)
    days = c.number(spec, "within_days", "goal", default=None, low=0.01, high=3660)
    return Goal(event, round(days * 86_400) if days else None) if event else None


def _no_repeat(c: Checks, doc: Any) -> int | None:
    if doc is True:
        return 0
    if doc is False:
        return None
    spec = c.mapping(doc, "no_repeat")
    if spec is None:
        return None
    c.unknown_fields(spec, {"days"}, "no_repeat")
    days = c.number(spec, "days", "no_repeat", low=0.01, high=3660)
    return round(days * 86_400) if days else None
