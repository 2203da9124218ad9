"""Which channels can reach a contact, and which of them to use first: shrunk engagement x value."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

CHANNELS = ("email", "sms", "push", "web_push", "in_app")
OUTBOUND = frozenset({"email", "sms", "push", "web_push"})  # these interrupt, so need consent
MAX_FALLBACKS = 2  # a third fallback would reach the contact long after the moment has passed
DEFAULT_PRIOR_STRENGTH = 20.0  # deliveries: contacts differ a lot, so a few of their own count
NEW_CHANNEL_STRENGTH = 2.0  # a channel the population has never used: a wide prior to try it


def _has_address(channel: str, contact: Mapping[str, Any]) -> bool:
    if channel in ("email", "sms"):
        address = contact.get("email" if channel == "email" else "phone")
        return isinstance(address, str) and bool(address.strip())
    if channel == "push":
        tokens = contact.get("push_tokens")
        return isinstance(tokens, list | tuple) and len(tokens) > 0
    if channel == "web_push":
        return bool(contact.get("web_push"))
    return True  # in_app: the app shows it when the user next opens it


def reachable(
    channels: Sequence[str],
    contact: Mapping[str, Any],
    suppressed: Collection[str],
    *,
    consent: str = "opt_in",
    require_address: bool = True,
) -> tuple[list[str], dict[str, str]]:
    """The channels (in the given order) the contact can receive, and why each other one can't:
    "no_address", "suppressed" or "no_consent" (the first that applies, in that order).

    With ``consent="opt_in"`` an outbound channel needs an explicit True in
    ``contact["consent"]``; with ``"opt_out"`` only an explicit False blocks it. Suppression
    (bounce, complaint, unsubscribe, SMS STOP) blocks any channel, consent or not.
    ``require_address=False``: the caller holds the addresses, so a missing one excludes
    nothing, but suppression and consent still do.
    """
    if consent not in ("opt_in", "opt_out"):
        raise ValueError(f"consent must be 'opt_in' or 'opt_out', not {consent!r}")
    unknown = [c for c in channels if c not in CHANNELS]
    if unknown:
        raise ValueError(f"unknown channels {unknown}; known: {list(CHANNELS)}")
    given = contact.get("consent")
    consents: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
    ok: list[str] = []
    excluded: dict[str, str] = {}
    for channel in channels:
        flag = consents.get(channel)
        if require_address and not _has_address(channel, contact):
            excluded[channel] = "no_address"
        elif channel in suppressed:
            excluded[channel] = "suppressed"
        elif channel in OUTBOUND and (flag is not True if consent == "opt_in" else flag is False):
            excluded[channel] = "no_consent"
        else:
            ok.append(channel)
    return ok, excluded


@dataclass(frozen=True)
class ChannelCounts:
    """Messages delivered on a channel and how many of them were engaged with (at most once)."""

    delivered: float = 0.0
    engaged: float = 0.0

    def __add__(self, other: ChannelCounts) -> ChannelCounts:
        return ChannelCounts(self.delivered + other.delivered, self.engaged + other.engaged)


@dataclass(frozen=True)
class ChannelPrior:
    """A population's engagement rate on a channel, worth ``strength`` deliveries."""

    rate: float
    strength: float

    def __post_init__(self) -> None:
        if not (0.0 <= self.rate <= 1.0 and self.strength > 0):
            raise ValueError("a prior needs 0 <= rate <= 1 and strength > 0")

    def posterior(self, counts: ChannelCounts) -> tuple[float, float]:
        """Beta(alpha, beta) of the contact's rate on this channel."""
        rate = min(max(self.rate, 1e-6), 1 - 1e-6)  # a 0% or 100% prior is not a distribution
        failures = max(counts.delivered - counts.engaged, 0.0)
        return rate * self.strength + counts.engaged, (1 - rate) * self.strength + failures


