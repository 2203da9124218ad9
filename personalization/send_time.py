"""Per-contact send time: an hour-of-week engagement histogram, its posterior, and when to send."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

from personalization.locales import normalize_locale

FloatArray = NDArray[np.float64]
Source = Literal["contact", "segment", "population", "default"]
SOURCES: tuple[Source, ...] = ("contact", "segment", "population", "default")

SLOTS = 168
MAX_COUNT = 15  # a 4-bit counter: the store packs sends and engagements of a slot in one byte
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
HOUR = timedelta(hours=1)

# How much a send in a similar slot counts towards a slot, as a share of a send in the slot
# itself. Habits are daily (the same hour on another workday says a lot about this one), split
# by kind of day (a Sunday says less about a Tuesday), and not punctual to the hour.
SAME_KIND_WEIGHT = 0.5
OTHER_KIND_WEIGHT = 0.2
NEIGHBOUR_WEIGHT = 0.5
# Pseudo-sends each prior is worth: a contact's pooled slot over its segment/population curve,
# the segment's curve over the population's, the population's over its overall rate.
PRIOR_STRENGTH = 5.0
SEGMENT_STRENGTH = 50.0
FLAT_STRENGTH = 50.0
LEVEL_STRENGTH = 10.0  # how fast a contact's overall engagement level departs from its segment's
DEFAULT_RATE = 0.1  # only scales the flat prior when nothing is known; it never orders slots

# Apple Mail Privacy Protection fetches every message (and its tracking pixel) through Apple's
# proxy as soon as it reaches the device, typically within a few seconds of delivery; a person
# needs a notification, an unlock and a tap, which rarely takes under ten seconds.
MACHINE_OPEN_SECONDS = 10.0

# Weekend days (Mon=0) by region, from CLDR's weekData; languages stand for their main region.
_WEEKEND_BY_REGION: dict[str, frozenset[int]] = {
    "IR": frozenset({4}),
    "AF": frozenset({3, 4}),
    "IL": frozenset({4, 5}),
    "IN": frozenset({6}),
    **{
        region: frozenset({4, 5})
        for region in ("SA", "EG", "DZ", "BH", "IQ", "JO", "KW", "LY", "OM", "QA", "SD", "SY", "YE")
    },
}
_REGION_BY_LANGUAGE = {"fa": "IR", "he": "IL", "iw": "IL", "ps": "AF", "ar": "EG"}
_DEFAULT_WEEKEND = frozenset({5, 6})


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


def weekend_days(locale: str | None) -> frozenset[int]:
    """Python weekday numbers of the weekend for a locale tag ("fa-IR" -> {4}, Friday)."""
    tag = normalize_locale(locale) if locale else None
    if tag is None:
        return _DEFAULT_WEEKEND
    language, *subtags = tag.split("-")
    region = next((s for s in subtags if len(s) == 2 and s.isupper()), None)
    region = region or _REGION_BY_LANGUAGE.get(language)
    return _WEEKEND_BY_REGION.get(region or "", _DEFAULT_WEEKEND)


@dataclass(frozen=True, eq=False)
class SlotHistogram:
    """Sends and engagements per hour-of-week slot; engagements count at the slot of the send."""

    sends: FloatArray
    engaged: FloatArray

    def __post_init__(self) -> None:
        for name in ("sends", "engaged"):
            value = np.asarray(getattr(self, name), dtype=np.float64)
            if value.shape != (SLOTS,):
                raise ValueError(f"{name} must have shape ({SLOTS},), not {value.shape}")
            object.__setattr__(self, name, value)

    @classmethod
    def empty(cls) -> SlotHistogram:
        return cls(np.zeros(SLOTS), np.zeros(SLOTS))

    def __add__(self, other: SlotHistogram) -> SlotHistogram:
        return SlotHistogram(self.sends + other.sends, self.engaged + other.engaged)


def decode_histogram(raw: bytes | None) -> SlotHistogram:
    """168 bytes, byte i = (sends_i << 4) | engaged_i; missing bytes are empty slots."""
    packed = np.zeros(SLOTS, dtype=np.uint8)
    if raw:
        data = np.frombuffer(raw[:SLOTS], dtype=np.uint8)
        packed[: data.size] = data
    return SlotHistogram((packed >> 4).astype(np.float64), (packed & 0x0F).astype(np.float64))


def encode_histogram(h: SlotHistogram) -> bytes:
    """The store's 168-byte layout; counts must be whole numbers 0..15 with engaged <= sends."""
    sends, engaged = h.sends, h.engaged
    whole = np.array_equal(sends, np.round(sends)) and np.array_equal(engaged, np.round(engaged))
    in_range = (sends >= 0).all() and (sends <= MAX_COUNT).all() and (engaged >= 0).all()
    if not (whole and in_range and (engaged <= sends).all()):
        raise ValueError("histogram counts must be integers 0..15 with engaged <= sends")
    return ((sends.astype(np.uint8) << 4) | engaged.astype(np.uint8)).tobytes()


