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
from decide.store import contact_codec, keys
from decide.store.scripts import Batch
from personalization.behaviour import EMPTY, StoredBehaviour
from personalization.pressure import Send
from personalization.slot_estimates import SlotHistogram, decode_histogram


@dataclass(frozen=True)
class ContactReads:
    """Indices of one contact's reads in a gather batch."""

    contact: int  # the read_contact script's reply
    experiment_sticky: int | None = None  # in the experiment's slot, so a command of its own
    slots: bool = False  # decode the send-time histogram (learned send times)
    sends: bool = False  # decode the reserved sends (caps)


def plan_contact_reads(
    batch: Batch, contact_id: str, placement: Placement, experiment: Experiment | None,
    *, held_out: bool, caps: bool,
) -> ContactReads:  # fmt: skip
    outbound = not placement.web_only
    parts = (
        placement.outreach.no_repeat_s is not None,
        not held_out and placement.bandit is not None and bool(placement.sticky_hours),
    )
    contact = batch.script(
        "read_contact",
        [keys.profile(contact_id), keys.contact_state(contact_id), keys.shown(contact_id),
         keys.bandit_sticky(contact_id)],
        [placement.key, "".join("1" if p else "0" for p in parts)],
    )  # fmt: skip
    sticky = None
    if not held_out and experiment is not None and experiment.spec.status == "running":
        spec = experiment.spec
        sticky = batch.command(
            "HGET", keys.experiment_assignments(spec.key, spec.phase), contact_id
        )
    return ContactReads(
        contact, sticky, placement.outreach.send_time.kind == "learned", caps and outbound
    )


@dataclass(frozen=True)
class ContactState:
    attributes: dict[str, Any]  # stored profile, overridden by the request's attributes
    behaviour: StoredBehaviour  # parsed once from the hash (contact_codec.decode_behaviour)
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
    results: Sequence[Any], reads: ContactReads, request_attributes: Mapping[str, Any], now: float,
    stored_profile: bool = True,
) -> ContactState | None:  # fmt: skip
    """The contact's state, or None when any of its reads failed (the caller degrades).
    Without `stored_profile` (a public key without a contact_token) only the request's
    attributes fill the profile and no stored behaviour (nor learned send time) is used: a page
    must not be able to read someone else's data by naming their id."""
    reply = results[reads.contact]
    sticky = results[reads.experiment_sticky] if reads.experiment_sticky is not None else None
    if isinstance(reply, Exception) or isinstance(sticky, Exception):
        return None
    profile, raw_state, shown, bandit_sticky = reply
    stored = unflatten(_pairs(profile)) if stored_profile else {}
    fields = _pairs(raw_state)
    sends: list[Send] = []
    if reads.sends:
        entries = contact_codec.unpack_entries(contact_codec.join_chunks(fields, "q"))
        sends = contact_codec.ContactState(entries=entries).sends(now)
    slots = None
    if reads.slots and stored_profile:  # when the contact engages is stored behaviour too
        slots = decode_histogram(contact_codec.unpack_slots(contact_codec.join_chunks(fields, "h")))
    return ContactState(
        attributes=merged_attributes(stored, request_attributes),
        behaviour=contact_codec.decode_behaviour(fields) if stored_profile else EMPTY,
        slots=slots,
        sends=sends,
        shown=parse_shown(shown) if shown else {},
        experiment_sticky=sticky.decode().partition("|")[0] if sticky is not None else None,
        bandit_sticky=bandit_sticky or None,
    )


def _pairs(flat: Sequence[bytes]) -> dict[bytes, bytes]:
    """HGETALL as a script returns it: [field, value, field, value…]."""
    return dict(zip(flat[0::2], flat[1::2], strict=True))


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