def channel_priors(
    population: Mapping[str, ChannelCounts],
    channels: Sequence[str] = CHANNELS,
    *,
    strength: float = DEFAULT_PRIOR_STRENGTH,
) -> dict[str, ChannelPrior]:
    """Priors from population counts. A channel's prior is worth ``strength`` deliveries, or the
    population's own deliveries if fewer; an unused channel gets the used channels' overall rate
    at a weak strength, so a contact tries it before it is trusted or dismissed."""
    total = sum((population.get(c, ChannelCounts()) for c in channels), ChannelCounts())
    overall = total.engaged / total.delivered if total.delivered > 0 else 0.5
    priors = {}
    for channel in channels:
        counts = population.get(channel, ChannelCounts())
        if counts.delivered > 0:
            worth = max(min(strength, counts.delivered), NEW_CHANNEL_STRENGTH)
            priors[channel] = ChannelPrior(counts.engaged / counts.delivered, worth)
        else:
            priors[channel] = ChannelPrior(overall, NEW_CHANNEL_STRENGTH)
    return priors


@dataclass(frozen=True)
class ChannelRanking:
    primary: str | None  # None when no channel can reach the contact
    fallbacks: tuple[str, ...]
    scores: dict[str, float]  # expected value per message: rate * value - cost
    reasons: dict[str, str]  # per candidate
    # Every candidate: the primary, then the rest by expected value. A caller that finds a
    # fallback not allowed (capped at the send time) takes the next one from here.
    order: tuple[str, ...] = ()


def rank_channels(
    candidates: Sequence[str],
    counts: Mapping[str, ChannelCounts],
    priors: Mapping[str, ChannelPrior],
    *,
    value: Mapping[str, float],
    cost: Mapping[str, float],
    rng: np.random.Generator,
    max_fallbacks: int = MAX_FALLBACKS,
    explore: bool = True,
) -> ChannelRanking:
    """Primary channel by a Thompson draw of each posterior's value (so a new channel gets
    tried) or, without ``explore``, by posterior mean; fallbacks by posterior mean.

    A channel missing from ``value`` earns 1 per engagement; missing from ``cost``, it is free;
    missing from ``priors``, it starts from a uniform Beta(1, 1).
    """
    if not candidates:
        return ChannelRanking(None, (), {}, {}, ())
    flat = ChannelPrior(0.5, 2.0)
    params = [priors.get(c, flat).posterior(counts.get(c, ChannelCounts())) for c in candidates]
    alpha = np.array([a for a, _ in params])
    beta = np.array([b for _, b in params])
    worth = np.array([value.get(c, 1.0) for c in candidates])
    price = np.array([cost.get(c, 0.0) for c in candidates])
    mean = alpha / (alpha + beta) * worth - price
    drawn = rng.beta(alpha, beta) * worth - price if explore else mean
    first = int(np.argmax(drawn))
    # Stable sort: equal means keep the caller's order of preference.
    rest = [int(i) for i in np.argsort(-mean, kind="stable") if i != first]
    ranked = [first, *rest[: max(0, min(max_fallbacks, MAX_FALLBACKS))]]
    best = int(np.argmax(mean))
    reasons = {}
    for i in [first, *rest]:
        c = candidates[i]
        seen = counts.get(c, ChannelCounts())
        reasons[c] = (
            f"{c}: {alpha[i] / (alpha[i] + beta[i]):.1%} engagement "
            f"({seen.delivered:g} delivered, {seen.engaged:g} engaged), "
            f"value {worth[i]:g}, cost {price[i]:g}, expected {mean[i]:.4f}"
        )
        if i == first and first != best:
            reasons[c] += f"; explored, uncertain, ahead of {candidates[best]} in this draw"
    return ChannelRanking(
        candidates[first],
        tuple(candidates[i] for i in ranked[1:]),
        {c: float(mean[i]) for i, c in enumerate(candidates)},
        reasons,
        tuple(candidates[i] for i in [first, *rest]),
    )
