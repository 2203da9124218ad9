"""Per-contact send time: the hours a send window allows, and the one most likely to engage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np

from personalization.slot_estimates import (
    PRIOR_STRENGTH,
    SlotHistogram,
    SlotPosterior,
    Source,
    slot_posterior,
    weekend_days,
)

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
HOUR = timedelta(hours=1)


class SendWindowError(ValueError):
    """The window's daily hours and quiet hours allow no time at all."""


def slot_of(moment: datetime, tz: ZoneInfo) -> int:
    """The contact's local hour of week: Monday 00:00-00:59 is 0, Sunday 23:00-23:59 is 167."""
    if moment.utcoffset() is None:
        raise ValueError("moment must be an aware datetime")
    local = moment.astimezone(tz)
    return local.weekday() * 24 + local.hour


def slot_label(slot: int) -> str:
    return f"{DAYS[slot // 24]} {slot % 24:02d}:00"


@dataclass(frozen=True)
class SendWindow:
    """When a message may go out: within ``within_hours`` of now, inside the local daily window
    ``earliest``-``latest`` (may wrap midnight), never strictly inside quiet hours."""

    within_hours: int = 24
    earliest: time | None = None
    latest: time | None = None
    quiet_start: time | None = None
    quiet_end: time | None = None
    default_hour: int = 10
    allow_now: bool = False  # the first candidate is now itself, not the next whole hour

    def __post_init__(self) -> None:
        if self.within_hours < 0 or not 0 <= self.default_hour <= 23:
            raise ValueError("within_hours must be >= 0 and default_hour 0..23")

    def allows(self, local: datetime) -> bool:
        if self.earliest is None and self.latest is None and self.quiet_start is None:
            return True
        wall = local.time().replace(tzinfo=None)
        if self.earliest is not None or self.latest is not None:
            lo, hi = self.earliest or time.min, self.latest or time.max
            if not (lo <= wall <= hi if lo <= hi else (wall >= lo or wall <= hi)):
                return False
        return not _in_quiet_hours(wall, self.quiet_start, self.quiet_end)


def _in_quiet_hours(wall: time, start: time | None, end: time | None) -> bool:
    # Both edges are allowed send times: quiet hours 21:00-08:00 allow 21:00 and 08:00 sharp.
    if start is None or end is None or start == end:
        return False
    return start < wall < end if start < end else (wall > start or wall < end)


def _wall_instant(day: date, wall: time, tz: tzinfo, earliest: bool) -> datetime:
    """The UTC instant of a local wall time; for a time skipped or repeated by DST, the earlier
    or later of its two readings, so quiet hours never shrink across a clock change."""
    readings = [datetime.combine(day, wall, tz).replace(fold=f).astimezone(UTC) for f in (0, 1)]
    return min(readings) if earliest else max(readings)


def move_out_of_quiet_hours(local: datetime, quiet_start: time, quiet_end: time) -> datetime:
    """Move a time inside quiet hours to the nearest edge in real elapsed time (a tie goes to
    the end, i.e. later); times outside are returned unchanged. The result is a real local time
    (DST gaps are normalised through UTC) in ``local``'s zone."""
    tz = local.tzinfo
    if tz is None:
        raise ValueError("local must be an aware datetime")
    wall, day = local.time().replace(tzinfo=None), local.date()
    if not _in_quiet_hours(wall, quiet_start, quiet_end):
        return local
    wraps = quiet_start > quiet_end
    start_day = day - timedelta(days=1) if wraps and wall < quiet_end else day
    end_day = day + timedelta(days=1) if wraps and wall > quiet_start else day
    start = _wall_instant(start_day, quiet_start, tz, earliest=True)
    end = _wall_instant(end_day, quiet_end, tz, earliest=False)
    now = local.astimezone(UTC)
    return (start if now - start < end - now else end).astimezone(tz)


def candidate_times(now: datetime, tz: ZoneInfo, window: SendWindow) -> list[datetime]:
    """Whole local hours in [now, now + within_hours] as UTC instants (now itself first when
    allowed). Stepping in UTC keeps DST right: no skipped hour, no repeated hour lost."""
    if now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    now_utc = now.astimezone(UTC)
    local = now_utc.astimezone(tz)
    past = timedelta(minutes=local.minute, seconds=local.second, microseconds=local.microsecond)
    first = now_utc - past + (HOUR if past else timedelta(0))
    times = [now_utc] if window.allow_now and past else []
    end = now_utc + window.within_hours * HOUR
    while first <= end:
        times.append(first)
        first += HOUR
    return times


