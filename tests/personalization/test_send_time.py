"""Tests for send-time learning: slots across time zones and DST, the store's byte codec,
shrinkage, quiet hours and the choice of a send time."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from personalization.send_time import (
    SendWindow,
    SendWindowError,
    candidate_times,
    choose_send_time,
    move_out_of_quiet_hours,
    next_allowed_time,
    slot_label,
    slot_of,
)
from personalization.slot_estimates import (
    SLOTS,
    SlotHistogram,
    decode_histogram,
    encode_histogram,
    engagement_weight,
    is_machine_open,
    pooled,
    record_engagement,
    record_send,
    slot_posterior,
    weekend_days,
)

NY = ZoneInfo("America/New_York")
TEHRAN = ZoneInfo("Asia/Tehran")
JERUSALEM = ZoneInfo("Asia/Jerusalem")
MOSCOW = ZoneInfo("Europe/Moscow")
Z_UTC = ZoneInfo("UTC")
QUIET = (time(21), time(8))


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def histogram(cells: dict[int, tuple[float, float]]) -> SlotHistogram:
    """slot -> (sends, engaged)."""
    sends, engaged = np.zeros(SLOTS), np.zeros(SLOTS)
    for slot, (s, e) in cells.items():
        sends[slot], engaged[slot] = s, e
    return SlotHistogram(sends, engaged)


def uniform_population(rate: float = 0.1, sends: float = 1000.0) -> SlotHistogram:
    return SlotHistogram(np.full(SLOTS, sends), np.full(SLOTS, sends * rate))


# --- slots, time zones, weekends -------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "tz", "slot"),
    [
        (utc(2025, 1, 6, 0, 0), Z_UTC, 0),  # Monday 00:00
        (utc(2025, 1, 6, 0, 59, 59), Z_UTC, 0),
        (utc(2025, 1, 12, 23, 59), Z_UTC, 167),  # Sunday 23:59
        (utc(2025, 1, 8, 20, 30), TEHRAN, 72),  # Thursday 00:00 in Tehran (UTC+3:30)
        (utc(2025, 1, 8, 20, 29), TEHRAN, 71),  # a minute earlier: Wednesday 23:59
        (utc(2025, 1, 9, 5, 0), NY, 72),  # Thursday 00:00 EST (UTC-5)
        (utc(2025, 7, 10, 4, 0), NY, 72),  # Thursday 00:00 EDT (UTC-4)
        (utc(2025, 1, 8, 21, 0), MOSCOW, 72),  # UTC+3 all year
        (utc(2025, 3, 9, 6, 59, 59), NY, 6 * 24 + 1),  # Sunday 01:59:59 EST, before the gap
        (utc(2025, 3, 9, 7, 0), NY, 6 * 24 + 3),  # the next second is 03:00 EDT: no 02:00 slot
        (utc(2025, 11, 2, 5, 30), NY, 6 * 24 + 1),  # 01:30 EDT, the first time
        (utc(2025, 11, 2, 6, 30), NY, 6 * 24 + 1),  # 01:30 EST, the second time
    ],
)
def test_slot_of_is_the_local_hour_of_week(moment: datetime, tz: ZoneInfo, slot: int) -> None:
    assert slot_of(moment, tz) == slot


def test_slot_of_rejects_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="aware"):
        slot_of(datetime(2025, 1, 6), Z_UTC)


def test_tehran_has_had_no_dst_since_2022() -> None:
    # Iran abolished DST in 2022: tzdata has +04:30 in summer 2022, +03:30 all year after.
    assert datetime(2022, 7, 1, tzinfo=TEHRAN).utcoffset() == timedelta(hours=4, minutes=30)
    for month in (1, 4, 7, 10):
        assert datetime(2024, month, 1, tzinfo=TEHRAN).utcoffset() == timedelta(hours=3.5)
    assert slot_of(utc(2024, 7, 3, 20, 30), TEHRAN) == 72  # Thursday 00:00 in July, too


def test_slot_labels() -> None:
    assert [slot_label(s) for s in (0, 72, 167)] == ["Mon 00:00", "Thu 00:00", "Sun 23:00"]


@pytest.mark.parametrize(
    ("locale", "weekend"),
    [
        ("fa", {4}),
        ("fa-IR", {4}),
        ("fa_IR.UTF-8", {4}),
        ("he", {4, 5}),
        ("he-IL", {4, 5}),
        ("en-IL", {4, 5}),  # the region decides
        ("ar-SA", {4, 5}),
        ("ar-AE", {5, 6}),  # the Emirates moved to Saturday-Sunday in 2022
        ("en-US", {5, 6}),
        ("ru", {5, 6}),
        (None, {5, 6}),
        ("not a locale!", {5, 6}),
    ],
)
def test_weekend_days_by_locale(locale: str | None, weekend: set[int]) -> None:
    assert weekend_days(locale) == frozenset(weekend)


# --- the store's byte codec ------------------------------------------------------------------


def test_codec_layout_and_round_trip() -> None:
    rng = np.random.default_rng(1)
    sends = rng.integers(0, 16, SLOTS).astype(float)
    engaged = np.floor(sends * rng.random(SLOTS))
    raw = encode_histogram(SlotHistogram(sends, engaged))
    assert len(raw) == SLOTS
    assert all(raw[i] == int(sends[i]) * 16 + int(engaged[i]) for i in range(SLOTS))
    back = decode_histogram(raw)
    assert np.array_equal(back.sends, sends) and np.array_equal(back.engaged, engaged)
    assert encode_histogram(histogram({5: (3, 2)}))[5] == 0x32


def test_decode_pads_missing_and_short_values_and_ignores_extra_bytes() -> None:
    for raw in (None, b""):
        h = decode_histogram(raw)
        assert h.sends.sum() == 0 and h.engaged.sum() == 0
    short = decode_histogram(b"\x21\xf3")
    assert (short.sends[:2].tolist(), short.engaged[:2].tolist()) == ([2, 15], [1, 3])
    assert short.sends[2:].sum() == 0
    long = decode_histogram(bytes([0x11]) * SLOTS + b"\xff")
    assert long.sends.sum() == SLOTS


@pytest.mark.parametrize("cells", [{0: (16, 0)}, {0: (3, 4)}, {0: (2.5, 1)}, {0: (-1, 0)}], ids=str)
def test_encode_rejects_what_four_bits_cannot_hold(cells: dict[int, tuple[float, float]]) -> None:
    with pytest.raises(ValueError, match=r"0\.\.15"):
        encode_histogram(histogram(cells))


def _cell(raw: bytes, slot: int) -> tuple[int, int]:
    return raw[slot] >> 4, raw[slot] & 15


@pytest.mark.parametrize(
    ("before", "after_send"),
    [
        ((0, 0), (1, 0)),
        ((14, 3), (15, 3)),
        ((15, 7), (8, 3)),
        ((15, 15), (8, 7)),
        ((15, 0), (8, 0)),
    ],
)
def test_record_send_halves_a_full_slot_first(
    before: tuple[int, int], after_send: tuple[int, int]
) -> None:
    raw = encode_histogram(histogram({9: before, 10: (4, 2)}))
    out = record_send(raw, 9)
    assert _cell(out, 9) == after_send
    assert _cell(out, 10) == (4, 2)  # other slots untouched
    assert len(out) == SLOTS


def test_record_rejects_slots_outside_the_week() -> None:
    for slot in (-1, SLOTS):
        with pytest.raises(ValueError, match="slot"):
            record_send(None, slot)
        with pytest.raises(ValueError, match="slot"):
            record_engagement(None, slot)


def test_send_window_validates_itself() -> None:
    with pytest.raises(ValueError):
        SendWindow(default_hour=24)
    with pytest.raises(ValueError):
        SendWindow(within_hours=-1)


def test_record_engagement_never_exceeds_sends() -> None:
    raw = encode_histogram(histogram({3: (8, 3), 4: (8, 8), 5: (0, 0)}))
    assert _cell(record_engagement(raw, 3), 3) == (8, 4)
    assert _cell(record_engagement(raw, 4), 4) == (8, 8)
    assert _cell(record_engagement(raw, 5), 5) == (0, 0)


def test_sixteen_sends_from_nothing_decay_to_eight() -> None:
    raw: bytes | None = None
    for i in range(16):
        raw = record_send(raw, 100)
        if i % 2 == 0:
            raw = record_engagement(raw, 100)
    assert raw is not None
    # 15 sends with 8 engaged, halved to (7, 4) by the 16th send, which makes 8 sends.
    assert _cell(raw, 100) == (8, 4)
    assert _cell(record_send(b"\x21", 5), 0) == (2, 1)  # a short value is padded, not lost


# --- machine opens ---------------------------------------------------------------------------


def test_machine_opens_are_the_ones_within_seconds_of_delivery() -> None:
    assert is_machine_open(1000.0, 1002.5)
    assert is_machine_open(1000.0, 995.0)  # "before" delivery: clock skew, still a prefetch
    assert not is_machine_open(1000.0, 1010.0)
    assert not is_machine_open(1000.0, 1600.0)
    assert is_machine_open(1000.0, 1020.0, threshold_s=30)


def test_engagement_weights() -> None:
    assert engagement_weight("click", machine=False) == 1.0
    assert engagement_weight("click", machine=True) == 1.0
    assert engagement_weight("open", machine=False) == 1.0
    assert engagement_weight("open", machine=True) == 0.0
    assert engagement_weight("delivered", machine=False) == 0.0


# --- pooling and shrinkage -------------------------------------------------------------------


def test_pooling_weights_follow_the_kind_of_day_of_the_locale() -> None:
    friday_9 = 4 * 24 + 9
    counts = histogram({friday_9: (1, 0)}).sends
    thursday_9, saturday_9, friday_10 = 3 * 24 + 9, 5 * 24 + 9, friday_9 + 1
    default = pooled(counts, weekend_days(None))  # Friday is a workday
    iran = pooled(counts, weekend_days("fa-IR"))  # Friday is the weekend, Saturday a workday
    israel = pooled(counts, weekend_days("he-IL"))  # Friday and Saturday are the weekend
    assert (default[thursday_9], default[saturday_9]) == (0.5, 0.2)
    assert (iran[thursday_9], iran[saturday_9]) == (0.2, 0.2)
    assert (israel[thursday_9], israel[saturday_9]) == (0.2, 0.5)
    assert default[friday_9] == 1.0 and default[friday_10] == 0.5
    assert pooled(histogram({167: (1, 0)}).sends, frozenset())[0] == 0.5  # Sun 23 -> Mon 00


def test_two_sends_stay_close_to_the_population() -> None:
    # Prior 0.1 (the population) worth 5 sends; the contact's 1 of 2 adds (1 + 0.5) / (2 + 5).
    post = slot_posterior(histogram({10: (2, 1)}), None, uniform_population())
    assert post.mean[10] == pytest.approx(1.5 / 7)
    assert abs(post.mean[10] - 0.1) < abs(post.mean[10] - 0.5)
    assert post.source(10) == "population"


def test_forty_sends_are_close_to_the_contact_own_rate() -> None:
    post = slot_posterior(histogram({10: (40, 20)}), None, uniform_population())
    assert post.mean[10] == pytest.approx(20.5 / 45)
    assert abs(post.mean[10] - 0.5) < 0.05
    assert post.source(10) == "contact"


def test_similar_slots_are_pooled_before_the_population() -> None:
    # 8 sends a day at 09:00, Monday to Thursday, half engaged; nothing on Friday or Saturday.
    contact = histogram({d * 24 + 9: (8, 4) for d in range(4)})
    population = uniform_population()
    friday_9, saturday_9 = 4 * 24 + 9, 5 * 24 + 9
    usual = slot_posterior(contact, None, population, weekend=weekend_days("en-US")).mean
    iran = slot_posterior(contact, None, population, weekend=weekend_days("fa-IR")).mean
    assert usual[friday_9] > usual[saturday_9] > 0.2  # Friday is a workday like the others
    assert iran[saturday_9] > iran[friday_9] > 0.2  # in Iran Friday is the weekend


def test_segment_sits_between_contact_and_population() -> None:
    segment = histogram({s: (200, 60) for s in range(SLOTS)})  # 30% where the population has 10%
    post = slot_posterior(SlotHistogram.empty(), segment, uniform_population())
    assert post.mean[50] == pytest.approx(0.3, abs=0.01)
    assert post.source(50) == "segment"
    assert slot_posterior(SlotHistogram.empty()).source(50) == "default"


# --- quiet hours -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("local", "moved"),
    [
        (datetime(2025, 1, 7, 22, 0), datetime(2025, 1, 7, 21, 0)),  # before midnight: back
        (datetime(2025, 1, 8, 6, 0), datetime(2025, 1, 8, 8, 0)),  # after midnight: forward
        (datetime(2025, 1, 8, 0, 0), datetime(2025, 1, 7, 21, 0)),  # midnight: 3 h vs 8 h
        (datetime(2025, 1, 8, 2, 30), datetime(2025, 1, 8, 8, 0)),  # 5.5 h each way: the end
        (datetime(2025, 1, 7, 21, 0), datetime(2025, 1, 7, 21, 0)),  # an edge is allowed
        (datetime(2025, 1, 8, 8, 0), datetime(2025, 1, 8, 8, 0)),
        (datetime(2025, 1, 8, 12, 0), datetime(2025, 1, 8, 12, 0)),  # outside: unchanged
    ],
)
def test_quiet_hours_wrapping_midnight(local: datetime, moved: datetime) -> None:
    assert move_out_of_quiet_hours(local.replace(tzinfo=NY), *QUIET) == moved.replace(tzinfo=NY)


def test_quiet_hours_not_wrapping() -> None:
    def move(hour: int, minute: int) -> datetime:
        at = datetime(2025, 1, 8, hour, minute, tzinfo=NY)
        return move_out_of_quiet_hours(at, time(12), time(14))

    assert move(12, 59) == datetime(2025, 1, 8, 12, tzinfo=NY)
    assert move(13, 0) == datetime(2025, 1, 8, 14, tzinfo=NY)  # tie: later
    assert move(14, 0) == datetime(2025, 1, 8, 14, tzinfo=NY)


def test_quiet_hours_measure_real_time_across_spring_forward() -> None:
    # 21:00 EST Saturday to 08:00 EDT Sunday is 10 real hours, so the middle is 03:00 EDT
    # (a wall-clock middle would be 02:30, which does not exist that night).
    start, end = datetime(2025, 3, 8, 21, tzinfo=NY), datetime(2025, 3, 9, 8, tzinfo=NY)
    assert move_out_of_quiet_hours(datetime(2025, 3, 9, 1, 59, tzinfo=NY), *QUIET) == start
    assert move_out_of_quiet_hours(datetime(2025, 3, 9, 3, 0, tzinfo=NY), *QUIET) == end


def test_quiet_hours_measure_real_time_across_fall_back() -> None:
    # 21:00 EDT Saturday to 08:00 EST Sunday is 12 real hours: the middle is 02:00 EST, and
    # 01:30 happens twice (EDT, then EST), both nearer the start.
    start, end = datetime(2025, 11, 1, 21, tzinfo=NY), datetime(2025, 11, 2, 8, tzinfo=NY)
    first = datetime(2025, 11, 2, 1, 30, tzinfo=NY)
    second = first.replace(fold=1)
    assert first.utcoffset() != second.utcoffset()
    assert move_out_of_quiet_hours(first, *QUIET) == start
    assert move_out_of_quiet_hours(second, *QUIET) == start
    assert move_out_of_quiet_hours(datetime(2025, 11, 2, 2, 0, tzinfo=NY), *QUIET) == end


def test_an_edge_skipped_by_dst_becomes_a_real_time() -> None:
    # Quiet until 02:30, which does not exist on 2025-03-09 in New York: the end moves to the
    # later reading, 03:30 EDT; a start at 02:30 moves to the earlier one, 01:30 EST.
    late = move_out_of_quiet_hours(datetime(2025, 3, 9, 1, 45, tzinfo=NY), time(22), time(2, 30))
    assert late.astimezone(UTC) == utc(2025, 3, 9, 7, 30)
    assert (late.hour, late.minute, late.utcoffset()) == (3, 30, timedelta(hours=-4))
    early = move_out_of_quiet_hours(datetime(2025, 3, 9, 3, 10, tzinfo=NY), time(2, 30), time(6))
    assert early.astimezone(UTC) == utc(2025, 3, 9, 6, 30)
    assert (early.hour, early.minute, early.utcoffset()) == (1, 30, timedelta(hours=-5))
    for moved in (late, early):  # both survive a UTC round trip unchanged: they exist
        assert moved.astimezone(UTC).astimezone(NY) == moved


# --- candidates and the choice ---------------------------------------------------------------


def test_candidates_step_in_utc_across_spring_forward() -> None:
    times = candidate_times(utc(2025, 3, 8, 12, 0), NY, SendWindow(within_hours=24))
    local = [t.astimezone(NY) for t in times]
    assert len(times) == 25 and len(set(times)) == 25
    assert all(b - a == timedelta(hours=1) for a, b in pairwise(times))
    assert 2 not in [t.hour for t in local if t.day == 9]  # 02:00 does not exist that night
    assert [t.hour for t in local if t.day == 9][:3] == [0, 1, 3]


def test_candidates_keep_both_hours_repeated_by_fall_back() -> None:
    times = candidate_times(utc(2025, 11, 1, 12, 0), NY, SendWindow(within_hours=24))
    slots = [slot_of(t, NY) for t in times]
    assert len(times) == 25
    assert slots.count(6 * 24 + 1) == 2  # 01:00 EDT and 01:00 EST


def test_candidates_are_whole_local_hours_with_half_hour_offsets() -> None:
    times = candidate_times(utc(2025, 1, 8, 0, 0), TEHRAN, SendWindow(within_hours=23))
    assert times[0] == utc(2025, 1, 8, 0, 30)
    assert {t.astimezone(TEHRAN).minute for t in times} == {0}
    assert len(times) == 23


def test_candidates_start_now_when_allowed() -> None:
    now = utc(2025, 1, 8, 15, 17)
    assert candidate_times(now, Z_UTC, SendWindow(within_hours=2, allow_now=True)) == [
        now,
        utc(2025, 1, 8, 16),
        utc(2025, 1, 8, 17),
    ]
    assert candidate_times(now, Z_UTC, SendWindow(within_hours=2))[0] == utc(2025, 1, 8, 16)


def test_no_history_gets_the_population_best_slot() -> None:
    wednesday_19 = 2 * 24 + 19
    population = uniform_population()
    population.engaged[wednesday_19] = 300  # 30% on Wednesdays at 19:00 local, 10% elsewhere
    now = utc(2025, 1, 8, 15, 0)  # Wednesday 10:00 in New York
    choice = choose_send_time(
        now, NY, SendWindow(), SlotHistogram.empty(), None, population,
        np.random.default_rng(0), explore=False,
    )  # fmt: skip
    assert choice.slot == wednesday_19
    assert choice.source == "population"
    assert choice.send_at == utc(2025, 1, 9, 0, 0) and choice.send_at.tzinfo == UTC
    assert choice.local.hour == 19 and choice.local.utcoffset() == timedelta(hours=-5)
    assert choice.reason.startswith("population's best slot Wed 19:00")
    assert 0.1 < choice.expected_rate < 0.3


def test_the_contact_own_best_slot_and_its_reason() -> None:
    contact = histogram({72: (12, 5), 12: (4, 0), 39: (4, 0), 66: (4, 0)})
    choice = choose_send_time(
        utc(2025, 1, 8, 12), Z_UTC, SendWindow(), contact, None, uniform_population(),
        np.random.default_rng(0), explore=False,
    )  # fmt: skip
    assert (choice.slot, choice.source) == (72, "contact")
    assert choice.reason == "contact's best slot Thu 00:00 (12 sends, 5 engaged)"


def test_quiet_hours_and_daily_window_filter_the_candidates() -> None:
    population = uniform_population()
    population.engaged[2 * 24 + 23] = 400  # the population's best is Wednesday 23:00, quiet
    population.engaged[3 * 24 + 7] = 300  # next best Thursday 07:00, also quiet
    population.engaged[3 * 24 + 8] = 200  # Thursday 08:00: the quiet hours' edge, allowed
    window = SendWindow(quiet_start=QUIET[0], quiet_end=QUIET[1])
    now = utc(2025, 1, 8, 15, 0)
    rng = np.random.default_rng(0)
    args = (SlotHistogram.empty(), None, population, rng)
    assert choose_send_time(now, NY, window, *args, explore=False).slot == 3 * 24 + 8
    narrow = SendWindow(earliest=time(9), latest=time(17), quiet_start=time(21), quiet_end=time(8))
    for seed in range(20):
        picked = choose_send_time(now, NY, narrow, *args[:3], np.random.default_rng(seed))
        assert 9 <= picked.local.hour <= 17


def test_no_candidate_falls_back_to_the_next_allowed_time() -> None:
    window = SendWindow(within_hours=2, quiet_start=QUIET[0], quiet_end=QUIET[1])
    now = datetime(2025, 1, 8, 22, 10, tzinfo=NY)  # candidates 23:00, 00:00: all quiet
    choice = choose_send_time(
        now, NY, window, SlotHistogram.empty(), None, uniform_population(),
        np.random.default_rng(0),
    )  # fmt: skip
    assert choice.local == datetime(2025, 1, 9, 8, 0, tzinfo=NY)
    assert choice.reason.startswith("no allowed hour within 2 h")
    daily = SendWindow(within_hours=3, earliest=time(9, 30), latest=time(17))
    evening = datetime(2025, 1, 8, 18, 0, tzinfo=NY)
    assert next_allowed_time(evening, NY, daily) == datetime(2025, 1, 9, 9, 30, tzinfo=NY)


def test_a_daily_window_inside_quiet_hours_is_an_error() -> None:
    window = SendWindow(
        earliest=time(22), latest=time(23), quiet_start=QUIET[0], quiet_end=QUIET[1]
    )
    with pytest.raises(SendWindowError):
        next_allowed_time(utc(2025, 1, 8), NY, window)


def test_nothing_learned_sends_at_the_default_hour() -> None:
    now = datetime(2025, 1, 8, 12, 0, tzinfo=NY)
    empty = SlotHistogram.empty()
    rng = np.random.default_rng(0)
    choice = choose_send_time(now, NY, SendWindow(default_hour=10), empty, None, None, rng)
    assert choice.local == datetime(2025, 1, 9, 10, 0, tzinfo=NY)
    assert (choice.source, choice.slot) == ("default", 3 * 24 + 10)
    evening = SendWindow(default_hour=10, earliest=time(18), latest=time(21))
    assert choose_send_time(now, NY, evening, empty, None, None, rng).local.hour == 18


def test_thompson_sampling_tries_uncertain_slots_and_favours_the_best() -> None:
    contact = histogram({72: (6, 3), 12: (4, 0), 39: (4, 0)})
    args = (utc(2025, 1, 8, 12), Z_UTC, SendWindow(), contact, None, uniform_population())
    picks = [choose_send_time(*args, np.random.default_rng(seed)).slot for seed in range(400)]
    counts = {slot: picks.count(slot) for slot in set(picks)}
    # Thu 00:00 has the best mean; its neighbours share its evidence with more uncertainty.
    assert sorted(counts, key=lambda s: -counts[s])[:3] == [73, 72, 71]
    assert 0.2 < sum(counts[s] for s in (71, 72, 73)) / 400 < 0.4  # twice a uniform share
    assert len(counts) == 25  # every candidate hour gets tried at least once
    explored = choose_send_time(*args, np.random.default_rng(picks.index(73)))
    assert explored.reason == "exploring Thu 01:00 (0 sends, 0 engaged); best known Thu 00:00"
    greedy = {
        choose_send_time(*args, np.random.default_rng(s), explore=False).slot for s in range(5)
    }
    assert greedy == {72}


def test_sends_without_any_engagement_give_a_finite_posterior() -> None:
    """Everyone sent to, nobody engaged yet: every rate is 0, which must not become 0/0."""
    sends = np.zeros(SLOTS)
    sends[3] = 5
    nobody = SlotHistogram(sends, np.zeros(SLOTS))
    post = slot_posterior(nobody, None, SlotHistogram(sends * 10, np.zeros(SLOTS)))
    assert np.isfinite(post.alpha).all() and np.isfinite(post.beta).all()
    assert (post.mean > 0).all()
