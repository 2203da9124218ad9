"""Properties of condition evaluation over arbitrary JSON documents and conditions."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from experiments.conditions import evaluate, validate_condition

FAST = settings(max_examples=300, deadline=None, derandomize=True)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-5, 5)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from(["", "a", "b", "1", "2.5", "fa-IR", "1.2.3"])
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from("abc"), inner),
    max_leaves=8,
)
paths = st.sampled_from(
    ["contact.a", "contact.b", "contact.a.b", "behaviour.c", "context.a", "contact.l"]
)
operators = st.sampled_from(
    ["$eq", "$ne", "$lt", "$lte", "$gt", "$gte", "$in", "$nin", "$all", "$size", "$exists",
     "$type", "$regex", "$elemMatch", "$vgt", "$vlt", "$veq", "$not", "$bogus"]
)  # fmt: skip
field_tests = st.builds(lambda op, arg: {op: arg}, operators, json_values) | json_values
conditions = st.recursive(
    st.dictionaries(paths, field_tests, max_size=2),
    lambda inner: (
        st.builds(lambda c: {"$not": c}, inner)
        | st.builds(lambda cs: {"$and": cs}, st.lists(inner, max_size=3))
        | st.builds(lambda cs: {"$or": cs}, st.lists(inner, max_size=3))
        | st.builds(lambda cs: {"$nor": cs}, st.lists(inner, max_size=3))
    ),
    max_leaves=6,
)
docs = st.fixed_dictionaries(
    {
        "contact": st.dictionaries(st.sampled_from(["a", "b", "l"]), json_values),
        "behaviour": st.dictionaries(st.sampled_from(["c"]), json_values),
        "context": st.dictionaries(st.sampled_from(["a"]), json_values),
    }
)


@FAST
@given(st.dictionaries(st.text(max_size=8), json_values, max_size=3) | conditions, docs)
def test_evaluation_never_raises(condition: dict[str, Any], doc: dict[str, Any]) -> None:
    assert evaluate(condition, doc) in (True, False)
    validate_condition(condition)  # reports problems; must not raise either


@FAST
@given(conditions, docs)
def test_not_inverts_a_valid_condition(condition: dict[str, Any], doc: dict[str, Any]) -> None:
    if validate_condition(condition):
        return
    assert evaluate({"$not": condition}, doc) is not evaluate(condition, doc)


@FAST
@given(conditions, conditions, docs)
def test_and_or_identities(a: dict[str, Any], b: dict[str, Any], doc: dict[str, Any]) -> None:
    one, other = evaluate(a, doc), evaluate(b, doc)
    assert evaluate({"$and": [a]}, doc) is one
    assert evaluate({"$or": [a]}, doc) is one
    assert evaluate({"$and": [a, b]}, doc) is (one and other)
    assert evaluate({"$or": [a, b]}, doc) is (one or other)
    assert evaluate({"$nor": [a, b]}, doc) is not (one or other)
    assert evaluate({"$and": []}, doc) is True
    assert evaluate({"$or": []}, doc) is True  # GrowthBook: an empty $or is no constraint
