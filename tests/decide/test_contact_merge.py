"""Folding one contact's stored state into another's: counts add, times keep the right end,
suppression is never lost, histograms add with the store's halving."""

from __future__ import annotations

import pytest

from decide.contact_merge import merge_behaviour, merge_profile, merge_shown, merge_slots
from personalization.slot_estimates import decode_histogram

HALF_LIFE = 10.0


def test_behaviour_fields_merge_by_their_meaning() -> None:
    ours = {
        b"n:click": b"2",
        b"last:click": b"100",
        b"first_seen": b"50",
        b"last_seen": b"100",
        b"rev:EUR": b"10.5",
        b"ch:email:d": b"3",
        b"cart": b"1|5.0|90",
        b"views": b"page:/a",
    }
    theirs = {b"n:click": b"1", b"n:open": b"4", b"last:click": b"120", b"first_seen": b"10",
              b"last_seen": b"90", b"rev:EUR": b"2", b"ch:email:d": b"2", b"sup:sms": b"70",
              b"cart": b"3|30.0|80", b"views": b"page:/b\x1fpage:/a"}  # fmt: skip
    merged = merge_behaviour(ours, theirs, HALF_LIFE)
    assert merged == {
        "n:click": "3", "n:open": "4", "last:click": "120", "first_seen": "10",
        "last_seen": "100", "rev:EUR": "12.5", "ch:email:d": "5", "sup:sms": "70",
        "cart": "1|5.0|90",  # ours is newer
        "views": "page:/a\x1fpage:/b",
    }  # fmt: skip


def test_scores_are_decayed_to_the_later_time_then_added() -> None:
    merged = merge_behaviour(
        {b"score": b"8", b"score_at": b"100"}, {b"score": b"4", b"score_at": b"110"}, HALF_LIFE
    )
    assert float(merged["score"]) == pytest.approx(8 * 0.5 + 4)
    assert float(merged["score_at"]) == 110
    only_theirs = merge_behaviour({}, {b"score": b"4", b"score_at": b"110"}, HALF_LIFE)
    assert only_theirs == {"score": "4.0", "score_at": "110.0"}


def test_histograms_add_and_halve_on_overflow() -> None:
    ours = bytes([0x31, 0xF5]) + bytes(166)  # slot 0: 3 sends 1 engaged; slot 1: 15/5
    theirs = bytes([0x22, 0x31]) + bytes(166)  # slot 0: 2/2; slot 1: 3/1
    merged = decode_histogram(merge_slots(ours, theirs))
    assert (merged.sends[0], merged.engaged[0]) == (5, 3)
    assert (merged.sends[1], merged.engaged[1]) == (9, 3)  # 18/6 halved
    assert merge_slots(None, theirs) == theirs


def test_shown_content_is_united_per_placement() -> None:
    merged = merge_shown({b"p": b"a@100"}, {b"p": b"b@200", b"q": b"c@50"})
    assert merged == {b"p": "a@100,b@200", b"q": "c@50"}


def test_the_known_profile_wins_except_where_the_other_refused_consent() -> None:
    ours = {b"first_name": b'"Reza"', b"consent.email": b"true", b"consent.sms": b"false"}
    theirs = {
        b"first_name": b'"Visitor"', b"locale": b'"fa"', b"consent.email": b"false",
        b"consent.sms": b"true", b"consent.push": b"true",
    }  # fmt: skip
    assert merge_profile(ours, theirs) == {
        b"locale": b'"fa"', b"consent.email": b"false", b"consent.push": b"true",
    }  # fmt: skip
