"""Tests for the GrowthBook-compatible condition evaluator and its config-time validator."""

from __future__ import annotations

from typing import Any

import pytest

from experiments.conditions import context_fields_used, evaluate, validate_condition

DOC: dict[str, Any] = {
    "contact": {
        "id": "c-1",
        "locale": "fa-IR",
        "name": "مریم",
        "نام": "مریم",
        "age": 34,
        "score": 7.5,
        "vip": True,
        "zip": "94103",
        "nickname": None,
        "tags": ["new", "sms_ok", "😀"],
        "counts": [0, 3, 5],
        "address": {"city": "Tel Aviv", "street": "שלום"},
        "orders": [{"sku": "A1", "qty": 2}, {"sku": "B7", "qty": 0}],
    },
    "behaviour": {"cart_abandoned_minutes": 42, "last_seen_days": "3", "sessions": 0},
    "context": {"channel": "sms", "hour": 19},
}

OPERATOR_CASES: list[tuple[str, dict[str, Any], bool]] = [
    # Literal values: strict deep equality.
    ("literal string", {"contact.locale": "fa-IR"}, True),
    ("literal string mismatch", {"contact.locale": "en-US"}, False),
    ("literal int equals float", {"contact.age": 34.0}, True),
    ("literal bool is not 1", {"contact.vip": 1}, False),
    ("literal number is not numeric string", {"contact.zip": 94103}, False),
    ("literal list", {"contact.tags": ["new", "sms_ok", "😀"]}, True),
    ("literal list order matters", {"contact.tags": ["sms_ok", "new", "😀"]}, False),
    (
        "literal object ignores key order",
        {"contact.address": {"street": "שלום", "city": "Tel Aviv"}},
        True,
    ),
    ("literal null matches null", {"contact.nickname": None}, True),
    ("literal null matches missing", {"contact.missing": None}, True),
    ("literal false does not match missing", {"contact.missing": False}, False),
    ("empty object literal is not an operator", {"contact.tags": {}}, False),
    ("non-ascii key and value", {"contact.نام": "مریم"}, True),
    # $eq / $ne
    ("$eq persian", {"contact.name": {"$eq": "مریم"}}, True),
    ("$eq null on missing", {"contact.missing": {"$eq": None}}, True),
    ("$ne same value", {"contact.name": {"$ne": "مریم"}}, False),
    ("$ne on missing", {"contact.missing": {"$ne": "x"}}, True),
    # $in / $nin
    ("$in scalar", {"contact.locale": {"$in": ["fa-IR", "he-IL"]}}, True),
    ("$in intersects array", {"contact.tags": {"$in": ["vip", "😀"]}}, True),
    ("$in no intersection", {"contact.tags": {"$in": ["vip"]}}, False),
    ("$in requires a list", {"contact.locale": {"$in": "fa-IR"}}, False),
    ("$in is strict", {"contact.zip": {"$in": [94103]}}, False),
    ("$nin no intersection", {"contact.tags": {"$nin": ["vip"]}}, True),
    ("$nin intersection", {"contact.tags": {"$nin": ["new"]}}, False),
    ("$nin on missing", {"contact.missing": {"$nin": ["a"]}}, True),
    # Ordering
    ("$gt and $lte", {"contact.age": {"$gt": 30, "$lte": 34}}, True),
    ("$lt boundary", {"contact.age": {"$lt": 34}}, False),
    ("$gte float", {"contact.score": {"$gte": 7.5}}, True),
    ("numeric string vs number", {"behaviour.last_seen_days": {"$lt": 7}}, True),
    ("number vs numeric string", {"contact.age": {"$gt": "30"}}, True),
    ("non-numeric string vs number", {"contact.name": {"$gt": 5}}, False),
    ("non-numeric string vs number lt", {"contact.name": {"$lt": 5}}, False),
    ("strings compare lexically", {"contact.locale": {"$gt": "en", "$lt": "ga"}}, True),
    ("zero compares", {"behaviour.sessions": {"$lt": 1, "$gte": 0}}, True),
    ("missing compares as zero (GrowthBook)", {"behaviour.missing": {"$lt": 5}}, True),
    ("missing is not greater", {"behaviour.missing": {"$gt": 5}}, False),
    ("list is not comparable", {"contact.tags": {"$gt": 1}}, False),
    ("object is not comparable", {"contact.address": {"$lt": "z"}}, False),
    # $exists
    ("$exists true", {"contact.age": {"$exists": True}}, True),
    ("$exists false on missing", {"contact.missing": {"$exists": False}}, True),
    ("$exists treats null as absent", {"contact.nickname": {"$exists": True}}, False),
    # $regex
    ("$regex match", {"contact.locale": {"$regex": "^fa"}}, True),
    ("$regex hebrew", {"contact.address.street": {"$regex": "^של"}}, True),
    ("$regex is case sensitive", {"contact.locale": {"$regex": "^FA"}}, False),
    ("$regex invalid", {"contact.locale": {"$regex": "[unclosed"}}, False),
    ("$regex on number", {"contact.age": {"$regex": "3"}}, False),
    # $type
    ("$type string", {"contact.name": {"$type": "string"}}, True),
    ("$type number", {"contact.score": {"$type": "number"}}, True),
    ("$type boolean", {"contact.vip": {"$type": "boolean"}}, True),
    ("$type bool is not number", {"contact.vip": {"$type": "number"}}, False),
    ("$type array", {"contact.tags": {"$type": "array"}}, True),
    ("$type object", {"contact.address": {"$type": "object"}}, True),
    ("$type null", {"contact.nickname": {"$type": "null"}}, True),
    ("$type undefined", {"contact.missing": {"$type": "undefined"}}, True),
    ("$type missing is not null", {"contact.missing": {"$type": "null"}}, False),
    # $size / $all / field-level $not
    ("$size", {"contact.tags": {"$size": 3}}, True),
    ("$size nested operator", {"contact.tags": {"$size": {"$gt": 3}}}, False),
    ("$size of string", {"contact.name": {"$size": 4}}, False),
    ("$all", {"contact.tags": {"$all": ["😀", "new"]}}, True),
    ("$all missing one", {"contact.tags": {"$all": ["new", "vip"]}}, False),
    ("$all on scalar", {"contact.locale": {"$all": ["fa-IR"]}}, False),
    ("$not regex", {"contact.locale": {"$not": {"$regex": "^en"}}}, True),
    ("$not sees missing", {"contact.missing": {"$not": {"$exists": True}}}, True),
    # Paths
    ("list index", {"contact.tags.0": "new"}, True),
    ("list index then key", {"contact.orders.1.sku": "B7"}, True),
    ("list index out of range", {"contact.tags.9": {"$exists": False}}, True),
    ("strings are not traversed", {"contact.name.0": {"$exists": False}}, True),
    ("non-canonical index", {"contact.tags.01": {"$exists": False}}, True),
    ("context root", {"context.channel": "sms", "context.hour": {"$gte": 18}}, True),
    # Unknown operators never match.
    ("unknown operator", {"contact.name": {"$regx": "م"}}, False),
    ("empty condition", {}, True),
]


