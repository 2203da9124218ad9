"""What one event does to its contact's state: the arguments of apply_contact_event.lua."""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from decide.contacts import OUTBOUND, STAGES
from decide.events import Event
from decide.store import keys
from decide.store.contact_codec import CHANNEL_NAMES, channel_code, nonce_key, type_code
from decide.store.scripts import Batch
from personalization.attribution import credit, parse_touch

# An event of these types makes a channel unreachable until consent is given again.
SUPPRESSING = frozenset({"bounced", "complained", "unsubscribed", "unsubscribe", "stop"})
ROLES = {"delivered": "delivered", "click": "engage", "open": "open"}
EXPOSURES = frozenset({"impression", "delivered"})
CONVERSIONS = ("conversion", "purchase", "revenue")  # events credited to earlier exposures
VIEWS = {"page_view": "page", "product_view": "product"}


@dataclass(frozen=True)
class ContactRules:
    marker_ttl_s: int  # seen-markers: the dedup window and the future skew
    machine_open_s: float
    score_half_life_s: float
    attribution_window_s: int
    stage_thresholds: str = ""  # "lead=10,mql=50", in stage order


def stage_thresholds(stages: Mapping[str, float]) -> str:
    """Score thresholds of lifecycle stages, as the event script reads them."""
    return ",".join(f"{name}={stages[name]}" for name in STAGES if name in stages)


def _channels(event: Event) -> str:
    channel = event.channel or (event.decision.channel if event.decision else None)
    if event.type in SUPPRESSING:
        if channel:
            return channel
        # No channel named: SMS STOP means sms; otherwise never guess — stop them all.
        return "sms" if event.type == "stop" else ",".join(OUTBOUND)
    return channel or ""


def _cart(event: Event) -> str:
    if event.type != "cart_update":
        return ""
    items = event.properties.get("items", 0)
    items = int(items) if isinstance(items, int | float) and math.isfinite(items) else 0
    return f"{max(items, 0)}|{event.value or 0.0}"


def touch_of(event: Event) -> str:
    """The exposure an attribution credits: `placement|message` (its channel is stored as a
    code beside it)."""
    d = event.decision
    if d is None or event.type not in EXPOSURES:
        return ""
    return f"{d.placement}|{d.message}"


# A reserved send stays in the state hash at most this long when no later reservation prunes
# it sooner (the longest cap window a placement may have).
CAP_KEEP_S = 366 * 86_400


def _view(event: Event) -> str:
    kind = VIEWS.get(event.type)
    target = event.properties.get(kind) if kind else None
    if not isinstance(target, str | int) or target == "":
        return ""
    # At most 48 bytes, so the views field stays under 64 and the hash stays a listpack.
    item = f"{kind}:{target}".replace("\x1f", " ").encode()[:48]
    return item.decode(errors="ignore")


def queue_contact_event(
    batch: Batch, event: Event, points: float, rules: ContactRules, now: float,
    capped: Collection[str] = (),
) -> int:  # fmt: skip
    """Queue the idempotent contact script for one event; returns its index in the batch.
    `capped`: the channels a frequency cap governs for the event's decision's placement; a
    send on one of them counts against the caps."""
    decision = event.decision
    role = "suppress" if event.type in SUPPRESSING else ROLES.get(event.type, "")
    channel = _channels(event)
    touch = touch_of(event)
    # Channel and send-time learning is about messages sent to a person: content shown in the
    # caller's own page teaches neither, and in-app messages wait for the next session.
    is_send, slot = False, -1
    if decision is not None and role in ROLES.values() and channel not in ("", "web"):
        is_send = True
        if channel in OUTBOUND and decision.slot is not None:
            slot = decision.slot
    code = channel_code(channel) if (is_send or touch) else ""
    args: list[Any] = [
        type_code(event.type), int(event.at), rules.marker_ttl_s,
        "" if event.value is None else event.value, event.currency or "",
        channel if role == "suppress" else "", role, slot, 1 if is_send else 0,
        nonce_key(decision.nonce) if decision is not None else "", rules.machine_open_s,
        _cart(event), _view(event), 1 if event.type == "purchase" else 0,
        points, min(rules.score_half_life_s, 1e18), touch,
        1 if event.type in CONVERSIONS else 0, rules.attribution_window_s, int(now),
        rules.stage_thresholds, ",".join(STAGES), code,
        decision.send_at if decision is not None else 0,
        int(decision.expires_at) if decision is not None else 0, CAP_KEEP_S,
        1 if is_send and channel in capped else 0,
    ]  # fmt: skip
    contact = event.contact_id
    return batch.script(
        "apply_contact_event",
        [keys.event_seen(contact, event.event_id), keys.contact_state(contact)],
        args,
    )


def feed_aggregates(batch: Batch, result: list[Any], event: Event) -> None:
    """Add a newly applied event to what is summed over contacts: the population priors for
    channels and send times, and attribution. Sent only after Redis said the event was new,
    so a retried event is never counted twice here either."""
    _, sent, engaged, delivered_on, engaged_on, touches = result
    language = event.decision.language if event.decision is not None else None
    histograms = [keys.POPULATION_SLOTS, *([keys.segment_slots(language)] if language else [])]
    if language and (int(sent) >= 0 or int(engaged) >= 0):
        batch.command("SADD", keys.SLOT_LANGUAGES, language)
    for key in histograms:
        if int(sent) >= 0:
            batch.command("HINCRBY", key, f"s{int(sent)}", 1)
        if int(engaged) >= 0:
            batch.command("HINCRBY", key, f"e{int(engaged)}", 1)
    if delivered_on:
        batch.command("HINCRBY", keys.POPULATION_CHANNELS, f"{_channel(delivered_on)}:d", 1)
    if engaged_on:
        batch.command("HINCRBY", keys.POPULATION_CHANNELS, f"{_channel(engaged_on)}:e", 1)
    parsed = [t for t in (parse_touch(_touch_text(raw)) for raw in touches) if t is not None]
    for item in credit(parsed):
        t = item.touch
        key, field = keys.attribution(t.placement), f"{item.model}|{t.message}|{t.channel}"
        batch.command("HINCRBYFLOAT", key, f"{field}|conversions", item.share)
        if event.value is not None and event.currency:
            revenue = item.share * event.value
            batch.command("HINCRBYFLOAT", key, f"{field}|revenue:{event.currency}", revenue)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _channel(code: Any) -> str:
    text = _text(code)
    return CHANNEL_NAMES.get(text, text)


def _touch_text(raw: Any) -> str:
    """`placement|message|<channel code>|at` from the script -> parse_touch's layout."""
    head, _, at = _text(raw).rpartition("|")
    place, _, code = head.rpartition("|")
    return f"{place}|{_channel(code)}|{at}"