def record_send(raw: bytes | None, slot: int) -> bytes:
    """What the store's Lua does on a delivery in ``slot``, on the stored bytes.

    A slot whose sends would exceed 15 first has both counts halved (rounded down, so 15 sends
    become 7, then 8 with this one): a cheap decay that lets old behaviour lose weight.
    """
    data = _padded(raw, slot)
    sends, engaged = data[slot] >> 4, data[slot] & 0x0F
    if sends >= MAX_COUNT:
        sends, engaged = sends // 2, engaged // 2
    data[slot] = (sends + 1) << 4 | engaged
    return bytes(data)


def record_engagement(raw: bytes | None, slot: int) -> bytes:
    """What the store's Lua does on the first engagement of a send made in ``slot``.

    Ignored when the slot has no unmatched send left (it was halved since), so engaged <= sends.
    """
    data = _padded(raw, slot)
    if data[slot] & 0x0F < data[slot] >> 4:
        data[slot] += 1
    return bytes(data)


def _padded(raw: bytes | None, slot: int) -> bytearray:
    if not 0 <= slot < SLOTS:
        raise ValueError(f"slot must be 0..{SLOTS - 1}, not {slot}")
    data = bytearray((raw or b"")[:SLOTS])
    return data + bytearray(SLOTS - len(data))


def is_machine_open(
    delivered_at: float, opened_at: float, threshold_s: float = MACHINE_OPEN_SECONDS
) -> bool:
    """An open this soon after delivery (or "before" it, by clock skew) is a prefetch."""
    return opened_at - delivered_at < threshold_s


def engagement_weight(kind: str, machine: bool) -> float:
    """How much one event counts as engagement: clicks and human opens do, machine opens don't.

    The store counts at most one engagement per send, so an open followed by a click is one.
    """
    if kind == "click":
        return 1.0
    if kind == "open":
        return 0.0 if machine else 1.0
    return 0.0


@dataclass(frozen=True, eq=False)
class SlotPosterior:
    """Beta(alpha, beta) engagement rate per slot, and the share of each slot's mean that came
    from each level: rows contact, segment, population, default."""

    alpha: FloatArray
    beta: FloatArray
    shares: FloatArray  # shape (4, SLOTS), columns sum to 1

    @property
    def mean(self) -> FloatArray:
        return self.alpha / (self.alpha + self.beta)

    def source(self, slot: int) -> Source:
        """The level that taught most about this slot: the fallback chain contact → segment
        → population, and "default" only when none of them holds any data for it."""
        learned = self.shares[:3, slot]
        if float(learned.sum()) < 1e-12:
            return "default"
        return SOURCES[int(np.argmax(learned))]


@lru_cache(maxsize=16)
def _day_weights(weekend: frozenset[int]) -> FloatArray:
    is_weekend = np.array([d in weekend for d in range(7)])
    days = np.where(is_weekend[:, None] == is_weekend[None, :], SAME_KIND_WEIGHT, OTHER_KIND_WEIGHT)
    np.fill_diagonal(days, 1.0)
    days.flags.writeable = False  # shared by every call through the cache
    return days