@pytest.mark.parametrize(
    ("condition", "expected"),
    [(c, e) for _, c, e in OPERATOR_CASES],
    ids=[name for name, _, _ in OPERATOR_CASES],
)
def test_operator_semantics(condition: dict[str, Any], expected: bool) -> None:
    assert evaluate(condition, DOC) is expected


SANTA = {
    "$and": [
        {"contact.father.age": {"$gt": 65}},
        {"$or": [{"contact.bday": {"$regex": "-12-25$"}}, {"contact.name": "santa"}]},
    ]
}


@pytest.mark.parametrize(
    ("contact", "expected"),
    [
        ({"name": "santa", "bday": "1980-12-25", "father": {"age": 70}}, True),
        ({"name": "santa", "bday": "1980-12-20", "father": {"age": 70}}, True),
        ({"name": "barbara", "bday": "1980-12-25", "father": {"age": 70}}, True),
        ({"name": "santa", "bday": "1980-12-25", "father": {"age": 65}}, False),
        ({"name": "barbara", "bday": "1980-11-25", "father": {"age": 70}}, False),
    ],
)
def test_nested_and_or(contact: dict[str, Any], expected: bool) -> None:
    assert evaluate(SANTA, {"contact": contact}) is expected


def test_logical_operators() -> None:
    assert evaluate({"$or": []}, DOC) is True
    assert evaluate({"$and": []}, DOC) is True
    assert evaluate({"$nor": []}, DOC) is False  # GrowthBook: not(empty $or)
    assert evaluate({"$not": {"contact.locale": "en-US"}}, DOC) is True
    assert evaluate({"$not": {"contact.locale": "fa-IR"}}, DOC) is False
    nor = {"$nor": [{"contact.name": "john"}, {"contact.age": {"$lt": 30}}]}
    assert evaluate(nor, DOC) is True
    assert evaluate(nor, {"contact": {"name": "jim", "age": 20}}) is False
    # Every top-level key must hold, logical operators included.
    assert evaluate({"$or": [{"contact.age": 34}], "context.channel": "email"}, DOC) is False
    assert evaluate({"$or": [{"contact.age": 34}], "context.channel": "sms"}, DOC) is True
    deep = {
        "$and": [
            {"$or": [{"contact.vip": True}, {"behaviour.sessions": {"$gt": 10}}]},
            {"$not": {"$or": [{"context.channel": "email"}, {"contact.tags": {"$in": ["stop"]}}]}},
        ]
    }
    assert evaluate(deep, DOC) is True
    assert evaluate(deep, {**DOC, "context": {"channel": "email"}}) is False


