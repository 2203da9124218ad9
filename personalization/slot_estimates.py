"""Hour-of-week engagement histograms as the store packs them, and the rate posterior per slot."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from personalization.locales import normalize_locale

FloatArray = NDArray[np.float64]
Source = Literal["contact", "segment", "population", "default"]
SOURCES: tuple[Source, ...] = ("contact", "segment", "population", "default")

SLOTS = 168
MAX_COUNT = 15  # a 4-bit counter: the store packs sends and engagements of a slot in one byte

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
