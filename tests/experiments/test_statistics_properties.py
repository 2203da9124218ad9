"""Properties of the experiment analysis for any counts, zeros and extremes included."""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from experiments.results import AnalysisSettings, MetricInput, analyze, json_dict
from experiments.statistics import ProportionStatistic, SampleMeanStatistic

FAST = settings(max_examples=150, deadline=None, derandomize=True)


@st.composite
def proportion(draw: st.DrawFn, max_n: int = 10**6) -> ProportionStatistic:
    n = draw(st.integers(min_value=0, max_value=max_n))
    return ProportionStatistic(n, draw(st.integers(min_value=0, max_value=n)))


@st.composite
def sample_mean(draw: st.DrawFn) -> SampleMeanStatistic:
    values = draw(st.lists(st.floats(min_value=-1e6, max_value=1e6), max_size=30))
    return SampleMeanStatistic(len(values), sum(values), sum(v * v for v in values))


def _analysis(stats: dict[str, Any], scale: str = "absolute") -> Any:
    users = {key: stat.n for key, stat in stats.items()}
    return analyze(
        {"m": MetricInput(stats)},
        users=users,
        weights={key: 1 / len(stats) for key in stats},
        control="a",
        settings=AnalysisSettings(difference_type=scale),  # type: ignore[arg-type]
    )


def _probabilities(tree: Any, name: str = "") -> list[tuple[str, float]]:
    if isinstance(tree, dict):
        return [found for key, value in tree.items() for found in _probabilities(value, key)]
    if isinstance(tree, list | tuple):
        return [found for value in tree for found in _probabilities(value, name)]
    if name in ("p_value", "holm", "benjamini_hochberg", "chance_to_beat_control"):
        return [(name, tree)]
    return []


@FAST
@given(
    st.dictionaries(st.sampled_from("abc"), proportion(), min_size=2, max_size=3).filter(
        lambda d: "a" in d
    )
    | st.dictionaries(st.sampled_from("abc"), sample_mean(), min_size=2, max_size=3).filter(
        lambda d: "a" in d
    ),
    st.sampled_from(["absolute", "relative"]),
)
def test_probabilities_are_probabilities_and_json_has_no_nan(
    stats: dict[str, Any], scale: str
) -> None:
    analysis = _analysis(stats, scale)
    found = _probabilities(asdict(analysis))
    assert found
    for name, value in found:
        assert 0 <= value <= 1, (name, value)
    # What the API sends: NaN and infinities become null, and orjson would refuse neither.
    text = orjson.dumps(json_dict(analysis)).decode()
    assert "NaN" not in text and "Infinity" not in text


@FAST
@given(proportion(max_n=5000), st.integers(min_value=1, max_value=5000), st.data())
def test_more_treatment_conversions_never_lower_the_chance_to_beat_control(
    control: ProportionStatistic, n: int, data: st.DataObject
) -> None:
    conversions = data.draw(st.integers(min_value=0, max_value=n - 1))
    chances = []
    for converted in (conversions, conversions + 1):
        analysis = _analysis({"a": control, "b": ProportionStatistic(n, converted)})
        bayesian = analysis.metrics[0].variations[0].absolute.bayesian
        if math.isnan(bayesian.posterior_std_dev):
            # Untestable (no variance in either arm, e.g. 2/2 vs 0/2): 0.5 by design, "no
            # evidence", so monotonicity is only claimed between testable results.
            assert bayesian.chance_to_beat_control == 0.5
            return
        chances.append(bayesian.chance_to_beat_control)
    assert chances[1] >= chances[0] - 1e-12, chances