def test_elem_match_on_objects_requires_one_element_to_match_everything() -> None:
    both = {"contact.orders": {"$elemMatch": {"sku": "A1", "qty": {"$gte": 2}}}}
    assert evaluate(both, DOC) is True
    # B7 exists and some order has qty > 0, but not the same order.
    split = {"contact.orders": {"$elemMatch": {"sku": "B7", "qty": {"$gt": 0}}}}
    assert evaluate(split, DOC) is False
    nested_or = {"sku": {"$exists": True}, "$or": [{"sku": "Z9"}, {"qty": {"$lt": 1}}]}
    assert evaluate({"contact.orders": {"$elemMatch": nested_or}}, DOC) is True


def test_elem_match_with_only_logical_keys_is_an_operator_object() -> None:
    # As in GrowthBook, an object whose keys all start with "$" is read as operators, so a
    # bare $or here never matches; validation points this out.
    bare_or = {"contact.orders": {"$elemMatch": {"$or": [{"sku": "A1"}]}}}
    assert evaluate(bare_or, DOC) is False
    assert validate_condition(bare_or) == [
        "condition.contact.orders.$elemMatch: unknown operator $or"
    ]


def test_elem_match_on_scalars() -> None:
    assert evaluate({"contact.counts": {"$elemMatch": {"$gt": 4}}}, DOC) is True
    assert evaluate({"contact.counts": {"$elemMatch": {"$gt": 5}}}, DOC) is False
    # Falsy elements are tested too (GrowthBook spec case D5).
    assert evaluate({"contact.counts": {"$elemMatch": {"$eq": 0}}}, DOC) is True
    assert evaluate({"contact.tags": {"$elemMatch": {"$regex": "^sms"}}}, DOC) is True
    assert evaluate({"contact.tags": {"$elemMatch": {"$eq": "😀"}}}, DOC) is True
    assert evaluate({"contact.tags": {"$not": {"$elemMatch": {"$eq": "vip"}}}}, DOC) is True


