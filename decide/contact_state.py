"""What a decision reads about its contact, queued into the gather batch and read back.

Everything here lives under the contact's hash tag, so on a cluster it is one node's data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from decide.config.experiments import Experiment
from decide.config.placements import Placement
from decide.contacts import merged_attributes, unflatten
from decide.store import keys
from decide.store.scripts import Batch
from personalization.pressure import Send, expired_reservations, parse_sends
from personalization.send_time import SlotHistogram, decode_histogram


@dataclass(frozen=True)
class ContactReads:
    """Indices of one contact's reads in a gather batch (None: not asked for)."""

    profile: int
    behaviour: int
    slots: int | None = None
    sends: int | None = None
    pending: int | None = None
    shown: int | None = None
    experiment_sticky: int | None = None
    bandit_sticky: int | None = None


def plan_contact_reads(
    batch: Batch, contact_id: str, placement: Placement, experiment: Experiment | None,
    *, held_out: bool, caps: bool,
) -> ContactReads:  # fmt: skip
    outbound = not placement.web_only
    send_time = placement.outreach.send_time.kind == "learned"
    sticky_experiment = (
        not held_out and experiment is not None and experiment.spec.status == "running"
    )
    return ContactReads(
        profile=batch.command("HGETALL", keys.profile(contact_id)),
        behaviour=batch.command("HGETALL", keys.behaviour(contact_id)),
        slots=batch.command("GET", keys.send_slots(contact_id)) if send_time else None,
        sends=(
            batch.command("ZRANGE", keys.sends(contact_id), 0, -1, "WITHSCORES")
            if caps and outbound
            else None
        ),
        pending=batch.command("HGETALL", keys.pending_sends(contact_id))
        if caps and outbound
        else None,
        shown=(
            batch.command("HGET", keys.shown(contact_id), placement.key)
            if placement.outreach.no_repeat_s is not None
            else None
        ),
        experiment_sticky=(
            batch.command(
                "HGET",
                keys.experiment_assignments(experiment.spec.key, experiment.spec.phase),
                contact_id,
            )
            if sticky_experiment and experiment is not None
            else None
        ),
        bandit_sticky=(
            batch.command("HGET", keys.bandit_sticky(contact_id), placement.key)
            if not held_out and placement.bandit is not None and placement.sticky_hours
            else None
        ),
    )


@dataclass(frozen=True)
class ContactState:
    attributes: dict[str, Any]  # stored profile, overridden by the request's attributes
    behaviour: Mapping[bytes, bytes]
    slots: SlotHistogram | None = None
    sends: list[Send] = field(default_factory=list)
    shown: dict[str, float] = field(default_factory=dict)  # message -> when decided
    experiment_sticky: str | None = None
    bandit_sticky: bytes | None = None

    @property
    def locale(self) -> str | None:
        value = self.attributes.get("locale")
        return value if isinstance(value, str) else None

    @property
    def timezone(self) -> ZoneInfo | None:
        value = self.attributes.get("timezone")
        if not isinstance(value, str):
            return None
        try:
            return ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            return None  # a profile written before validation got stricter


def read_contact(
    results: Sequence[Any], reads: ContactReads, request_attributes: Mapping[str, Any], now: float
) -> ContactState | None:
    """The contact's state, or None when any of its reads failed (the caller degrades)."""
    wanted = [i for i in vars(reads).values() if i is not None]
    if any(isinstance(results[i], Exception) for i in wanted):
        return None
    sticky = results[reads.experiment_sticky] if reads.experiment_sticky is not None else None
    return ContactState(
        attributes=merged_attributes(unflatten(results[reads.profile]), request_attributes),
        behaviour=results[reads.behaviour],
        slots=decode_histogram(results[reads.slots]) if reads.slots is not None else None,
        sends=_sends(results, reads, now),
        shown=parse_shown(results[reads.shown]) if reads.shown is not None else {},
        experiment_sticky=sticky.decode().partition("|")[0] if sticky is not None else None,
        bandit_sticky=results[reads.bandit_sticky] if reads.bandit_sticky is not None else None,
    )


def _sends(results: Sequence[Any], reads: ContactReads, now: float) -> list[Send]:
    if reads.sends is None or reads.pending is None:
        return []
    return parse_sends(results[reads.sends], expired_reservations(results[reads.pending], now))


def parse_shown(raw: bytes | None) -> dict[str, float]:
    """`<message>@<time>,…` → {message: time}."""
    out: dict[str, float] = {}
    for item in (raw or b"").decode().split(","):
        message, _, at = item.rpartition("@")
        if message:
            try:
                out[message] = float(at)
            except ValueError:
                continue
    return out


def shown_value(shown: Mapping[str, float], message: str, now: float, keep_s: int) -> str:
    """The shown list after deciding `message` now, without entries older than `keep_s`."""
    kept = {m: at for m, at in shown.items() if not keep_s or now - at < keep_s}
    kept[message] = now
    return ",".join(f"{m}@{at:.0f}" for m, at in kept.items())