def pooled(counts: FloatArray, weekend: frozenset[int]) -> FloatArray:
    """Per slot (last axis), its own count plus the discounted counts of similar slots."""
    days = _day_weights(weekend) @ counts.reshape(*counts.shape[:-1], 7, 24)
    flat = days.reshape(counts.shape)
    # The 168 slots wrap around: Monday 00:00 is next to Sunday 23:00.
    before = np.concatenate([flat[..., -1:], flat[..., :-1]], axis=-1)
    after = np.concatenate([flat[..., 1:], flat[..., :1]], axis=-1)
    return np.asarray(flat + NEIGHBOUR_WEIGHT * (before + after))


def _shrink(
    sends: FloatArray, engaged: FloatArray, prior: FloatArray | float, strength: float
) -> tuple[FloatArray, FloatArray]:
    """Rate with ``prior`` worth ``strength`` sends, and the share of it the data decided."""
    return (engaged + strength * prior) / (sends + strength), sends / (sends + strength)


def slot_posterior(
    contact: SlotHistogram,
    segment: SlotHistogram | None = None,
    population: SlotHistogram | None = None,
    *,
    prior_strength: float = PRIOR_STRENGTH,
    weekend: frozenset[int] = _DEFAULT_WEEKEND,
) -> SlotPosterior:
    """Empirical-Bayes rate per slot: the contact's slot with its similar slots (same hour on the
    same kind of day, then on the other kind, then the neighbouring hours) -> segment ->
    population -> the population's overall rate, each level the prior of the one above.

    The segment/population curve is scaled by the contact's own engagement level (engagements
    over those expected where it was sent), so a contact who engages twice as often as its
    segment starts every untried slot twice as high. ``prior_strength`` is what that scaled
    curve is worth, in sends, against the contact's pooled sends; ``weekend`` decides which
    days are of the same kind.
    """
    empty = SlotHistogram.empty()
    pop, seg = population or empty, segment or empty
    known = next((h for h in (pop, seg, contact) if h.sends.sum() > 0), None)
    overall = known.engaged.sum() / known.sends.sum() if known is not None else DEFAULT_RATE
    raw = np.stack([pop.sends, pop.engaged, seg.sends, seg.engaged, contact.sends, contact.engaged])
    pop_s, pop_e, seg_s, seg_e, sends, engaged = pooled(raw, weekend)
    pop_rate, pop_weight = _shrink(pop_s, pop_e, overall, FLAT_STRENGTH)
    seg_rate, seg_weight = _shrink(seg_s, seg_e, pop_rate, SEGMENT_STRENGTH)

    # The contact's level: its engagements over those its segment would have had where it was
    # sent, from the data a slot does not already pool (a slot's own sends count only once).
    expected = contact.sends * seg_rate
    outside_e = contact.engaged.sum() - engaged
    outside_x = expected.sum() - pooled(expected, weekend)
    # Floored: with sends but no engagement anywhere yet, the rates are all 0 and 0/0 is NaN.
    pseudo = LEVEL_STRENGTH * max(float(seg_rate.mean()), 1e-6)
    level = (np.clip(outside_e, 0, None) + pseudo) / (np.clip(outside_x, 0, None) + pseudo)
    base = np.clip(seg_rate * level, 1e-3, 1 - 1e-3)
    alpha = engaged + prior_strength * base
    beta = sends - engaged + prior_strength * (1 - base)

    rest = prior_strength / (sends + prior_strength)
    shares = np.stack(
        [
            1 - rest,
            rest * seg_weight,
            rest * (1 - seg_weight) * pop_weight,
            rest * (1 - seg_weight) * (1 - pop_weight),
        ]
    )
    return SlotPosterior(alpha, beta, shares)


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
    walls = [time(h) for h in range(24)] + [w for w in (window.earliest, window.quiet_end) if w]
    today = start.astimezone(tz).date()
    options = [start] + [
        _wall_instant(today + timedelta(days=d), wall, tz, earliest=False)
        for d in range(9)
        for wall in walls
    ]
    allowed = [t for t in options if t >= start and window.allows(t.astimezone(tz))]
    if not allowed:
        raise SendWindowError("the daily window lies entirely inside quiet hours")
    return min(allowed)


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
