"""How a chosen message reaches its contact: which channels can carry it, ranked, and when.

Pure: the contact's state was read in the gather. Channels are filtered before the message
is drawn (reachability, consent, suppression, caps — DESIGN.md "filter, then draw"); the
ranking and the send time come after.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from decide.config.placements import CHANNELS, WEB_CHANNELS, Placement
from decide.config.workspace import Workspace
from decide.contact_state import ContactState
from personalization import channels as channel_model
from personalization import pressure
from personalization import send_time as timing
from personalization import slot_estimates as estimates
from personalization.locales import normalize_locale

UTC_ZONE = ZoneInfo("UTC")
_NO_PRIORS = channel_model.channel_priors({})  # before the population has taught anything


@dataclass(frozen=True)
class Reach:
    channels: tuple[str, ...]  # usable, in the placement's order
    earliest: Mapping[str, float]  # channel -> earliest send the caps allow
    excluded: Mapping[str, str]  # channel -> why not: no_address, no_consent, suppressed, ...


@dataclass(frozen=True)
class Priors:
    """Population engagement: the prior every contact's estimate shrinks toward."""

    slots: estimates.SlotHistogram | None = None
    channels: Mapping[str, channel_model.ChannelPrior] | None = None
    languages: Mapping[str, estimates.SlotHistogram] = field(default_factory=dict)


@dataclass(frozen=True)
class Timing:
    send_at: datetime  # UTC
    local: datetime
    slot: int
    reason: str


def _histogram(raw: Mapping[bytes, bytes]) -> estimates.SlotHistogram | None:
    """A population hash (`s<slot>` sends, `e<slot>` engaged) as a histogram; None if empty."""
    sends, engaged = np.zeros(estimates.SLOTS), np.zeros(estimates.SLOTS)
    for raw_key, raw_value in raw.items():
        key = raw_key.decode()
        if key[1:].isdigit() and int(key[1:]) < estimates.SLOTS:
            (sends if key[0] == "s" else engaged)[int(key[1:])] = float(raw_value)
    return estimates.SlotHistogram(sends, engaged) if sends.sum() else None


def language_of(locale: str | None) -> str | None:
    """`fa-IR` → `fa`: the send-time segment a contact belongs to."""
    tag = normalize_locale(locale) if locale else None
    return tag.split("-")[0].lower() if tag else None


def priors_from(
    slots: Mapping[bytes, bytes],
    channels: Mapping[bytes, bytes],
    languages: Mapping[str, Mapping[bytes, bytes]] | None = None,
) -> Priors:
    """The population hashes (slots, channels `<channel>:d`/`<channel>:e`, and the slots of
    each language) as priors."""
    counts: dict[str, list[float]] = {}
    for raw_key, raw_value in channels.items():
        channel, _, kind = raw_key.decode().partition(":")
        counts.setdefault(channel, [0.0, 0.0])[kind == "e"] = float(raw_value)
    by_language = {lang: _histogram(raw) for lang, raw in (languages or {}).items()}
    return Priors(
        _histogram(slots),
        channel_model.channel_priors(
            {c: channel_model.ChannelCounts(d, e) for c, (d, e) in counts.items()}
        ),
        {lang: h for lang, h in by_language.items() if h is not None},
    )


def caps_of(placement: Placement, workspace: Workspace) -> tuple[pressure.CapRule, ...]:
    return placement.outreach.caps + workspace.caps


def capped_channels(placement: Placement | None, workspace: Workspace) -> frozenset[str]:
    """The channels a frequency cap governs for a placement's sends (the workspace's caps
    alone for a placement since deleted): a send on one counts against the caps."""
    rules = caps_of(placement, workspace) if placement is not None else workspace.caps
    return frozenset(c for c in CHANNELS if any(rule.applies(c) for rule in rules))


def horizon_s(placement: Placement) -> int:
    rule = placement.outreach.send_time
    return 0 if rule.kind == "immediate" else rule.within_hours * 3600


def reach(
    placement: Placement, workspace: Workspace, state: ContactState, view: Mapping[str, Any],
    requested: Sequence[str] | None, now: float,
) -> Reach:  # fmt: skip
    candidates = [c for c in placement.channels if requested is None or c in requested]
    outbound = [c for c in candidates if c not in WEB_CHANNELS or c == "in_app"]
    suppressed = view.get("suppressed") or []
    rule = placement.outreach.channel
    usable, excluded = channel_model.reachable(
        outbound, state.attributes, suppressed,
        consent=rule.consent, require_address=rule.require_address,
    )  # fmt: skip
    ok = set(usable) | {c for c in candidates if c == "web"}
    caps = caps_of(placement, workspace)
    earliest: dict[str, float] = {}
    for channel in [c for c in candidates if c in ok]:
        at = pressure.earliest_allowed(
            state.sends, caps, channel, now, now + horizon_s(placement)
        ) if caps else now  # fmt: skip
        if at is None:
            excluded[channel] = "frequency_cap"
        else:
            earliest[channel] = at
    return Reach(tuple(c for c in candidates if c in earliest), earliest, excluded)


