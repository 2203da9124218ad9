"""The packed layout of a contact's behaviour state hash (`keys.contact_state`), in Python.

One hash per contact holds everything decide learns about a person, so a contact pays one
key's overhead and one listpack header instead of six. Every value stays at most 64 bytes
(`hash-max-listpack-value`: one longer value would turn the whole hash into a hash table), so
larger parts are byte strings cut into 64-byte chunks, fields `<part>0`, `<part>1`…:

- `t`  event types: per type its name, last time and count (COUNTERS below; known types have
       a one-letter name, see TYPE_CODES; `machine_open` has last time 0)
- `c`  channels: per channel its code, deliveries and engagements (COUNTERS below)
- `h`  send-time histogram, sparse: (slot, sends << 4 | engaged) byte pairs
- `q`  recent sends and exposures, one entry each (ENTRY below): caps, reservations,
       engagement counted once, machine opens and attribution touches in one record
- `m`  the `placement|message` names the entries' touches refer to (1-based, `len name`)
- `f` first seen, `k` cart, `v` recent views, `s`/`a`/`g` score, its time and stage,
  `r:<CUR>` revenue, `x:<channel>` suppressed since: plain fields.

apply_contact_event.lua, reserve_send.lua and add_touch.lua (through contact_lib.lua) write
the same layout; entries are pruned by those scripts on write, since a field has no TTL.
`decode_behaviour` parses the hash straight into what behaviour_view reads (every decision
does it); `decode` and `encode` hold the behaviour in the string layout (`n:<type>`,
`last:<type>`, `ch:<channel>:d`…) that merges and the migration from six keys work in.

Integers are little-endian, times are epoch seconds. COUNTERS: a header byte `len + 65 * width`
(width 0: two u16, 1: u32 then u16, 2: two u32; names are at most 64 bytes), the name, the two
numbers. ENTRY: flags, channel code, place (u8 each), send time (u32); with TOUCH the exposure's
time as an i16 offset from the send time, or with FAR a u32; with LIVE the nonce key (9 bytes),
the delivery time (u32, the reservation's deadline while PENDING) and the decision's expiry in
whole hours after the send time (u16, rounded up: kept a little longer, never shorter).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from personalization.behaviour import (
    EMPTY_CART,
    StoredBehaviour,
    parse_cart,
    parse_number,
    parse_views,
)
from personalization.pressure import Send

CHUNK = 64
SLOTS = 168

# One-letter names of common event types (a type name starts with a lowercase letter, so
# an uppercase code never collides with one); other types are stored by their own name.
TYPE_CODES = {
    "delivered": "D", "open": "O", "click": "C", "impression": "I", "page_view": "V",
    "product_view": "P", "cart_update": "A", "purchase": "U", "conversion": "N",
    "revenue": "R", "bounced": "B", "complained": "M", "unsubscribed": "S",
    "unsubscribe": "X", "stop": "T", "machine_open": "Z",
}  # fmt: skip
TYPE_NAMES = {code: name for name, code in TYPE_CODES.items()}
CHANNEL_CODES = {"email": "e", "sms": "s", "push": "p", "web_push": "w", "in_app": "i", "web": "b"}
CHANNEL_NAMES = {code: name for name, code in CHANNEL_CODES.items()}

# Entry flags.
LIVE = 1  # has the decision's nonce, delivery time (or reservation deadline) and expiry
CAP = 2  # a reserved send: counts against frequency caps
PENDING = 4  # reserved, no event of the send yet: released after its deadline
COUNTED = 8  # the send's first event was counted (deliveries, send-time histogram)
ENGAGED = 16  # its engagement was counted
TOUCH = 32  # an exposure, for attribution: `touch_at`, `channel`, `place`
FAR = 64  # the exposure's time is stored whole, not as an offset from the send time

_BASE = struct.Struct("<BBBI")  # flags, channel code, place, send_at
_NEAR = struct.Struct("<h")  # touch_at - send_at
_WHOLE = struct.Struct("<I")
_LIVE = struct.Struct("<9sIH")  # nonce, delivered_at (deadline while PENDING), expiry hours
_WIDTHS = (struct.Struct("<HH"), struct.Struct("<IH"), struct.Struct("<II"))
NONCE_BYTES = 9
HOUR = 3600


def type_code(kind: str) -> str:
    return TYPE_CODES.get(kind, kind)


def channel_code(channel: str) -> str:
    return CHANNEL_CODES.get(channel, "")


def nonce_key(nonce: str) -> bytes:
    """A decision's nonce as an entry keeps it: the 9 random bytes its 12 base64url letters
    spell (recording.make_token), so an entry is found by its decision exactly; any other
    nonce by a 9-byte hash of it."""
    if len(nonce) == 12:
        try:
            return base64.urlsafe_b64decode(nonce)
        except (binascii.Error, ValueError):
            pass
    return hashlib.blake2b(nonce.encode(), digest_size=NONCE_BYTES).digest()


@dataclass(frozen=True)
class Entry:
    """One recent send or exposure of a contact."""

    flags: int
    channel: str = ""  # code
    place: int = 0  # 1-based index into the names (`m`), for a touch
    send_at: int = 0
    touch_at: int = 0
    nonce: bytes = b""  # LIVE only
    delivered_at: int = 0  # LIVE only; the reservation deadline while PENDING
    expires: int = 0  # LIVE only


@dataclass
class ContactState:
    """The decoded hash: behaviour in the string layout (`n:<type>`…), the 168-byte histogram,
    the entries and the names their touches refer to."""

    behaviour: dict[str, str] = field(default_factory=dict)
    slots: bytes = b""
    entries: list[Entry] = field(default_factory=list)
    places: list[str] = field(default_factory=list)

    def sends(self, now: float) -> list[Send]:
        """Reserved sends that count against caps: a reservation past its deadline does not."""
        return [
            Send(float(e.send_at), CHANNEL_NAMES.get(e.channel, e.channel), e.nonce.hex())
            for e in self.entries
            if e.flags & CAP and not (e.flags & PENDING and e.delivered_at < now)
        ]

    def touches(self) -> list[str]:
        """`placement|message|channel|at`, newest first (as attribution.parse_touch reads)."""
        found = [
            (e.touch_at, -i, e)
            for i, e in enumerate(self.entries)
            if e.flags & TOUCH and 0 < e.place <= len(self.places)
        ]
        return [
            f"{self.places[e.place - 1]}|{CHANNEL_NAMES.get(e.channel, e.channel)}|{at}"
            for at, _, e in sorted(found, key=lambda t: (t[0], t[1]), reverse=True)
        ]


# --- chunks --------------------------------------------------------------------------------


_CHUNK_NAMES = {part: tuple(f"{part}{i}".encode() for i in range(256)) for part in "tchqm"}


def join_chunks(fields: Mapping[bytes, bytes], part: str) -> bytes:
    names = _CHUNK_NAMES[part]
    first = fields.get(names[0])
    if first is None or names[1] not in fields:
        return first or b""
    out = [first]
    for name in names[1:]:
        chunk = fields.get(name)
        if chunk is None:
            break
        out.append(chunk)
    return b"".join(out)


def split_chunks(part: str, data: bytes) -> dict[bytes, bytes]:
    return {f"{part}{i // CHUNK}".encode(): data[i : i + CHUNK] for i in range(0, len(data), CHUNK)}


# --- parts ---------------------------------------------------------------------------------


def _raw_counters(data: bytes) -> list[tuple[bytes, int, int]]:
    """Each counter's stored name (a code, or the name itself) and its two numbers: the one
    walk over a counters part that every reader of one shares."""
    out, pos, end, widths = [], 0, len(data), _WIDTHS
    while pos < end:
        width, size = divmod(data[pos], 65)
        start = pos + 1 + size
        numbers = widths[width] if width < 3 else widths[2]
        a, b = numbers.unpack_from(data, start)
        out.append((data[pos + 1 : start], a, b))
        pos = start + numbers.size
    return out


def unpack_counters(data: bytes) -> list[tuple[str, int, int]]:
    return [(raw.decode(errors="replace"), a, b) for raw, a, b in _raw_counters(data)]


def pack_counters(items: list[tuple[str, int, int]]) -> bytes:
    out = bytearray()
    for name, a, b in items:
        raw = name.encode()[:64]
        a, b = _u32(a), _u32(b)
        width = 2 if b > 0xFFFF else 1 if a > 0xFFFF else 0
        out += bytes([len(raw) + 65 * width]) + raw + _WIDTHS[width].pack(a, b)
    return bytes(out)


def unpack_slots(data: bytes) -> bytes:
    """Sparse (slot, byte) pairs -> the 168-byte histogram send_time reads."""
    dense = bytearray(SLOTS)
    for i in range(0, len(data) - 1, 2):
        if data[i] < SLOTS:
            dense[data[i]] = data[i + 1]
    return bytes(dense)


def pack_slots(dense: bytes) -> bytes:
    return b"".join(bytes([i, v]) for i, v in enumerate(dense[:SLOTS]) if v)


def unpack_entries(data: bytes) -> list[Entry]:
    out, pos = [], 0
    while pos + _BASE.size <= len(data):
        flags, chan, place, send_at = _BASE.unpack_from(data, pos)
        pos += _BASE.size
        touch_at = delivered = expires = 0
        nonce = b""
        if flags & TOUCH and flags & FAR:
            (touch_at,) = _WHOLE.unpack_from(data, pos)
            pos += _WHOLE.size
        elif flags & TOUCH:
            touch_at = send_at + _NEAR.unpack_from(data, pos)[0]
            pos += _NEAR.size
        if flags & LIVE:
            nonce, delivered, hours = _LIVE.unpack_from(data, pos)
            expires = send_at + hours * HOUR
            pos += _LIVE.size
        channel = chr(chan) if chan else ""
        out.append(
            Entry(flags & ~FAR, channel, place, send_at, touch_at, nonce, delivered, expires)
        )
    return out


def pack_entries(entries: list[Entry]) -> bytes:
    out = bytearray()
    for e in entries:
        chan = ord(e.channel) if e.channel else 0
        flags, send_at = e.flags & ~FAR, _u32(e.send_at)
        touch = b""
        if flags & TOUCH:
            offset = _u32(e.touch_at) - send_at
            if send_at and -0x8000 <= offset <= 0x7FFF:
                touch = _NEAR.pack(offset)
            else:
                flags, touch = flags | FAR, _WHOLE.pack(_u32(e.touch_at))
        out += _BASE.pack(flags, chan, e.place, send_at) + touch
        if flags & LIVE:
            hours = min(max(-(-(_u32(e.expires) - send_at) // HOUR), 0), 0xFFFF)
            out += _LIVE.pack(e.nonce, _u32(e.delivered_at), hours)
    return bytes(out)


def unpack_names(data: bytes) -> list[str]:
    out, pos = [], 0
    while pos < len(data):
        size = data[pos]
        out.append(data[pos + 1 : pos + 1 + size].decode(errors="replace"))
        pos += 1 + size
    return out


def pack_names(names: list[str]) -> bytes:
    return b"".join(bytes([len(raw)]) + raw for raw in (n.encode()[:255] for n in names))


def _u32(value: float) -> int:
    return min(max(int(value), 0), 0xFFFFFFFF)


# --- the whole hash ------------------------------------------------------------------------

_PLAIN = {b"f": "first_seen", b"k": "cart", b"v": "views", b"s": "score", b"a": "score_at",
          b"g": "stage"}  # fmt: skip
_PLAIN_BACK = {name: raw.decode() for raw, name in _PLAIN.items()}
_PARTS = (b"t", b"c", b"h", b"q", b"m")


# The string layout's field names per stored counter name, made once.
_TYPE_FIELDS = {code.encode(): ("n:" + name, "last:" + name) for name, code in TYPE_CODES.items()}
_CHANNEL_FIELDS = {
    code.encode(): (f"ch:{name}:d", f"ch:{name}:e") for name, code in CHANNEL_CODES.items()
}


def _counters_into(
    out: dict[str, str], data: bytes, known: Mapping[bytes, tuple[str, str]], kind: str
) -> int:
    """Each counter as the string layout's two fields; returns the latest first number (for
    types: the last time any event was seen)."""
    latest = 0
    for raw, a, b in _raw_counters(data):
        names = known.get(raw)
        if names is None:
            text = raw.decode(errors="replace")
            names = (
                ("n:" + text, "last:" + text) if kind == "t" else (f"ch:{text}:d", f"ch:{text}:e")
            )
        if kind == "t":
            out[names[0]] = str(b)
            if a:
                out[names[1]] = str(a)
                latest = a if a > latest else latest
        else:
            out[names[0]] = str(a)
            out[names[1]] = str(b)
    return latest


def behaviour_fields(fields: Mapping[bytes, bytes]) -> dict[str, str]:
    """The behaviour in the string layout (`n:<type>`, `last:<type>`, `ch:<channel>:d`…) that
    merges and the migration work in and `encode` writes back."""
    out: dict[str, str] = {}
    last_seen = _counters_into(out, join_chunks(fields, "t"), _TYPE_FIELDS, "t")
    _counters_into(out, join_chunks(fields, "c"), _CHANNEL_FIELDS, "c")
    if last_seen:
        out["last_seen"] = str(last_seen)
    for raw, value in fields.items():
        plain = _PLAIN.get(raw)
        if plain is not None:
            out[plain] = value.decode()
        elif raw[:2] == b"r:":
            out["rev:" + raw[2:].decode()] = value.decode()
        elif raw[:2] == b"x:":
            out["sup:" + raw[2:].decode()] = value.decode()
    return out


# The names the codes stand for, as the hash holds the codes.
_TYPE_BY_CODE = {code.encode(): name for name, code in TYPE_CODES.items()}
_CHANNEL_BY_CODE = {code.encode(): name for name, code in CHANNEL_CODES.items()}


def _named_counters(data: bytes, known: Mapping[bytes, str]) -> list[tuple[str, int, int]]:
    """unpack_counters, each code spelled out."""
    return [
        (known.get(raw) or raw.decode(errors="replace"), a, b) for raw, a, b in _raw_counters(data)
    ]


def decode_behaviour(fields: Mapping[bytes, bytes]) -> StoredBehaviour:
    """What behaviour_view reads, parsed straight from the hash (every decision does this).
    A counter or field without a name, or a value that is not UTF-8, is skipped."""
    counts: dict[str, int] = {}
    last_at: dict[str, float] = {}
    last_seen = 0  # the last time any event was seen
    for name, at, count in _named_counters(join_chunks(fields, "t"), _TYPE_BY_CODE):
        if at > last_seen:
            last_seen = at
        if name:
            counts[name] = count
            if at:
                last_at[name] = float(at)
    channel_data = join_chunks(fields, "c")
    channels = (
        {
            name: (delivered, engaged)
            for name, delivered, engaged in _named_counters(channel_data, _CHANNEL_BY_CODE)
            if name
        }
        if channel_data
        else {}
    )
    revenue: dict[str, float] = {}
    suppressed: list[str] = []
    for raw, value in fields.items():
        if raw[1:2] != b":":
            continue
        try:
            if raw[:1] == b"r":
                currency = raw[2:].decode()
                if currency and (amount := parse_number(value.decode())) is not None:
                    revenue[currency] = amount
            elif raw[:1] == b"x" and (channel := raw[2:].decode()):
                suppressed.append(channel)
        except UnicodeDecodeError:
            continue
    # Each plain field parsed only when there (a contact who only got sends has none).
    get = fields.get
    first, score, score_at, stage, cart, views = (
        get(b"f"), get(b"s"), get(b"a"), get(b"g"), get(b"k"), get(b"v"),
    )  # fmt: skip
    return StoredBehaviour(
        counts, last_at, revenue, channels, tuple(suppressed),
        float(last_seen) if last_seen else None,
        None if first is None else parse_number(_text(first)),
        None if score is None else parse_number(_text(score)),
        None if score_at is None else parse_number(_text(score_at)),
        None if stage is None else _text(stage),
        EMPTY_CART if cart is None else parse_cart(_text(cart) or ""),
        () if views is None else parse_views(_text(views)),
    )  # fmt: skip


def _text(value: bytes) -> str | None:
    try:
        return value.decode()
    except UnicodeDecodeError:
        return None


def decode(fields: Mapping[bytes, bytes]) -> ContactState:
    return ContactState(
        behaviour=behaviour_fields(fields),
        slots=unpack_slots(join_chunks(fields, "h")),
        entries=unpack_entries(join_chunks(fields, "q")),
        places=unpack_names(join_chunks(fields, "m")),
    )


def encode(state: ContactState) -> dict[bytes, bytes]:
    """The hash's fields for a state (merge and migration write it whole)."""
    out: dict[bytes, bytes] = {}
    types: dict[str, list[int]] = {}
    channels: dict[str, list[int]] = {}
    for name, value in state.behaviour.items():
        kind, _, rest = name.partition(":")
        if name in _PLAIN_BACK:
            out[_PLAIN_BACK[name].encode()] = value.encode()
        elif kind == "n" and rest:
            types.setdefault(type_code(rest), [0, 0])[1] = int(float(value))
        elif kind == "last" and rest:
            types.setdefault(type_code(rest), [0, 0])[0] = int(float(value))
        elif kind == "ch" and rest:
            channel, _, which = rest.rpartition(":")
            code = channel_code(channel)
            if code and which in ("d", "e"):
                channels.setdefault(code, [0, 0])[which == "e"] = int(float(value))
        elif kind == "rev" and rest:
            out[b"r:" + rest.encode()] = value.encode()
        elif kind == "sup" and rest:
            out[b"x:" + rest.encode()] = value.encode()
    out |= split_chunks("t", pack_counters([(n, a, b) for n, (a, b) in types.items()]))
    out |= split_chunks("c", pack_counters([(n, a, b) for n, (a, b) in channels.items()]))
    out |= split_chunks("h", pack_slots(state.slots))
    out |= split_chunks("q", pack_entries(state.entries))
    out |= split_chunks("m", pack_names(state.places))
    return out