def next_allowed_time(now: datetime, tz: ZoneInfo, window: SendWindow) -> datetime:
    """The earliest instant at or after ``now`` that the window allows, however far (a week at
    most): now, a whole hour, or the edge where the daily window or quiet hours end."""
    start = now.astimezone(UTC)
    if window.allows(start.astimezone(tz)):
        return start
    walls = [time(h) for h in range(24)] + [w for w in (window.earliest, window.quiet_end) if w]
    today = start.astimezone(tz).date()
    # Day by day: every instant of a local day comes before the next day's, so the first day
    # with an allowed time holds the earliest (one or two days' work, not nine).
    for d in range(9):
        options = [_wall_instant(today + timedelta(days=d), wall, tz, earliest=False)
                   for wall in walls]  # fmt: skip
        allowed = [t for t in options if t >= start and window.allows(t.astimezone(tz))]
        if allowed:
            return min(allowed)
    raise SendWindowError("the daily window lies entirely inside quiet hours")


@dataclass(frozen=True)
class SendTimeChoice:
    send_at: datetime  # aware, UTC
    local: datetime  # the same instant in the contact's zone
    slot: int
    source: Source
    reason: str
    expected_rate: float


def choose_send_time(
    now: datetime,
    tz: ZoneInfo,
    window: SendWindow,
    contact: SlotHistogram,
    segment: SlotHistogram | None,
    population: SlotHistogram | None,
    rng: np.random.Generator,
    *,
    locale: str | None = None,
    explore: bool = True,
    prior_strength: float = PRIOR_STRENGTH,
) -> SendTimeChoice:
    """The allowed whole hour in the window with the best engagement rate: a Thompson draw from
    each slot's posterior when ``explore`` (so uncertain slots get tried), else the best mean."""
    weekend = weekend_days(locale)
    if contact.sends.any():
        post = slot_posterior(
            contact, segment, population, prior_strength=prior_strength, weekend=weekend
        )
    else:  # every contact without history shares one posterior: computed once per prior
        post = _posterior_without_history(segment, population, prior_strength, weekend)
    times = list(_allowed_times(now, tz, window))
    if not times:
        at = next_allowed_time(now, tz, window)
        slot = slot_of(at, tz)
        reason = f"no allowed hour within {window.within_hours} h: first allowed time"
        return _choice(at, tz, slot, post.source(slot), f"{reason} {slot_label(slot)}", post)
    slots = np.array([t.weekday() * 24 + t.hour for t in times])
    # Only when nothing distinguishes the allowed hours is the placement's default hour used:
    # thin data is already shrunk toward flat, so any difference left is worth following.
    if float(np.ptp(post.mean[slots])) < 1e-9:
        hours = (slots % 24 - window.default_hour) % 24
        i = int(np.argmin(np.minimum(hours, 24 - hours)))
        reason = f"nothing learned yet: default hour {slot_label(int(slots[i]))}"
        return _choice(times[i], tz, int(slots[i]), "default", reason, post)
    mean = post.mean[slots]
    best = int(np.argmax(mean))
    pick = int(np.argmax(rng.beta(post.alpha[slots], post.beta[slots]))) if explore else best
    slot = int(slots[pick])
    source = post.source(slot)
    evidence = f"{int(contact.sends[slot])} sends, {int(contact.engaged[slot])} engaged"
    if pick != best:
        reason = f"exploring {slot_label(slot)} ({evidence}); best known {slot_label(slots[best])}"
    elif source == "contact":
        reason = f"contact's best slot {slot_label(slot)} ({evidence})"
    else:
        owner = {"segment": "segment's", "population": "population's"}.get(source, "prior's")
        reason = f"{owner} best slot {slot_label(slot)} ({mean[pick]:.1%} expected)"
    return _choice(times[pick], tz, slot, source, reason, post)


@lru_cache(maxsize=8)
def _posterior_without_history(
    segment: SlotHistogram | None, population: SlotHistogram | None, strength: float,
    weekend: frozenset[int],
) -> SlotPosterior:  # fmt: skip
    # Histograms hash by identity (eq=False): the runtime swaps in new prior objects when it
    # re-reads them, so a stale entry is never hit again and falls out of the cache.
    return slot_posterior(
        SlotHistogram.empty(), segment, population, prior_strength=strength, weekend=weekend
    )


@lru_cache(maxsize=256)
def _allowed_times(now: datetime, tz: ZoneInfo, window: SendWindow) -> tuple[datetime, ...]:
    """The window's allowed whole hours as local times: the same for every contact of a
    batch in one zone, so computed once per (moment, zone, window)."""
    local = (t.astimezone(tz) for t in candidate_times(now, tz, window))
    return tuple(t for t in local if window.allows(t))


def _choice(
    at: datetime, tz: ZoneInfo, slot: int, source: Source, reason: str, post: SlotPosterior
) -> SendTimeChoice:
    utc = at.astimezone(UTC)
    return SendTimeChoice(utc, utc.astimezone(tz), slot, source, reason, float(post.mean[slot]))