def rank(
    placement: Placement, usable: Sequence[str], view: Mapping[str, Any], priors: Priors,
    rng: np.random.Generator,
) -> tuple[tuple[str, ...], dict[str, str]]:  # fmt: skip
    """Every usable channel, the primary first and then the rest by preference, and why each:
    `with_fallbacks` keeps those that may go at the primary's send time."""
    rule = placement.outreach.channel
    if rule.kind == "ordered" or len(usable) < 2:
        return tuple(usable), {usable[0]: f"channel: {usable[0]} is the placement's first usable"}
    stored = view.get("channels") or {}
    counts = {
        c: channel_model.ChannelCounts(
            float(stored.get(c, {}).get("delivered", 0)), float(stored.get(c, {}).get("engaged", 0))
        )
        for c in usable
    }
    ranking = channel_model.rank_channels(
        list(usable), counts, priors.channels or _NO_PRIORS,
        value={c: rule.value for c in usable}, cost=dict(rule.cost), rng=rng,
        max_fallbacks=rule.max_fallbacks,
    )  # fmt: skip
    return ranking.order, {c: f"channel {c}: {why}" for c, why in ranking.reasons.items()}


def with_fallbacks(
    placement: Placement, workspace: Workspace, state: ContactState, ranked: Sequence[str],
    send_at: float,
) -> tuple[str, ...]:  # fmt: skip
    """The primary and at most `max_fallbacks` of the rest. A fallback goes instead of the
    primary at its send time, so it must be allowed then: a channel the caps allow only later
    in the send window is no fallback (and the next one is taken), nor is a message to a
    person inside quiet hours (a web primary is shown now, whatever the hour)."""
    caps = caps_of(placement, workspace)
    local = datetime.fromtimestamp(send_at, state.timezone or UTC_ZONE)
    in_window = _window(placement, workspace, 1).allows(local)
    rest = [
        c for c in ranked[1:]
        if (not caps or pressure.blocking_rule(state.sends, caps, c, send_at) is None)
        and (c == "web" or in_window)
    ]  # fmt: skip
    return (ranked[0], *rest[: placement.max_fallbacks])


def when(
    placement: Placement, workspace: Workspace, channel: str, earliest: float,
    state: ContactState, priors: Priors, rng: np.random.Generator, now: float,
) -> Timing:  # fmt: skip
    tz = state.timezone or UTC_ZONE
    start = datetime.fromtimestamp(earliest, UTC)
    rule = placement.outreach.send_time
    if channel == "web":  # shown in the caller's page now: no schedule, no quiet hours
        return _timing(start, tz, "send_at: now")
    left_h = rule.within_hours - int((earliest - now) // 3600)
    window = _window(placement, workspace, max(1, left_h))
    if rule.kind == "immediate":
        at = timing.next_allowed_time(start, tz, window)
        why = "now" if at == start else "moved out of quiet hours"
        return _timing(at, tz, f"send_at: {why}")
    empty = estimates.SlotHistogram.empty()
    learned = rule.kind == "learned"
    choice = timing.choose_send_time(
        start, tz, window,
        (state.slots or empty) if learned else empty,
        priors.languages.get(language_of(state.locale) or "") if learned else None,
        priors.slots if learned else None,
        rng,
        locale=state.locale,
        # By posterior mean: in the simulator, Thompson draws over the hours lost the uplift.
        explore=False,
    )  # fmt: skip
    at = choice.send_at
    caps = caps_of(placement, workspace)
    if caps and pressure.blocking_rule(state.sends, caps, channel, at.timestamp()) is not None:
        at = timing.next_allowed_time(start, tz, window)  # the best slot is capped: go early
        return _timing(at, tz, "send_at: the earliest time the frequency caps allow")
    return _timing(at, tz, f"send_at: {choice.reason}")


def _window(placement: Placement, workspace: Workspace, within_hours: int) -> timing.SendWindow:
    """When a message to a person may go out: the daily window, outside quiet hours."""
    rule = placement.outreach.send_time
    quiet = placement.outreach.quiet_hours or workspace.quiet_hours
    return timing.SendWindow(
        within_hours=within_hours,
        earliest=rule.earliest,
        latest=rule.latest,
        quiet_start=quiet[0] if quiet else None,
        quiet_end=quiet[1] if quiet else None,
        default_hour=rule.hour,
        allow_now=True,
    )


def _timing(at: datetime, tz: ZoneInfo, reason: str) -> Timing:
    at = at.astimezone(UTC).replace(microsecond=0)
    return Timing(at, at.astimezone(tz), timing.slot_of(at, tz), reason)
