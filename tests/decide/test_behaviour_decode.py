"""The behaviour a user sees (segments, conditions, `{{ behaviour.* }}`, GET /v1/contacts) is the
same whether the packed hash is parsed straight into behaviour_view's input (what a decision
does) or through the string layout (`n:<type>`…, what merges and the migration hold), byte for
byte as JSON, on hashes as varied as the scripts, merges and older versions leave them."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import given
from hypothesis import strategies as st

from decide.store import contact_codec as cc
from loadtest.behaviour_decode import scoring_rules
from personalization.behaviour import VIEW_SEPARATOR, behaviour_view, parse_behaviour
from personalization.scoring import ScoringRules

RULES = scoring_rules()  # the timing tool's rules: decay, inactivity and stages
times = st.integers(1_600_000_000, 2_100_000_000)
u32 = st.one_of(st.just(0), st.integers(0, 0xFFFF), st.integers(0, 0xFFFF_FFFF), times)
text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)
# Codes, full names that collide with a code's ("open" is "O" spelled out), names without a
# code, an empty name, a colon, non-ASCII, and bytes that are not UTF-8.
type_names = st.one_of(
    st.sampled_from([*cc.TYPE_CODES.values(), "open", "purchase", "signup", "", "a:b", "خرید"]),
    text,
).map(str.encode) | st.sampled_from([b"\xff", b"ok\xc3"])
channel_names = st.one_of(
    st.sampled_from([*cc.CHANNEL_CODES.values(), "email", "fax", "", "x:y"]), text
).map(str.encode) | st.just(b"\xfe")
numbers = st.one_of(
    times.map(str), st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-5, 10**20).map(str), st.sampled_from(["", "1e400", " 7 ", "3.0", "-0.0", "١٢"]),
    text,
)  # fmt: skip
views = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(["page", "product", "x", ""]), text).map(":".join),
        text,
    ),
    max_size=12,
).map(VIEW_SEPARATOR.join)
carts = st.one_of(
    st.tuples(st.integers(-1, 9).map(str) | text, numbers, numbers).map("|".join), text
)


def _counters(items: list[tuple[bytes, int, int]]) -> bytes:
    """pack_counters for raw names (so a name may be any bytes, as an older writer's)."""
    out = b""
    for raw, a, b in items:
        raw = raw[:64]
        width = 2 if b > 0xFFFF else 1 if a > 0xFFFF else 0
        out += bytes([len(raw) + 65 * width]) + raw + cc._WIDTHS[width].pack(a, b)
    return out


@st.composite
def packed_hashes(draw: st.DrawFn) -> dict[bytes, bytes]:
    items: list[tuple[bytes, bytes]] = []
    types = draw(st.lists(st.tuples(type_names, u32, u32), max_size=24))
    channels = draw(st.lists(st.tuples(channel_names, u32, u32), max_size=8))
    items += cc.split_chunks("t", _counters(types)).items()
    items += cc.split_chunks("c", _counters(channels)).items()
    plain = {b"f": numbers, b"s": numbers, b"a": numbers, b"g": text, b"k": carts, b"v": views}
    for name, values in plain.items():
        if draw(st.booleans()):
            items.append((name, draw(values).encode()))
    for prefix, names, values in ((b"r:", text, numbers), (b"x:", channel_names, numbers)):
        for name in draw(st.lists(names.map(lambda n: n if isinstance(n, bytes) else n.encode()),
                                  max_size=3)):  # fmt: skip
            items.append((prefix + name, draw(values).encode()))
    # Parts the behaviour does not read, and a field no version writes.
    items += [(b"q0", draw(st.binary(max_size=20))), (b"h0", b"\x05\x11"), (b"last_seen", b"9")]
    return dict(draw(st.permutations(items)))


def _as_json(view: dict[str, Any]) -> bytes:
    return orjson.dumps(view)  # key order and int/float as a user receives them


def _utf8(fields: dict[bytes, bytes]) -> bool:
    try:
        for name, value in fields.items():
            if name[:1] in (b"r", b"x") or name in (b"f", b"s", b"a", b"g", b"k", b"v"):
                name.decode(), value.decode()
    except UnicodeDecodeError:
        return False
    return True


@given(packed_hashes(), st.floats(1_600_000_000, 2_100_000_000), st.sampled_from([None, RULES]))
def test_the_view_is_the_same_straight_from_the_hash_as_through_strings(
    fields: dict[bytes, bytes], now: float, scoring: ScoringRules | None
) -> None:
    direct = behaviour_view(cc.decode_behaviour(fields), now=now, scoring=scoring)
    if not _utf8(fields):  # the string layout cannot hold these; decoding skips them
        return
    through_strings = parse_behaviour(cc.behaviour_fields(fields))
    assert _as_json(direct) == _as_json(behaviour_view(through_strings, now=now, scoring=scoring))


def test_a_value_that_is_not_utf8_is_skipped_not_raised_on() -> None:
    fields = {b"g": b"\xff", b"r:EUR": b"\xff", b"r:\xff": b"1", b"x:\xff": b"1", b"x:sms": b"1",
              b"k": b"\xff|1|2", b"f": b"1700000000"}  # fmt: skip
    view = behaviour_view(cc.decode_behaviour(fields), now=1_800_000_000.0)
    assert view["lifecycle_stage"] is None and view["revenue"] == {}
    assert view["suppressed"] == ["sms"] and view["cart"]["items"] == 0
    assert view["first_seen"] == 1_700_000_000.0


def test_a_typical_contact_reads_as_stored() -> None:
    state = cc.ContactState(behaviour={
        "n:open": "7", "last:open": "1792760400", "n:machine_open": "2", "n:signup": "1",
        "last:signup": "1790000000", "ch:email:d": "9", "ch:email:e": "2", "rev:EUR": "59.5",
        "sup:sms": "1790000000", "first_seen": "1788330605", "score": "12.5",
        "score_at": "1792760400", "stage": "mql", "cart": "2|19.9|1792000000",
        "views": "page:/p/8\x1fproduct:sku-1\x1fpage:/p/8",
    })  # fmt: skip
    stored = cc.decode_behaviour(cc.encode(state))
    assert stored.counts == {"open": 7, "signup": 1, "machine_open": 2}
    assert stored.last_at == {"open": 1792760400.0, "signup": 1790000000.0}
    assert stored.last_seen == 1792760400.0 and stored.first_seen == 1788330605.0
    assert stored.channels == {"email": (9, 2)} and stored.revenue == {"EUR": 59.5}
    assert stored.suppressed == ("sms",) and stored.stage == "mql"
    assert stored.score == 12.5 and stored.score_at == 1792760400.0
    assert tuple(stored.cart) == (2, 19.9, 1792000000.0)
    assert stored.views == (("page", "/p/8"), ("product", "sku-1"), ("page", "/p/8"))
    view = behaviour_view(stored, now=1792764000.0)
    assert view["viewed_pages"] == ["/p/8"] and view["hours_since"]["open"] == 1.0
    assert view["cart_abandoned_minutes"] == (1792764000 - 1792000000) / 60
