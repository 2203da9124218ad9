"""The pure decision core: choice, propensities, channels, over many contacts."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest
from scipy.stats import chisquare

from decide import decisions
from decide.config.experiments import parse_experiment
from decide.config.placements import parse_placement
from decide.errors import ApiError

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
PLACEMENT = parse_placement("hero", {
    "channels": ["web", "in_app"],
    "policy": {"type": "experiment", "experiment": "exp"},
    "messages": [{"key": k, "content": {"web": {"t": k}, "in_app": {"t": k}}} for k in "abc"],
})  # fmt: skip
WEIGHTS = {"a": 0.2, "b": 0.3, "c": 0.5}
EXPERIMENT = parse_experiment("exp", {
    "placement": "hero", "status": "running",
    "variations": [{"key": k, "message": k, "weight": w} for k, w in WEIGHTS.items()],
})  # fmt: skip


def _choose(contact: str, sticky: str | None = None) -> decisions.Choice:
    request = decisions.parse_decide_request({"contact_id": contact, "placement": "hero"}, NOW)
    data = decisions.template_data(request.contact_id, request.attributes, {}, request.context)
    return decisions.choose(PLACEMENT, EXPERIMENT, contact, data, sticky)


def test_ten_thousand_contacts_split_by_the_weights() -> None:
    counts = Counter(_choose(f"contact-{i}").variation for i in range(10_000))
    observed = [counts[k] for k in "abc"]
    assert chisquare(observed, [2000, 3000, 5000]).pvalue > 0.001


def test_the_logged_propensity_is_unbiased_for_every_arm() -> None:
    """IPS check: mean(1{arm=k} / p_k) ≈ 1 for every arm over many decisions."""
    choices = [_choose(f"ips-{i}") for i in range(10_000)]
    for arm in "abc":
        ips = sum(1 / c.propensity for c in choices if c.variation == arm) / len(choices)
        assert ips == pytest.approx(1.0, abs=0.05)


def test_same_contact_same_choice() -> None:
    assert {_choose("c-1842").variation for _ in range(20)} == {_choose("c-1842").variation}


def test_sticky_variation_wins_within_the_phase() -> None:
    natural = _choose("c-1").variation
    other = next(k for k in "abc" if k != natural)
    choice = _choose("c-1", sticky=other)
    assert choice.variation == other and choice.in_experiment
    assert choice.propensity == {"a": 0.2, "b": 0.3, "c": 0.5}[other]


def test_channels_follow_placement_order_and_request() -> None:
    message = PLACEMENT.messages["a"]
    assert decisions.channels_for(PLACEMENT, message, None) == ("web", "in_app")
    assert decisions.channels_for(PLACEMENT, message, ("in_app",)) == ("in_app",)
    assert decisions.channels_for(PLACEMENT, message, ("sms",)) == ()


def test_request_validation_names_fields() -> None:
    with pytest.raises(ApiError) as error:
        decisions.parse_decide_request(
            {
                "contact_id": "a\x00b",
                "placement": "x",
                "context": {"now": "2026-01-01"},
                "extra": 1,
            },
            NOW,
        )
    fields = {p.field for p in error.value.details}
    assert fields == {"contact_id", "context.now", "extra"}


def test_context_now_moves_the_decision_time() -> None:
    request = decisions.parse_decide_request(
        {"contact_id": "c", "placement": "hero", "context": {"now": "2026-12-01T09:00:00+03:30"}},
        NOW,
    )
    assert request.now == datetime(2026, 12, 1, 5, 30, tzinfo=UTC)
