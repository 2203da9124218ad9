"""The packed contact state hash: every part round-trips, and every value stays small enough
for Redis to keep the hash a compact listpack."""

from __future__ import annotations

import secrets

from hypothesis import given
from hypothesis import strategies as st

from decide.store import contact_codec as cc
from decide.store.contact_codec import CAP, COUNTED, ENGAGED, LIVE, PENDING, TOUCH, Entry

u32 = st.integers(0, 0xFFFF_FFFF)
times = st.integers(1_600_000_000, 2_100_000_000)
names = st.text(st.characters(codec="utf-8"), min_size=1, max_size=20).filter(
    lambda s: len(s.encode()) <= 64
)
channels = st.sampled_from(["", *cc.CHANNEL_NAMES])


@given(st.lists(st.tuples(names, u32, u32), max_size=30))
def test_counters_round_trip(items: list[tuple[str, int, int]]) -> None:
    assert cc.unpack_counters(cc.pack_counters(items)) == items


def test_small_counters_take_two_bytes_each() -> None:
    assert len(cc.pack_counters([("e", 9, 2)])) == 2 + 4
    assert len(cc.pack_counters([("D", 1_793_363_405, 60)])) == 2 + 6
    assert len(cc.pack_counters([("D", 1_793_363_405, 70_000)])) == 2 + 8


@given(st.binary(min_size=168, max_size=168))
def test_slots_round_trip_sparsely(dense: bytes) -> None:
    packed = cc.pack_slots(dense)
    assert cc.unpack_slots(packed) == dense
    assert len(packed) == 2 * sum(1 for b in dense if b)


@st.composite
def entries(draw: st.DrawFn) -> Entry:
    kinds = [CAP, TOUCH, CAP | TOUCH, LIVE | CAP | PENDING, LIVE | COUNTED,
             LIVE | COUNTED | ENGAGED | TOUCH | CAP]  # fmt: skip
    flags = draw(st.sampled_from(kinds))
    send_at = 0 if flags == TOUCH else draw(times)
    touch_at = draw(st.one_of(times, st.integers(-40_000, 40_000).map(lambda d: send_at + d)))
    live = bool(flags & LIVE)
    expires = send_at + 3600 * draw(st.integers(0, 1000)) if live else 0  # whole hours
    return Entry(
        flags, draw(channels), draw(st.integers(0, 255)) if flags & TOUCH else 0, send_at,
        max(touch_at, 0) if flags & TOUCH else 0,
        cc.nonce_key(secrets.token_urlsafe(9)) if live else b"",
        draw(u32) if live else 0, expires,
    )  # fmt: skip


@given(st.lists(entries(), max_size=40))
def test_entries_round_trip(items: list[Entry]) -> None:
    assert cc.unpack_entries(cc.pack_entries(items)) == items


def test_an_expiry_is_kept_in_whole_hours_never_shorter() -> None:
    e = Entry(LIVE | COUNTED, "e", 0, 1_000_000, 0, b"123456789", 1_000_005, 1_000_000 + 3601)
    (back,) = cc.unpack_entries(cc.pack_entries([e]))
    assert back.expires == 1_000_000 + 7200


def test_a_nonce_key_is_the_whole_nonce() -> None:
    nonce = secrets.token_urlsafe(9)
    assert len(cc.nonce_key(nonce)) == 9 and cc.nonce_key(nonce) != cc.nonce_key(nonce[::-1])
    assert len(cc.nonce_key("nonce1")) == 9  # any other nonce: a hash of it


BEHAVIOUR = {
    "n:delivered": "60", "last:delivered": "1793363405", "n:open": "7",
    "last:open": "1792760400", "n:signup": "1", "last:signup": "1790000000",
    "n:machine_open": "2", "ch:email:d": "9", "ch:email:e": "2", "ch:sms:d": "15",
    "ch:sms:e": "0", "first_seen": "1788330605", "views": "page:/p/8\x1fpage:/p/1",
    "cart": "0|0|1791824800", "rev:EUR": "59.5", "score": "12.5", "score_at": "1793363405",
    "stage": "mql", "sup:sms": "1790000000",
}  # fmt: skip


def test_the_whole_state_round_trips_in_small_values() -> None:
    dense = bytes(((i * 7) % 5) << 4 for i in range(168))
    state = cc.ContactState(
        dict(BEHAVIOUR), dense,
        [Entry(CAP | TOUCH, "e", 1, 1_793_000_000, 1_793_000_005),
         Entry(TOUCH, "b", 2, 0, 1_793_100_000)],
        ["digest|digest", "hero|" + "x" * 300],
    )  # fmt: skip
    fields = cc.encode(state)
    assert all(len(value) <= 64 for value in fields.values())
    back = cc.decode(fields)
    assert back.behaviour == BEHAVIOUR | {"last_seen": "1793363405"}
    assert back.slots == dense and back.entries == state.entries
    assert back.places == ["digest|digest", "hero|" + "x" * 250]  # a name is at most 255 bytes
    assert back.touches()[0] == "hero|" + "x" * 250 + "|web|1793100000"


def test_caps_count_reservations_until_their_deadline() -> None:
    pending = Entry(LIVE | CAP | PENDING, "e", 0, 1000, 0, b"n" * 9, 1000 + 60, 5000)
    sent = Entry(CAP, "s", 0, 900)
    state = cc.ContactState(entries=[pending, sent, Entry(TOUCH, "e", 1, 0, 950)])
    assert [(s.channel, s.at) for s in state.sends(1050)] == [("email", 1000.0), ("sms", 900.0)]
    assert [s.channel for s in state.sends(1061)] == ["sms"]


def test_combining_keeps_one_entry_per_decision() -> None:
    nonce = cc.nonce_key("n1")
    reserved = Entry(LIVE | CAP | PENDING, "e", 0, 1000, 0, nonce, 1060, 5000)
    counted = Entry(LIVE | COUNTED | ENGAGED | TOUCH, "e", 1, 1000, 1005, nonce, 1005, 5000)
    ours = cc.ContactState(entries=[counted], places=["p|m"])
    theirs = cc.ContactState(entries=[reserved, Entry(TOUCH, "e", 1, 0, 990)], places=["q|m"])
    out, places = cc.combine_entries(ours, theirs)
    assert places == ["p|m", "q|m"]
    assert out[0].flags == LIVE | COUNTED | ENGAGED | TOUCH | CAP and out[0].delivered_at == 1005
    assert out[1] == Entry(TOUCH, "e", 2, 0, 990)