def combine_entries(ours: ContactState, theirs: ContactState) -> tuple[list[Entry], list[str]]:
    """Both states' entries, theirs pointing into the united names. A decision both know (a
    migration after events reached the new layout) stays one entry: counted, engaged or
    reserved if either says so, its second exposure an entry of its own."""
    places = list(ours.places)
    remap = {}
    for i, name in enumerate(theirs.places, start=1):
        if name not in places:
            places.append(name)
        remap[i] = places.index(name) + 1
    out = list(ours.entries)
    live = {e.nonce: i for i, e in enumerate(out) if e.flags & LIVE}
    for entry in theirs.entries:
        e = replace(entry, place=remap.get(entry.place, 0) if entry.flags & TOUCH else 0)
        mine = live.get(e.nonce) if e.flags & LIVE else None
        if mine is None:
            out.append(e)
            continue
        m = out[mine]
        flags = m.flags | (e.flags & (CAP | COUNTED | ENGAGED))
        counted = m if m.flags & COUNTED else e
        if flags & COUNTED:
            flags &= ~PENDING
        touch = {}
        if e.flags & TOUCH and not m.flags & TOUCH:
            flags |= TOUCH
            touch = {"touch_at": e.touch_at, "place": e.place, "channel": e.channel or m.channel}
        elif e.flags & TOUCH:
            out.append(Entry(TOUCH, e.channel, e.place, touch_at=e.touch_at))
        out[mine] = replace(
            m, flags=flags, delivered_at=counted.delivered_at,
            expires=max(m.expires, e.expires), send_at=m.send_at or e.send_at, **touch,
        )  # fmt: skip
    return out, places[:255]


def is_part_field(name: bytes) -> bool:
    return name[:1] in _PARTS and name[1:].isdigit()
