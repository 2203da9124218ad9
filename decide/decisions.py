"""Which message a contact gets from a placement, and on which channels: pure functions."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from bandits.policy import choose as draw
from decide.config.checks import Checks, join, parse_time, parse_timezone
from decide.config.experiments import Experiment
from decide.config.placements import CHANNELS, Message, Placement
from decide.contacts import STANDARD, validate_attributes
from decide.errors import Problem, invalid
from experiments.assignment import Assignment, assign, weights_of
from personalization.locales import is_rtl
from personalization.templates import channel_locale, render_channel

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_REQUEST_FIELDS = 100  # attributes, and context, of one decide request
MAX_REQUEST_TEXT = 2000  # characters per top-level string (a context URL can be long)


@dataclass(frozen=True)
class DecideRequest:
    contact_id: str
    placement: str
    attributes: Mapping[str, Any]
    context: Mapping[str, Any]
    channels: tuple[str, ...] | None
    now: datetime
    timezone: ZoneInfo | None
    stored_profile: bool = True  # False: a public key without a contact_token (DESIGN.md)


@dataclass(frozen=True)
class Choice:
    """The message picked, or None with the reason nothing is sent."""

    message: Message | None
    reason: str | None
    source: str  # experiment | rule | default
    propensity: float
    experiment: str | None = None
    variation: str | None = None
    phase: int | None = None
    in_experiment: bool = False  # randomised: an exposure to record for analysis
    reasons: list[str] = field(default_factory=list)
    holdout: str | None = None
    sticky: bool = False  # a bandit repeat of an earlier draw: not a new draw, not logged as one


def parse_decide_request(body: Any, now: datetime) -> DecideRequest:
    c = Checks()
    doc = c.mapping(body, "body")
    if doc is None:
        raise invalid(c.problems)
    c.unknown_fields(
        doc,
        {
            "contact_id",
            "placement",
            "attributes",
            "context",
            "channels",
            "api_key",
            "contact_token",
        },
    )
    contact_id = contact_id_of(c, doc, "contact_id")
    placement = c.key(doc, "placement", "")
    attributes = c.mapping(doc.get("attributes", {}), "attributes") or {}
    context = c.mapping(doc.get("context", {}), "context") or {}
    _check_sizes(c, attributes, "attributes")
    _check_sizes(c, context, "context")
    channels = None
    if "channels" in doc:
        listed = c.string_list(doc, "channels", "") or []
        for i, channel in enumerate(listed):
            if channel not in CHANNELS:
                c.fail(
                    join("channels", i),
                    f"unknown channel {channel!r}; one of {', '.join(CHANNELS)}",
                )
        channels = tuple(listed)
    if "now" in context:
        now = parse_time(c, context["now"], "context.now") or now
    timezone = None
    if "timezone" in attributes:
        timezone = parse_timezone(c, attributes["timezone"], "attributes.timezone")
    # Standard attributes are typed as in a stored profile; others are for targeting only.
    standard = {k: v for k, v in attributes.items() if k in STANDARD and k != "timezone"}
    c.problems += validate_attributes(standard, "attributes")
    if not c.ok():
        raise invalid(c.problems)
    return DecideRequest(
        contact_id or "", placement or "", attributes, context, channels, now, timezone
    )


def _check_sizes(c: Checks, values: Mapping[str, Any], path: str) -> None:
    """Per-request data is bounded like a stored profile: a count, and text per value."""
    if len(values) > MAX_REQUEST_FIELDS:
        c.fail(path, f"at most {MAX_REQUEST_FIELDS} fields")
        return
    for name, value in values.items():
        if isinstance(value, str) and len(value) > MAX_REQUEST_TEXT:
            c.fail(join(path, name), f"must be at most {MAX_REQUEST_TEXT} characters")


def contact_id_of(c: Checks, doc: Mapping[str, Any], name: str, path: str = "") -> str | None:
    value = c.string(dict(doc), name, path, max_len=256)
    if value is not None and _CONTROL.search(value):
        c.fail(join(path, name), "must not contain control characters")
        return None
    return value


def template_data(
    contact_id: str,
    attributes: Mapping[str, Any],
    behaviour: Mapping[str, Any],
    context: Mapping[str, Any],
) -> dict[str, Any]:
    """The roots templates and conditions see: contact, behaviour, context."""
    contact = {**attributes, "contact_id": contact_id}
    return {"contact": contact, "behaviour": dict(behaviour), "context": dict(context)}


def behaviour_counts(data: Mapping[str, Any]) -> dict[str, int]:
    counts = data.get("behaviour", {}).get("counts", {})
    return dict(counts) if isinstance(counts, dict) else {}


def missing_context(placement: Placement, request: DecideRequest) -> list[Problem]:
    """Declared context fields are required: a template must never render a blank."""
    return [
        Problem(f"context.{name}", "is required by this placement")
        for name in sorted(placement.context_fields)
        if name not in request.context
    ]


def choose(
    placement: Placement,
    experiment: Experiment | None,
    contact_id: str,
    data: Mapping[str, Any],
    sticky_variation: str | None = None,
) -> Choice:
    """A rule's message, or the experiment's variation. Eligibility was checked before (the
    serving gate filters whole decisions ahead of any draw)."""
    if placement.policy == "rule":
        message = placement.messages[placement.rule_message or placement.default_message]
        return Choice(message, None, "rule", 1.0, reasons=[f"rule: message {message.key}"])
    return _from_experiment(placement, experiment, contact_id, data, sticky_variation)


def drawable_arms(placement: Placement, requested: tuple[str, ...] | None) -> tuple[str, ...]:
    """Messages that can be sent here at all: filtered before a bandit draws, so the logged
    propensity is over what was really drawable."""
    return tuple(
        key for key, message in placement.messages.items()
        if channels_for(placement, message, requested)
    )  # fmt: skip


def choose_bandit(
    placement: Placement,
    weights: Mapping[str, float],
    rng: np.random.Generator,
    sticky: tuple[str, float] | None = None,
    segment: str = "",
) -> Choice:
    if not weights:
        return Choice(None, "no_channel", "bandit", 0.0, reasons=["bandit: no drawable message"])
    assert placement.bandit is not None
    algorithm = placement.bandit.config.algorithm
    where = f" in segment {segment!r}" if segment else ""
    if sticky is not None:
        arm, propensity = sticky
        reason = f"bandit {algorithm}{where}: sticky {arm} (drawn at p={propensity:.3g})"
        return Choice(placement.messages[arm], None, "bandit", propensity, reasons=[reason],
                      sticky=True)  # fmt: skip
    arm, propensity = draw(weights, rng)
    reason = f"bandit {algorithm}{where}: drew {arm} at p={propensity:.3g} of {len(weights)} arms"
    return Choice(placement.messages[arm], None, "bandit", propensity, reasons=[reason])


def held_out(placement: Placement, holdout: str) -> Choice:
    """A contact in a holdout gets the placement's default, and is no experiment's or
    bandit's subject (eligibility still applies, as for everyone: checked before)."""
    message = placement.messages[placement.default_message]
    return Choice(message, None, "holdout", 1.0, holdout=holdout,
                  reasons=[f"holdout {holdout}: the default message"])  # fmt: skip


