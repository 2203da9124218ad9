"""Tests for experiment assignment: reasons, determinism, splits, exclusion and phases."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from scipy.stats import binomtest, chisquare

from experiments.assignment import (
    REASONS,
    Assignment,
    ExperimentSpec,
    Variation,
    assign,
    phase_changing,
    phase_seed,
    weights_of,
)
from experiments.hashing import bucket_ranges, choose_variation, hash_bucket, in_namespace

CONTROL = Variation("control", "checkout_default", 0.5)
TREATMENT = Variation("treatment", "checkout_discount", 0.5)
DOC: dict[str, Any] = {"contact": {"locale": "fa-IR"}, "behaviour": {}, "context": {}}
IDS = [f"contact-{i}" for i in range(10_000)]


def make_spec(**changes: Any) -> ExperimentSpec:
    spec = ExperimentSpec(
        key="checkout-discount",
        seed="checkout-discount",
        hash_version=2,
        phase=1,
        status="running",
        variations=(CONTROL, TREATMENT),
    )
    return dataclasses.replace(spec, **changes)


def contact_outside(namespace: tuple[str, float, float]) -> str:
    return next(c for c in IDS if not in_namespace(c, namespace))


def test_assigned_matches_raw_growthbook_hash() -> None:
    spec = make_spec()
    for contact in IDS[:500]:
        result = assign(spec, contact, DOC)
        bucket = hash_bucket("checkout-discount", contact, 2)
        assert bucket is not None
        assert result.reason == "assigned"
        assert result.in_experiment is True
        assert result.bucket == bucket
        expected = choose_variation(bucket, bucket_ranges(2, 1.0, [0.5, 0.5]))
        assert result.variation == spec.variations[expected]
        assert result.propensity == 0.5


def test_growthbook_published_bucket_decides_variation() -> None:
    # GrowthBook publishes hash("seed", "a", 2) == 0.0505, which is in control's [0, 0.5).
    result = assign(make_spec(seed="seed"), "a", DOC)
    assert result.bucket == 0.0505
    assert result.variation == CONTROL


def test_assignment_is_deterministic() -> None:
    spec = make_spec(condition={"contact.locale": "fa-IR"})
    for contact in IDS[:200]:
        first = assign(spec, contact, DOC)
        assert assign(spec, contact, DOC) == first
        assert assign(make_spec(condition={"contact.locale": "fa-IR"}), contact, DOC) == first


def test_forced_wins_over_everything() -> None:
    namespace = ("ns", 0.0, 0.1)
    outsider = contact_outside(namespace)
    expected = Assignment(TREATMENT, False, "forced", 1.0, None)
    for status in ("draft", "running", "stopped", "rolled_out"):
        spec = make_spec(
            status=status,
            forced={outsider: "treatment"},
            namespace=namespace,
            condition={"contact.locale": "en-US"},
            coverage=0.0,
            rollout_variation="control",
        )
        assert assign(spec, outsider, DOC) == expected


def test_forcing_to_an_unknown_variation_is_ignored() -> None:
    spec = make_spec(forced={"contact-1": "nope"})
    assert assign(spec, "contact-1", DOC) == assign(make_spec(), "contact-1", DOC)


@pytest.mark.parametrize("status", ["draft", "stopped"])
def test_inactive_statuses_serve_the_default(status: str) -> None:
    assert assign(make_spec(status=status), "contact-1", DOC) == Assignment(
        None, False, status, 0.0, None
    )


def test_rolled_out_serves_the_winner_to_everyone() -> None:
    spec = make_spec(
        status="rolled_out",
        rollout_variation="treatment",
        condition={"contact.locale": "en-US"},
        namespace=("ns", 0.0, 0.0),
    )
    for contact in IDS[:100]:
        assert assign(spec, contact, DOC) == Assignment(TREATMENT, False, "rolled_out", 1.0, None)


@pytest.mark.parametrize("rollout", [None, "missing"])
def test_rolled_out_without_a_usable_variation_serves_the_default(rollout: str | None) -> None:
    spec = make_spec(status="rolled_out", rollout_variation=rollout)
    assert assign(spec, "contact-1", DOC) == Assignment(None, False, "rolled_out", 0.0, None)


def test_not_targeted() -> None:
    spec = make_spec(condition={"contact.locale": {"$in": ["en-US", "en-GB"]}})
    assert assign(spec, "contact-1", DOC) == Assignment(None, False, "not_targeted", 0.0, None)
    targeted = make_spec(condition={"contact.locale": {"$regex": "^fa"}})
    assert assign(targeted, "contact-1", DOC).reason == "assigned"


def test_empty_contact_id_is_not_targeted() -> None:
    assert assign(make_spec(), "", DOC).reason == "not_targeted"


def test_outside_namespace() -> None:
    namespace = ("pricing", 0.0, 0.3)
    outsider = contact_outside(namespace)
    result = assign(make_spec(namespace=namespace), outsider, DOC)
    assert result == Assignment(None, False, "outside_namespace", 0.0, None)


def test_unknown_hash_version() -> None:
    result = assign(make_spec(hash_version=3), "contact-1", DOC)
    assert result == Assignment(None, False, "unknown_hash_version", 0.0, None)


def test_outside_coverage_still_reports_the_bucket() -> None:
    result = assign(make_spec(coverage=0.0), "contact-1", DOC)
    assert result.variation is None
    assert result.reason == "outside_coverage"
    assert result.in_experiment is False
    assert result.propensity == 0.0
    assert result.bucket == hash_bucket("checkout-discount", "contact-1", 2)


def test_every_reason_is_declared() -> None:
    seen = {
        assign(make_spec(), "c", DOC).reason,
        assign(make_spec(forced={"c": "control"}), "c", DOC).reason,
        assign(make_spec(status="rolled_out"), "c", DOC).reason,
        assign(make_spec(status="draft"), "c", DOC).reason,
        assign(make_spec(status="stopped"), "c", DOC).reason,
        assign(make_spec(condition={"contact.x": 1}), "c", DOC).reason,
        assign(make_spec(namespace=("n", 0.0, 0.0)), "c", DOC).reason,
        assign(make_spec(coverage=0.0), "c", DOC).reason,
        assign(make_spec(hash_version=7), "c", DOC).reason,
    }
    assert seen == REASONS


def test_propensity_is_the_normalised_weight() -> None:
    spec = make_spec(variations=(Variation("a", "m1", 1), Variation("b", "m2", 3)))
    assert weights_of(spec) == [0.25, 0.75]
    for contact in IDS[:300]:
        result = assign(spec, contact, DOC)
        assert result.variation is not None
        assert result.propensity == {"a": 0.25, "b": 0.75}[result.variation.key]


@pytest.mark.parametrize(
    ("weights", "expected"),
    [
        ([0.2, 0.3, 0.5], [0.2, 0.3, 0.5]),
        ([2, 3, 5], [0.2, 0.3, 0.5]),
        ([0, 0, 0], [1 / 3] * 3),
        ([-1, 1, 1], [1 / 3] * 3),
        ([float("inf"), 1, 1], [1 / 3] * 3),
        ([1e308, 1e308], [0.5, 0.5]),
        ([float("nan"), 1], [0.5, 0.5]),
        ([], []),
    ],
)
def test_weights_of(weights: list[float], expected: list[float]) -> None:
    variations = tuple(Variation(f"v{i}", f"m{i}", w) for i, w in enumerate(weights))
    assert weights_of(make_spec(variations=variations)) == pytest.approx(expected)


def test_split_matches_weights() -> None:
    variations = (
        Variation("a", "m1", 0.2),
        Variation("b", "m2", 0.3),
        Variation("c", "m3", 0.5),
    )
    spec = make_spec(variations=variations)
    counts = {"a": 0, "b": 0, "c": 0}
    for contact in IDS:
        result = assign(spec, contact, DOC)
        assert result.variation is not None
        counts[result.variation.key] += 1
    observed = [counts["a"], counts["b"], counts["c"]]
    assert chisquare(observed, [2000, 3000, 5000]).pvalue > 0.001, observed


def test_coverage_admits_the_expected_share_and_grows_monotonically() -> None:
    narrow = make_spec(coverage=0.1)
    wide = make_spec(coverage=0.5)
    included = 0
    for contact in IDS:
        result = assign(narrow, contact, DOC)
        if result.in_experiment:
            included += 1
            # Raising coverage must not move anyone already in the experiment.
            assert assign(wide, contact, DOC).variation == result.variation
    assert binomtest(included, len(IDS), 0.1).pvalue > 0.001, included


def test_namespaces_make_experiments_mutually_exclusive() -> None:
    first = make_spec(key="a", seed="a", namespace=("ns", 0.0, 0.5))
    second = make_spec(key="b", seed="b", namespace=("ns", 0.5, 1.0))
    in_first = in_second = 0
    for contact in IDS:
        a = assign(first, contact, DOC).in_experiment
        b = assign(second, contact, DOC).in_experiment
        assert not (a and b), contact
        in_first += a
        in_second += b
    assert binomtest(in_first, len(IDS), 0.5).pvalue > 0.001
    assert in_first + in_second == len(IDS)


def test_phase_one_keeps_the_growthbook_seed_and_later_phases_rerandomise() -> None:
    phase1, phase2, phase3 = (make_spec(phase=p) for p in (1, 2, 3))
    assert phase_seed(phase1) == "checkout-discount"
    assert phase_seed(phase2) == "checkout-discount:2"
    changed = changed_again = 0
    for contact in IDS:
        one, two, three = (assign(s, contact, DOC) for s in (phase1, phase2, phase3))
        assert one.bucket == hash_bucket("checkout-discount", contact, 2)
        assert two.bucket == hash_bucket("checkout-discount:2", contact, 2)
        changed += one.variation != two.variation
        changed_again += two.variation != three.variation
    # With two equal arms an independent re-draw moves about half of all contacts.
    assert binomtest(changed, len(IDS), 0.5).pvalue > 0.001, changed
    assert binomtest(changed_again, len(IDS), 0.5).pvalue > 0.001, changed_again


def test_namespace_membership_does_not_change_between_phases() -> None:
    namespace = ("ns", 0.0, 0.5)
    for contact in IDS[:500]:
        reasons = {
            assign(make_spec(phase=p, namespace=namespace), contact, DOC).reason for p in (1, 2)
        }
        assert len(reasons) == 1


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, False),
        ({"coverage": 0.3}, False),
        ({"condition": {"contact.locale": "fa-IR"}}, False),
        ({"status": "stopped"}, False),
        ({"forced": {"qa": "control"}}, False),
        ({"rollout_variation": "treatment"}, False),
        (
            {
                "variations": (
                    dataclasses.replace(CONTROL, weight=1),
                    dataclasses.replace(TREATMENT, weight=1),
                )
            },
            False,
        ),
        ({"variations": (CONTROL, dataclasses.replace(TREATMENT, weight=0.7))}, True),
        ({"variations": (CONTROL, dataclasses.replace(TREATMENT, key="treatment_b"))}, True),
        ({"variations": (CONTROL, dataclasses.replace(TREATMENT, message="other"))}, True),
        ({"variations": (TREATMENT, CONTROL)}, True),
        ({"variations": (CONTROL, TREATMENT, Variation("third", "m3", 0.5))}, True),
        ({"seed": "new-seed"}, True),
        ({"hash_version": 1}, True),
        ({"namespace": ("ns", 0.0, 0.5)}, True),
    ],
)
def test_phase_changing(changes: dict[str, Any], expected: bool) -> None:
    assert phase_changing(make_spec(), make_spec(**changes)) is expected


def test_phase_changing_namespace_edits() -> None:
    base = make_spec(namespace=("ns", 0.0, 0.5))
    assert phase_changing(base, make_spec(namespace=("ns", 0.0, 0.6))) is True
    assert phase_changing(base, make_spec(namespace=("other", 0.0, 0.5))) is True
    assert phase_changing(base, make_spec(namespace=None)) is True
    # A namespace decoded from JSON as a list with ints is the same namespace.
    from_json: Any = ["ns", 0, 0.5]
    assert phase_changing(base, make_spec(namespace=from_json)) is False


def test_spec_rejects_unknown_status_and_duplicate_keys() -> None:
    with pytest.raises(ValueError, match="unknown status 'paused'"):
        make_spec(status="paused")
    with pytest.raises(ValueError, match="duplicate variation keys"):
        make_spec(variations=(CONTROL, CONTROL))


def test_data_is_frozen() -> None:
    result = assign(make_spec(), "contact-1", DOC)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.reason = "forced"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        CONTROL.weight = 1.0  # type: ignore[misc]
