"""Folding one contact's stored state into another's (identity merge, and the migration from
the six-key layout): pure functions over the state as decide/store/contact_codec.py decodes
it (behaviour in the string layout, `n:<type>`…, the 168-byte histogram, the entries)."""

from __future__ import annotations

from collections.abc import Mapping

from decide.contact_state import parse_shown, shown_value
from decide.store import contact_codec
from personalization.slot_estimates import MAX_COUNT

_SUMMED = ("n:", "ch:", "rev:")
_LATEST = ("last:",)
_SEP = "\x1f"


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


def _number(raw: str | None) -> float | None:
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None


def merge_behaviour(
    ours: Mapping[bytes, bytes], theirs: Mapping[bytes, bytes], half_life_s: float = 30 * 86_400
) -> dict[str, str]:
    """The fields of `ours` to write so it also holds what `theirs` knew: counts and revenue
    summed, the latest times kept, the earliest first sighting and suppression kept (a
    suppression is never lost by a merge), the newer cart, both view lists, both scores."""
    a = {_text(k): _text(v) for k, v in ours.items()}
    b = {_text(k): _text(v) for k, v in theirs.items()}
    out: dict[str, str] = {}
    for field, value in b.items():
        mine = a.get(field)
        if field.startswith(_SUMMED):
            total = (_number(mine) or 0.0) + (_number(value) or 0.0)
            out[field] = str(int(total)) if not field.startswith("rev:") else repr(total)
        elif field.startswith(_LATEST) or field == "last_seen":
            out[field] = (
                value if mine is None or (_number(value) or 0) > (_number(mine) or 0) else mine
            )
        elif field == "first_seen" or field.startswith("sup:"):
            out[field] = (
                value if mine is None or (_number(value) or 0) < (_number(mine) or 0) else mine
            )
        elif field == "cart":
            out[field] = value if mine is None or _cart_time(value) > _cart_time(mine) else mine
        elif field == "views":
            items = [v for v in (mine or "").split(_SEP) + value.split(_SEP) if v]
            out[field] = _SEP.join(list(dict.fromkeys(items))[:10])
        elif field not in ("score", "score_at") and mine is None:
            out[field] = value
    if "score" in b:
        out |= _merged_score(a, b, half_life_s)
    return out


def _cart_time(cart: str) -> float:
    return _number(cart.rpartition("|")[2]) or 0.0


def _merged_score(a: Mapping[str, str], b: Mapping[str, str], half_life_s: float) -> dict[str, str]:
    """Both scores decayed to the later of their times, then added (as scoring.add_points)."""
    at_a, at_b = _number(a.get("score_at")), _number(b.get("score_at"))
    score_a, score_b = _number(a.get("score")) or 0.0, _number(b.get("score")) or 0.0
    if at_a is None:
        return {"score": repr(score_b), "score_at": repr(at_b or 0.0)}
    at = max(at_a, at_b or at_a)
    total = score_a * 0.5 ** ((at - at_a) / half_life_s) + score_b * 0.5 ** (
        (at - (at_b or at)) / half_life_s
    )
    return {"score": repr(total), "score_at": repr(at)}


def merge_slots(ours: bytes | None, theirs: bytes) -> bytes:
    """Two send-time histograms added slot by slot, halving a slot whose sends would overflow
    its 4-bit counter (as the event script does)."""
    mine = (ours or b"").ljust(len(theirs), b"\0")
    other = theirs.ljust(len(mine), b"\0")
    out = bytearray()
    for x, y in zip(mine, other, strict=True):
        sends, engaged = (x >> 4) + (y >> 4), (x & 15) + (y & 15)
        while sends > MAX_COUNT:
            sends, engaged = sends // 2, engaged // 2
        out.append(sends << 4 | min(engaged, sends))
    return bytes(out)


def merge_profile(ours: Mapping[bytes, bytes], theirs: Mapping[bytes, bytes]) -> dict[bytes, bytes]:
    """The profile fields of `ours` to write: the ones it lacks, and every consent `theirs`
    refused. The known contact's attributes win, except a refusal: neither id's messages may
    go where either one said no (as a suppression is never lost by a merge)."""
    return {
        name: value
        for name, value in theirs.items()
        if name not in ours or (name.startswith(b"consent.") and value == b"false")
    }


def merge_shown(ours: Mapping[bytes, bytes], theirs: Mapping[bytes, bytes]) -> dict[bytes, str]:
    """Per placement, the union of content already decided for either contact."""
    out: dict[bytes, str] = {}
    for placement, value in theirs.items():
        merged = parse_shown(ours.get(placement)) | parse_shown(value)
        if merged:
            latest = max(merged, key=merged.__getitem__)
            out[placement] = shown_value(merged, latest, merged[latest], 0)
    return out


def merge_states(
    ours: contact_codec.ContactState, theirs: contact_codec.ContactState, half_life_s: float
) -> contact_codec.ContactState:
    """`theirs` folded into `ours`: behaviour as merge_behaviour, histograms added, recent
    sends and exposures united (identity merge and the layout migration share it)."""
    behaviour = {**ours.behaviour, **merge_behaviour(ours.behaviour, theirs.behaviour, half_life_s)}
    slots = merge_slots(ours.slots or None, theirs.slots) if any(theirs.slots) else ours.slots
    entries, places = contact_codec.combine_entries(ours, theirs)
    return contact_codec.ContactState(behaviour, slots, entries, places)