def default_choice(placement: Placement, why: str) -> Choice:
    message = placement.messages[placement.default_message]
    return Choice(message, None, "default", 1.0, reasons=[why])


def _from_experiment(
    placement: Placement,
    experiment: Experiment | None,
    contact_id: str,
    data: Mapping[str, Any],
    sticky_variation: str | None,
) -> Choice:
    if experiment is None:
        return default_choice(placement, f"experiment {placement.experiment} does not exist")
    spec = experiment.spec
    result = assign(spec, contact_id, data)
    if sticky_variation is not None and result.reason in _STICKY_OVERRIDES:
        result = _sticky(spec.variations, sticky_variation, result, weights_of(spec))
    if result.variation is None:
        return default_choice(placement, f"experiment {spec.key}: {result.reason}")
    message = placement.messages.get(result.variation.message)
    if message is None:
        return default_choice(
            placement,
            f"experiment {spec.key}: variation {result.variation.key} names a missing message",
        )
    return Choice(
        message,
        None,
        "experiment",
        result.propensity,
        experiment=spec.key,
        variation=result.variation.key,
        phase=spec.phase,
        in_experiment=result.in_experiment,
        reasons=[
            f"experiment {spec.key} phase {spec.phase}: {result.reason} {result.variation.key}"
        ],
    )


# A contact assigned earlier in this phase keeps its variation even if a coverage change would
# now leave it out; targeting, status and forced variations still apply first.
_STICKY_OVERRIDES = frozenset({"assigned", "outside_coverage", "outside_namespace"})


def _sticky(
    variations: Sequence[Any], key: str, result: Assignment, weights: Sequence[float]
) -> Assignment:
    for variation, weight in zip(variations, weights, strict=True):
        if variation.key == key:
            return replace(
                result, variation=variation, in_experiment=True, reason="sticky", propensity=weight
            )
    return result


def channels_for(
    placement: Placement, message: Message, requested: tuple[str, ...] | None
) -> tuple[str, ...]:
    """The placement's channels, in order, that the caller allows and the message fills."""
    return tuple(
        channel
        for channel in placement.channels
        if channel in message.channels and (requested is None or channel in requested)
    )


def render(
    message: Message, channels: Sequence[str], locale: str | None, data: Mapping[str, Any]
) -> dict[str, Any]:
    """The message's content on each channel, in the contact's language where it exists."""
    content = {
        channel: render_channel(message.content, channel, locale=locale, data=data)
        for channel in channels
    }
    chosen = channel_locale(message.content, channels[0], locale=locale)
    return {
        "key": message.key,
        "content": content,
        "locale": chosen,
        "direction": "rtl" if chosen and is_rtl(chosen) else "ltr",
    }
