"""Tests for channel reachability (address, consent, suppression) and channel ranking."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from personalization.channels import (
    CHANNELS,
    ChannelCounts,
    ChannelPrior,
    channel_priors,
    rank_channels,
    reachable,
)

EVERYTHING: dict[str, Any] = {
    "email": "john@example.com",
    "phone": "+989121234567",
    "push_tokens": ["tok-1"],
    "web_push": {"endpoint": "https://push.example/1"},
    "consent": {"email": True, "sms": True, "push": True, "web_push": True},
}


def test_a_fully_reachable_contact_keeps_the_given_order() -> None:
    order = ["in_app", "sms", "email", "web_push", "push"]
    assert reachable(order, EVERYTHING, ()) == (order, {})


@pytest.mark.parametrize(
    ("change", "channel"),
    [
        ({"email": ""}, "email"),
        ({"email": "   "}, "email"),
        ({"email": None}, "email"),
        ({"phone": None}, "sms"),
        ({"push_tokens": []}, "push"),
        ({"push_tokens": "tok-1"}, "push"),  # a bare string is not a list of tokens
        ({"web_push": None}, "web_push"),
    ],
)
def test_no_address(change: dict[str, Any], channel: str) -> None:
    usable, excluded = reachable(CHANNELS, {**EVERYTHING, **change}, ())
    assert excluded == {channel: "no_address"}
    assert usable == [c for c in CHANNELS if c != channel]


def test_opt_in_needs_an_explicit_true_and_in_app_needs_none() -> None:
    contact = {**EVERYTHING, "consent": {"email": True, "sms": False, "push": "yes"}}
    usable, excluded = reachable(CHANNELS, contact, ())
    assert usable == ["email", "in_app"]
    assert excluded == {"sms": "no_consent", "push": "no_consent", "web_push": "no_consent"}
    bare = {k: v for k, v in EVERYTHING.items() if k != "consent"}
    assert reachable(CHANNELS, bare, ()) == (
        ["in_app"],
        dict.fromkeys(["email", "sms", "push", "web_push"], "no_consent"),
    )


def test_opt_out_blocks_only_an_explicit_false() -> None:
    contact = {**EVERYTHING, "consent": {"sms": False, "push": "no"}}
    usable, excluded = reachable(CHANNELS, contact, (), consent="opt_out")
    assert usable == ["email", "push", "web_push", "in_app"]
    assert excluded == {"sms": "no_consent"}


def test_suppression_always_blocks() -> None:
    usable, excluded = reachable(CHANNELS, EVERYTHING, {"email", "in_app"}, consent="opt_out")
    assert usable == ["sms", "push", "web_push"]
    assert excluded == {"email": "suppressed", "in_app": "suppressed"}
    # No address is the more basic reason: suppressing a missing address changes nothing.
    _, why = reachable(["sms"], {**EVERYTHING, "phone": ""}, {"sms"})
    assert why == {"sms": "no_address"}


def test_reachable_rejects_unknown_channels_and_consent_modes() -> None:
    with pytest.raises(ValueError, match="unknown channels"):
        reachable(["email", "fax"], EVERYTHING, ())
    with pytest.raises(ValueError, match="consent"):
        reachable(["email"], EVERYTHING, (), consent="implied")


def test_posterior_is_the_prior_plus_the_counts() -> None:
    prior = ChannelPrior(rate=0.2, strength=10)
    assert prior.posterior(ChannelCounts(30, 12)) == pytest.approx((2 + 12, 8 + 18))
    assert prior.posterior(ChannelCounts()) == pytest.approx((2, 8))
    with pytest.raises(ValueError):
        ChannelPrior(rate=1.5, strength=10)


def test_priors_from_population_counts() -> None:
    population = {"email": ChannelCounts(1000, 150), "sms": ChannelCounts(5, 2)}
    priors = channel_priors(population, strength=20)
    assert priors["email"] == ChannelPrior(0.15, 20)
    assert priors["sms"] == ChannelPrior(0.4, 5)  # worth no more than the population's 5 sends
    assert priors["push"].rate == pytest.approx(152 / 1005)  # unused: the overall rate, weakly
    assert priors["push"].strength == 2.0
    assert set(priors) == set(CHANNELS)
    assert channel_priors({})["email"] == ChannelPrior(0.5, 2.0)


def _ranking_inputs() -> tuple[dict[str, ChannelCounts], dict[str, ChannelPrior]]:
    counts = {"email": ChannelCounts(1000, 200), "sms": ChannelCounts(1000, 240)}
    priors = {"email": ChannelPrior(0.2, 10), "sms": ChannelPrior(0.24, 10)}
    return counts, priors


def test_a_costlier_channel_must_earn_its_cost() -> None:
    counts, priors = _ranking_inputs()
    rng = np.random.default_rng(0)
    dear = rank_channels(
        ["email", "sms"], counts, priors, value={}, cost={"sms": 0.05}, rng=rng, explore=False
    )
    # Posterior means (2 + 200) / 1010 = 0.2 and (2.4 + 240) / 1010 = 0.24; sms pays 0.05.
    assert dear.scores == pytest.approx({"email": 0.2, "sms": 0.24 - 0.05})
    assert (dear.primary, dear.fallbacks) == ("email", ("sms",))
    cheap = rank_channels(
        ["email", "sms"], counts, priors, value={}, cost={"sms": 0.03}, rng=rng, explore=False
    )
    assert cheap.primary == "sms"
    worth = rank_channels(
        ["email", "sms"], counts, priors, value={"email": 2.0}, cost={}, rng=rng, explore=False
    )
    assert worth.primary == "email" and worth.scores["email"] == pytest.approx(0.4)


def test_fallbacks_are_at_most_two_and_ordered_by_expected_value() -> None:
    counts = {c: ChannelCounts(1000, 100 * (i + 1)) for i, c in enumerate(CHANNELS)}
    priors = dict.fromkeys(CHANNELS, ChannelPrior(0.1, 10))
    rng = np.random.default_rng(0)
    ranked = rank_channels(
        list(CHANNELS), counts, priors, value={}, cost={}, rng=rng, max_fallbacks=5, explore=False
    )
    assert (ranked.primary, ranked.fallbacks) == ("in_app", ("web_push", "push"))
    assert set(ranked.reasons) == set(CHANNELS)
    assert ranked.order == ("in_app", "web_push", "push", "sms", "email")
    # (0.1 * 10 + 500) / (10 + 1000) = 49.6%
    assert ranked.reasons["in_app"] == (
        "in_app: 49.6% engagement (1000 delivered, 500 engaged), value 1, cost 0, expected 0.4960"
    )
    none = rank_channels(
        list(CHANNELS), counts, priors, value={}, cost={}, rng=rng, max_fallbacks=0
    )
    assert none.fallbacks == ()
    assert rank_channels([], counts, priors, value={}, cost={}, rng=rng).primary is None


def test_a_never_tried_channel_is_sometimes_primary() -> None:
    # Email: 200 sends at 10%. Push: never sent, with the weak prior of an unused channel.
    priors = channel_priors({"email": ChannelCounts(100_000, 10_000)})
    counts = {"email": ChannelCounts(200, 20)}
    primaries = [
        rank_channels(
            ["email", "push"], counts, priors, value={}, cost={}, rng=np.random.default_rng(seed)
        ).primary
        for seed in range(1000)
    ]
    # P(Beta(0.2, 1.8) > Beta(22, 198)) is about 0.27: often enough to learn, not a coin toss.
    assert 0.2 < primaries.count("push") / 1000 < 0.35
    greedy = rank_channels(
        ["email", "push"], counts, priors, value={}, cost={}, rng=np.random.default_rng(0),
        explore=False,
    )  # fmt: skip
    assert greedy.primary == "email"


def test_ranking_is_deterministic_given_the_rng() -> None:
    counts, priors = _ranking_inputs()
    runs = [
        rank_channels(
            ["email", "sms", "push"],
            counts,
            priors,
            value={},
            cost={},
            rng=np.random.default_rng(42),
        )
        for _ in range(2)
    ]
    assert runs[0] == runs[1]
    priors["push"] = ChannelPrior(0.1, 2.0)
    explored = [
        rank_channels(
            ["email", "push"], counts, priors, value={}, cost={}, rng=np.random.default_rng(s)
        )
        for s in range(50)
    ]
    pushed = next(r for r in explored if r.primary == "push")
    assert "explored" in pushed.reasons["push"]


@pytest.mark.parametrize("consent", ["opt_in", "opt_out"])
def test_without_required_addresses_suppression_and_consent_still_block(consent: str) -> None:
    """A campaign engine that holds the addresses: none stored here excludes nothing, but a
    refused consent or a suppression still does (they were skipped behind "no_address")."""
    nothing_stored = {"consent": {"email": False, "sms": True, "push": True}}
    usable, excluded = reachable(
        ["email", "sms", "push", "web_push"], nothing_stored, {"push"},
        consent=consent, require_address=False,
    )  # fmt: skip
    assert usable == (["sms"] if consent == "opt_in" else ["sms", "web_push"])
    assert excluded == {"email": "no_consent", "push": "suppressed"} | (
        {"web_push": "no_consent"} if consent == "opt_in" else {}
    )
