"""What one event does to its contact's state: the arguments of apply_contact_event.lua."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from decide.contacts import OUTBOUND, STAGES
from decide.events import Event
from decide.store import keys
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
    dedup_window_s: int
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
    """The exposure an attribution credits: `placement|message|channel`."""
    d = event.decision
    if d is None or event.type not in EXPOSURES:
        return ""
    return f"{d.placement}|{d.message}|{event.channel or d.channel}"


def _view(event: Event) -> str:
    kind = VIEWS.get(event.type)
    target = event.properties.get(kind) if kind else None
    if not isinstance(target, str | int) or target == "":
        return ""
    # At most 48 bytes, so the views field stays under 64 and the hash stays a listpack.
    item = f"{kind}:{target}".replace("\x1f", " ").encode()[:48]
    return item.decode(errors="ignore")


def queue_contact_event(
    batch: Batch, event: Event, points: float, rules: ContactRules, now: float
) -> int:
    """Queue the idempotent contact script for one event; returns its index in the batch."""
    decision = event.decision
    role = "suppress" if event.type in SUPPRESSING else ROLES.get(event.type, "")
    channel = _channels(event)
    # Channel and send-time learning is about messages sent to a person: content shown in the
    # caller's own page teaches neither, and in-app messages wait for the next session.
    nonce, slot = "", -1
    if decision is not None and role in ROLES.values() and channel != "web":
        nonce = decision.nonce
        if channel in OUTBOUND and decision.slot is not None:
            slot = decision.slot
    state_ttl = max(60, int((decision.expires_at if decision else now) - now) + 3600)
    args: list[Any] = [
        event.type, int(event.at), rules.dedup_window_s,
        "" if event.value is None else event.value, event.currency or "",
        channel, role, slot, nonce, state_ttl, rules.machine_open_s,
        _cart(event), _view(event), 1 if event.type == "purchase" else 0,
        points, min(rules.score_half_life_s, 1e18), touch_of(event),
        1 if event.type in CONVERSIONS else 0, rules.attribution_window_s, int(now),
        rules.stage_thresholds, ",".join(STAGES),
    ]  # fmt: skip
    contact = event.contact_id
    return batch.script(
        "apply_contact_event",
        [
            keys.event_seen(contact, event.event_id),
            keys.behaviour(contact),
            keys.send_slots(contact),
            keys.send_states(contact),
            keys.pending_sends(contact),
            keys.touches(contact),
        ],
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
        batch.command("HINCRBY", keys.POPULATION_CHANNELS, f"{_text(delivered_on)}:d", 1)
    if engaged_on:
        batch.command("HINCRBY", keys.POPULATION_CHANNELS, f"{_text(engaged_on)}:e", 1)
    parsed = [t for t in (parse_touch(raw) for raw in touches) if t is not None]
    for item in credit(parsed):
        t = item.touch
        key, field = keys.attribution(t.placement), f"{item.model}|{t.message}|{t.channel}"
        batch.command("HINCRBYFLOAT", key, f"{field}|conversions", item.share)
        if event.value is not None and event.currency:
            revenue = item.share * event.value
            batch.command("HINCRBYFLOAT", key, f"{field}|revenue:{event.currency}", revenue)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