def test_elem_match_on_non_list_is_false() -> None:
    assert evaluate({"contact.name": {"$elemMatch": {"$eq": "مریم"}}}, DOC) is False
    assert evaluate({"contact.address": {"$elemMatch": {"city": "Tel Aviv"}}}, DOC) is False


@pytest.mark.parametrize(
    "condition",
    [
        {"$or": "contact.age"},
        {"$and": {"contact.age": 34}},
        {"$not": ["contact.age"]},
        {"contact.age": {"$gt": object()}},
        {"contact.age": {"$in": [{}, [], None]}},
        {"contact.address": {"$gt": {"a": 1}}},
        {"contact.tags": {"$all": "new"}},
        {"contact.tags": {"$elemMatch": "new"}},
        {"contact.tags": {"$regex": 5}},
        {"contact.age": {"$gt": float("nan")}},
        {"contact.age": {"$gt": "1e999"}},
    ],
)
def test_malformed_conditions_do_not_raise(condition: dict[str, Any]) -> None:
    assert evaluate(condition, DOC) is False


def test_documents_with_unusual_values_do_not_raise() -> None:
    doc = {"contact": {"a": {1, 2}, "b": object(), "c": float("nan"), "d": 10**400}}
    assert evaluate({"contact.a": {"$gt": 1}}, doc) is False
    assert evaluate({"contact.b": {"$type": "object"}}, doc) is False
    assert evaluate({"contact.c": {"$gte": 0}}, doc) is False
    assert evaluate({"contact.d": {"$gt": 1}}, doc) is True
    assert evaluate({"contact.d": {"$gt": "1"}}, doc) is True


def test_valid_conditions_have_no_errors() -> None:
    condition = {
        "$and": [
            {"contact.locale": {"$in": ["fa-IR", "he-IL"]}},
            {"$or": [{"behaviour.cart_abandoned_minutes": {"$gte": 30}}, {"$or": []}]},
            {"$not": {"context.channel": "email"}},
        ],
        "contact.tags.0": "new",
        "contact.orders": {"$elemMatch": {"sku": {"$regex": "^A"}, "qty": {"$gt": 0}}},
        "contact.counts": {"$elemMatch": {"$gt": 1}, "$size": {"$gte": 1}},
        "contact.name": {"$not": {"$regex": "^م"}, "$type": "string", "$exists": True},
        "contact.address": {"city": "Tel Aviv"},
    }
    assert validate_condition(condition) == []
    assert validate_condition({}) == []


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"contact.age": {"$gtt": 3}}, "condition.contact.age: unknown operator $gtt"),
        ({"$or": {"contact.age": 3}}, "condition.$or: must be a list"),
        (
            {"$and": [{"contact.age": 1}, {"contact.age": {"$gtt": 1}}]},
            "condition.$and[1].contact.age: unknown operator $gtt",
        ),
        ({"$not": {"contact.x": {"$in": 3}}}, "condition.$not.contact.x.$in: must be a list"),
        ({"$nor": []}, "condition.$nor: must not be empty (it would never match)"),
        (
            {"$where": "1"},
            "condition.$where: unknown logical operator $where (use $and, $or, $nor, $not)",
        ),
        (
            {"age": 30},
            "condition.age: field path must start with one of contact., behaviour., context.",
        ),
        (
            {"contact": {"age": 30}},
            "condition.contact: field path must start with one of contact., behaviour., context.",
        ),
        (
            {"profile.age": 30},
            "condition.profile.age: field path must start with one of "
            "contact., behaviour., context.",
        ),
        ({"contact..age": 30}, "condition.contact..age: field path has an empty segment"),
        ({"contact.vip": {"$exists": 1}}, "condition.contact.vip.$exists: must be true or false"),
        ({"contact.age": {"$gt": [1]}}, "condition.contact.age.$gt: must be a number or a string"),
        ({"contact.age": {"$lt": True}}, "condition.contact.age.$lt: must be a number or a string"),
        ({"contact.name": {"$regex": 5}}, "condition.contact.name.$regex: must be a string"),
        (
            {"contact.tags": {"$size": -1}},
            "condition.contact.tags.$size: must be a non-negative integer or an operator object",
        ),
        (
            {"contact.tags": {"$size": {"$gtt": 1}}},
            "condition.contact.tags.$size: unknown operator $gtt",
        ),
        (
            {"contact.age": {"$gt": 1, "max": 3}},
            "condition.contact.age: mixes operators ($gt) with plain keys",
        ),
        (
            {"contact.orders": {"$elemMatch": {"qty": {"$gtt": 1}}}},
            "condition.contact.orders.$elemMatch.qty: unknown operator $gtt",
        ),
        (
            {"contact.orders": {"$elemMatch": 3}},
            "condition.contact.orders.$elemMatch: must be an object",
        ),
        (
            {"contact.tags": {"$all": [{"$bad": 1}]}},
            "condition.contact.tags.$all[0]: unknown operator $bad",
        ),
        ({"contact.score": float("inf")}, "condition.contact.score: must be a finite number"),
        (
            {"contact.tags": {"$in": [{1, 2}]}},
            "condition.contact.tags.$in[0]: unsupported value of type set",
        ),
        (["contact.age"], "condition: must be an object, got array"),
        ({1: "a"}, "condition: keys must be strings, got 1"),
    ],
)
def test_validation_errors_name_their_path(condition: Any, expected: str) -> None:
    assert validate_condition(condition) == [expected]


