"""Outcome events: validated one by one, so a batch accepts what it can and names the rest."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from decide.config.checks import (
    EVENT_TYPE_PATTERN,
    EVENT_TYPE_RULE,
    Checks,
    parse_time,
    type_name,
)
from decide.config.placements import CHANNELS, EXPOSURE_TYPES
from decide.decisions import contact_id_of
from decide.tokens import Decision, Signer, TokenError

MAX_PROPERTIES = 50
TYPE_PATTERN = EVENT_TYPE_PATTERN
EVENT_FIELDS = {
    "event_id",
    "type",
    "contact_id",
    "decision_id",
    "value",
    "currency",
    "channel",
    "timestamp",
    "properties",
}


@dataclass(frozen=True)
class Event:
    index: int
    event_id: str
    type: str
    contact_id: str
    at: float  # epoch seconds
    decision: Decision | None
    value: float | None
    currency: str | None
    channel: str | None
    properties: Mapping[str, Any] = field(default_factory=dict)

    def export(self) -> dict[str, Any]:
        """The event as a warehouse row (NDJSON export); the decision's fields, not its token."""
        row: dict[str, Any] = {
            "event_id": self.event_id, "type": self.type, "contact_id": self.contact_id,
            "timestamp": datetime.fromtimestamp(self.at, UTC).isoformat().replace("+00:00", "Z"),
        }  # fmt: skip
        for name in ("value", "currency", "channel"):
            if getattr(self, name) is not None:
                row[name] = getattr(self, name)
        if self.properties:
            row["properties"] = dict(self.properties)
        if self.decision is not None:
            d = self.decision
            row["decision"] = {
                "placement": d.placement, "message": d.message, "experiment": d.experiment,
                "variation": d.variation, "segment": d.segment, "propensity": d.propensity,
                "issued_at": d.issued_at, "nonce": d.nonce,
            }  # fmt: skip
        return row

    def arm_effect(self) -> tuple[str, float] | None:
        """What this event does to its decision's arm: ("exposure" | "reward", reward value)."""
        if self.decision is None:
            return None
        if self.type == self.decision.reward_event:
            return "reward", (self.value or 0.0) if self.decision.reward_value else 1.0
        if self.type in EXPOSURE_TYPES:
            return "exposure", 0.0
        return None


@dataclass(frozen=True)
class Rejection:
    index: int
    event_id: str | None
    reason: str
    message: str
    field: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out = {
            "index": self.index,
            "event_id": self.event_id,
            "reason": self.reason,
            "message": self.message,
        }
        if self.field:
            out["field"] = self.field
        return out


@dataclass(frozen=True)
class EventRules:
    now: float
    dedup_window_s: int
    future_skew_s: int


def parse_event(raw: Any, index: int, rules: EventRules, signer: Signer) -> Event | Rejection:
    path = f"events[{index}]"
    c = Checks()
    doc = c.mapping(raw, path)
    if doc is None:
        return _invalid(c, index, None)
    event_id = c.string(doc, "event_id", path, max_len=200)
    c.unknown_fields(doc, EVENT_FIELDS, path)
    kind = c.string(
        doc,
        "type",
        path,
        pattern=TYPE_PATTERN,
        max_len=64,
        rule=EVENT_TYPE_RULE,
    )
    contact_id = contact_id_of(c, doc, "contact_id", path)
    value = doc.get("value")
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value)
    ):
        c.fail(f"{path}.value", f"must be a finite number, got {type_name(value)}")
    currency = c.string(doc, "currency", path, default=None, max_len=3)
    if currency is not None and not re.fullmatch(r"[A-Z]{3}", currency):
        c.fail(f"{path}.currency", "must be an ISO 4217 code like EUR or IRR")
    channel = c.string(doc, "channel", path, default=None, choices=CHANNELS)
    moment = rules.now
    if doc.get("timestamp") is not None:
        parsed = parse_time(c, doc["timestamp"], f"{path}.timestamp")
        moment = parsed.timestamp() if parsed else moment
    token = c.string(doc, "decision_id", path, default=None, max_len=4096)
    properties = _properties(c, doc.get("properties"), f"{path}.properties")
    if not c.ok():
        return _invalid(c, index, event_id)
    assert event_id is not None and kind is not None and contact_id is not None

    if moment < rules.now - rules.dedup_window_s:
        return Rejection(
            index,
            event_id,
            "too_old",
            f"older than the {rules.dedup_window_s // 3600} h dedup window; "
            "it could not be told apart from a duplicate",
            "timestamp",
        )
    if moment > rules.now + rules.future_skew_s:
        return Rejection(
            index,
            event_id,
            "in_future",
            f"more than {rules.future_skew_s} s ahead of the server's clock",
            "timestamp",
        )
    decision = None
    if token is not None:
        try:
            decision = signer.verify(token, rules.now)
        except TokenError as error:
            return Rejection(index, event_id, error.reason, str(error), "decision_id")
        if decision.contact_id != contact_id:
            return Rejection(
                index,
                event_id,
                "contact_mismatch",
                "decision_id was issued to another contact",
                "contact_id",
            )
        if rules.now > decision.expires_at:
            return Rejection(
                index,
                event_id,
                "decision_expired",
                "decision_id has expired: its reward window is over",
                "decision_id",
            )
        if moment < decision.issued_at - rules.future_skew_s:
            return Rejection(
                index,
                event_id,
                "before_decision",
                "timestamp is before the decision was made",
                "timestamp",
            )
    return Event(
        index,
        event_id,
        kind,
        contact_id,
        moment,
        decision,
        float(value) if value is not None else None,
        currency,
        channel,
        properties,
    )


def _properties(c: Checks, value: Any, path: str) -> Mapping[str, Any]:
    """Free-form, but small and flat enough to keep: scoring rules and behaviour read them."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        c.fail(path, f"must be an object, got {type_name(value)}")
        return {}
    if len(value) > MAX_PROPERTIES:
        c.fail(path, f"at most {MAX_PROPERTIES} properties")
    for name, item in value.items():
        if isinstance(item, str) and len(item) > 1000:
            c.fail(f"{path}.{name}", "must be at most 1000 characters")
        elif not isinstance(item, str | int | float | bool) and item is not None:
            c.fail(f"{path}.{name}", "must be a string, number, boolean or null")
    return value


def _invalid(c: Checks, index: int, event_id: str | None) -> Rejection:
    first = c.problems[0]
    message = "; ".join(f"{p.field} {p.reason}" for p in c.problems)
    return Rejection(index, event_id, "invalid", message, first.field)