def test_validation_reports_invalid_regex_with_reason() -> None:
    errors = validate_condition({"contact.name": {"$regex": "(unclosed"}})
    assert len(errors) == 1
    assert errors[0].startswith("condition.contact.name.$regex: invalid regular expression: ")
    assert "missing )" in errors[0]


def test_validation_reports_unknown_type_name() -> None:
    errors = validate_condition({"contact.age": {"$type": "integer"}})
    assert errors == [
        "condition.contact.age.$type: unknown type 'integer'; use one of "
        "array, boolean, null, number, object, string, undefined"
    ]
    assert validate_condition({"contact.age": {"$type": ["number"]}})[0].startswith(
        "condition.contact.age.$type: unknown type"
    )


def test_validation_collects_every_error_under_a_custom_prefix() -> None:
    condition = {
        "$or": [{"contact.age": {"$gtt": 1}}, {"channel": "sms"}],
        "context.hour": {"$regex": "["},
    }
    errors = validate_condition(condition, path="placements.checkout.condition")
    assert len(errors) == 3
    assert errors[0] == "placements.checkout.condition.$or[0].contact.age: unknown operator $gtt"
    assert errors[1].startswith("placements.checkout.condition.$or[1].channel: field path must")
    assert errors[2].startswith("placements.checkout.condition.context.hour.$regex: invalid")


def test_validation_accepts_the_evaluated_vocabulary() -> None:
    invalid = {"unknown operator", "$regex invalid", "$in requires a list"}
    for name, condition, _ in OPERATOR_CASES:
        assert (validate_condition(condition) != []) is (name in invalid), name


def test_context_fields_used() -> None:
    condition = {
        "$and": [
            {"context.channel": "sms"},
            {"$or": [{"context.hour.local": {"$gte": 18}}, {"contact.age": 3}]},
            {"$nor": [{"context.device": "ios"}]},
        ],
        "$not": {"context.locale": "fa-IR"},
        "contact.orders": {"$elemMatch": {"context.ignored": 1}},
        "behaviour.context.x": 1,
    }
    assert context_fields_used(condition) == {"channel", "hour", "device", "locale"}
    assert context_fields_used({}) == set()
    assert context_fields_used({"$or": "context.bad", "context.": 1}) == set()
