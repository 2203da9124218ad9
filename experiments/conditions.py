"""Evaluate and validate GrowthBook/MongoDB-style conditions used for targeting and segments."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from typing import Any, Final, TypeGuard

ROOTS: Final = ("contact", "behaviour", "context")
# Which signs of compare(actual, expected) satisfy each ordering operator.
_ORDERINGS: Final = {"$gt": (1,), "$gte": (0, 1), "$lt": (-1,), "$lte": (-1, 0)}
_OTHER_OPERATORS: Final = ("$eq", "$ne", "$in", "$nin", "$all", "$exists", "$regex", "$not")
OPERATORS: Final = frozenset((*_ORDERINGS, *_OTHER_OPERATORS, "$elemMatch", "$type", "$size"))
_LIST_OPERATORS: Final = ("$and", "$or", "$nor")
_LIST_INDEX: Final = re.compile(r"0|[1-9][0-9]*")
# Marks a path absent from the document: JavaScript's ``undefined`` in GrowthBook.
_MISSING: Final = object()
# bool must precede int | float because bool is a subclass of int.
_TYPE_TABLE: Final = (
    (bool, "boolean"),
    (int | float, "number"),
    (str, "string"),
    (list | tuple, "array"),
    (Mapping, "object"),
)
TYPE_NAMES: Final = frozenset({name for _, name in _TYPE_TABLE} | {"null", "undefined"})


def evaluate(condition: Mapping[str, Any], doc: Mapping[str, Any]) -> bool:
    """Return whether ``doc`` satisfies ``condition`` under GrowthBook's semantics.

    Never raises: malformed parts of a condition simply do not match (``validate_condition``
    is where they are reported). Notable GrowthBook rules kept for compatibility: a missing
    path behaves like null (so ``{"$lt": 5}`` matches a missing field, as null compares as
    0), numeric strings compare numerically against numbers, and equality is strict.
    """
    return _eval_condition(condition, doc)


def _eval_condition(condition: Any, obj: Any) -> bool:
    if not isinstance(condition, Mapping):
        return False
    for key, value in condition.items():
        if key == "$or":
            ok = _eval_or(value, obj)
        elif key == "$nor":
            ok = _is_array(value) and not _eval_or(value, obj)
        elif key == "$and":
            ok = _is_array(value) and all(_eval_condition(c, obj) for c in value)
        elif key == "$not":
            ok = isinstance(value, Mapping) and not _eval_condition(value, obj)
        else:
            ok = isinstance(key, str) and _eval_value(value, _get_path(obj, key))
        if not ok:
            return False
    return True


def _eval_or(conditions: Any, obj: Any) -> bool:
    if not _is_array(conditions):
        return False
    # GrowthBook treats an empty $or as "no constraint" rather than "matches nothing".
    return not conditions or any(_eval_condition(c, obj) for c in conditions)


def _get_path(obj: Any, path: str) -> Any:
    current = obj
    for part in path.split("."):
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        elif _is_array(current) and _LIST_INDEX.fullmatch(part) and int(part) < len(current):
            current = current[int(part)]
        else:
            return _MISSING
    return current


def _eval_value(expected: Any, actual: Any) -> bool:
    if isinstance(expected, Mapping) and _is_operator_object(expected):
        return all(_eval_operator(op, actual, arg) for op, arg in expected.items())
    return _equal(None if actual is _MISSING else actual, expected)


def _eval_operator(op: str, actual: Any, arg: Any) -> bool:
    # Apart from $type and $not (which hands the raw value on), missing behaves like null.
    value = None if actual is _MISSING else actual
    if op == "$eq":
        return _equal(value, arg)
    if op == "$ne":
        return not _equal(value, arg)
    if op in _ORDERINGS:
        order = _compare(value, arg)
        return order is not None and order in _ORDERINGS[op]
    if op in ("$in", "$nin"):
        if not _is_array(arg):
            return False
        # An array attribute matches when any of its elements is listed (an intersection).
        candidates = value if _is_array(value) else (value,)
        found = any(_equal(item, option) for item in candidates for option in arg)
        return found if op == "$in" else not found
    if op == "$exists":
        return (value is not None) if arg else (value is None)
    if op == "$regex":
        # Only strings match; GrowthBook's Python SDK likewise never stringifies numbers here.
        if not isinstance(arg, str) or not isinstance(value, str):
            return False
        try:
            return bool(re.search(arg, value))
        except re.error:
            return False
    if op == "$type":
        return isinstance(arg, str) and _type_name(actual) == arg
    if op == "$not":
        return not _eval_value(arg, actual)
    if op == "$size":
        return _is_array(value) and _eval_value(arg, len(value))
    if op == "$all":
        return (
            _is_array(value)
            and _is_array(arg)
            and all(any(_eval_value(c, item) for item in value) for c in arg)
        )
    if op == "$elemMatch":
        if not _is_array(value) or not isinstance(arg, Mapping):
            return False
        if _is_operator_object(arg):
            return any(_eval_value(arg, item) for item in value)
        # A plain object here is a sub-condition whose paths are relative to each element.
        return any(_eval_condition(arg, item) for item in value)
    return False


def _is_array(value: object) -> TypeGuard[list[Any] | tuple[Any, ...]]:
    return isinstance(value, list | tuple)


def _is_operator_object(obj: Mapping[Any, Any]) -> bool:
    return bool(obj) and all(isinstance(k, str) and k.startswith("$") for k in obj)


def _equal(a: Any, b: Any) -> bool:
    """Strict deep equality with JSON types: 1 == 1.0, but True != 1 and "5" != 5."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return bool(a == b)
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and a == b
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if _is_array(a) and _is_array(b):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    return False


def _compare(a: Any, b: Any) -> int | None:
    """Order two values as JavaScript's relational operators would; None when incomparable."""
    if isinstance(a, str) and isinstance(b, str):
        return (a > b) - (a < b)
    if isinstance(a, int | float) or isinstance(b, int | float):
        x, y = _to_number(a), _to_number(b)
        if x is None or y is None:
            return None
        return (x > y) - (x < y)
    return None


def _to_number(value: Any) -> float | None:
    # JavaScript's ToNumber for the values JSON documents hold; None stands for NaN.
    if value is None:
        return 0.0
    if isinstance(value, str) and value.strip() and "_" not in value:
        try:
            value = float(value)
        except ValueError:
            return None
    # `value == value` is False only for NaN, which compares as neither smaller nor larger.
    return value if isinstance(value, int | float) and value == value else None


def _type_name(value: Any) -> str:
    if value is _MISSING or value is None:
        return "undefined" if value is _MISSING else "null"
    return next((name for kind, name in _TYPE_TABLE if isinstance(value, kind)), "unknown")


def validate_condition(condition: Any, path: str = "condition") -> list[str]:
    """Return human-readable problems with ``condition``, each prefixed by where it occurs.

    An empty list means the condition is valid. Field paths must start with one of
    ``contact.``, ``behaviour.`` or ``context.`` (except inside ``$elemMatch``, where they
    are relative to each list element).
    """
    errors: list[str] = []
    _check_condition(condition, path, errors, rooted=True)
    return errors


def _check_condition(condition: Any, path: str, errors: list[str], *, rooted: bool) -> None:
    if not isinstance(condition, Mapping):
        errors.append(f"{path}: must be an object, got {_type_name(condition)}")
        return
    for key, value in condition.items():
        if not isinstance(key, str):
            errors.append(f"{path}: keys must be strings, got {key!r}")
            continue
        where = f"{path}.{key}"
        if key in _LIST_OPERATORS:
            if not _is_array(value):
                errors.append(f"{where}: must be a list")
                continue
            if key == "$nor" and not value:
                # GrowthBook evaluates an empty $nor as "matches nobody": surely not intended.
                errors.append(f"{where}: must not be empty (it would never match)")
            for index, sub in enumerate(value):
                _check_condition(sub, f"{where}[{index}]", errors, rooted=rooted)
        elif key == "$not":
            _check_condition(value, where, errors, rooted=rooted)
        elif key.startswith("$"):
            errors.append(f"{where}: unknown logical operator {key} (use $and, $or, $nor, $not)")
        else:
            parts = key.split(".")
            if not all(parts):
                errors.append(f"{where}: field path has an empty segment")
            elif rooted and (len(parts) < 2 or parts[0] not in ROOTS):
                allowed = ", ".join(f"{root}." for root in ROOTS)
                errors.append(f"{where}: field path must start with one of {allowed}")
            _check_value(value, where, errors)


def _check_value(value: Any, where: str, errors: list[str]) -> None:
    if not isinstance(value, Mapping):
        _check_literal(value, where, errors)
        return
    dollar = [k for k in value if isinstance(k, str) and k.startswith("$")]
    if not dollar:
        _check_literal(value, where, errors)
    elif len(dollar) != len(value):
        # GrowthBook would silently compare such an object literally: almost always a typo.
        errors.append(f"{where}: mixes operators ({', '.join(dollar)}) with plain keys")
    else:
        for op, arg in value.items():
            _check_operator(op, arg, where, errors)


def _check_operator(op: str, arg: Any, field: str, errors: list[str]) -> None:
    where = f"{field}.{op}"
    if op not in OPERATORS:
        errors.append(f"{field}: unknown operator {op}")
    elif op in ("$eq", "$ne"):
        _check_literal(arg, where, errors)
    elif op in _ORDERINGS:
        if isinstance(arg, bool) or not isinstance(arg, int | float | str):
            errors.append(f"{where}: must be a number or a string")
        else:
            _check_literal(arg, where, errors)
    elif op in ("$in", "$nin", "$all"):
        if not _is_array(arg):
            errors.append(f"{where}: must be a list")
        # $all items are conditions on elements; $in/$nin items are compared literally.
        check = _check_value if op == "$all" else _check_literal
        for index, item in enumerate(arg if _is_array(arg) else ()):
            check(item, f"{where}[{index}]", errors)
    elif op == "$exists":
        if not isinstance(arg, bool):
            errors.append(f"{where}: must be true or false")
    elif op == "$regex":
        if not isinstance(arg, str):
            errors.append(f"{where}: must be a string")
        else:
            try:
                re.compile(arg)
            except re.error as exc:
                errors.append(f"{where}: invalid regular expression: {exc}")
    elif op == "$type":
        if not isinstance(arg, str) or arg not in TYPE_NAMES:
            names = ", ".join(sorted(TYPE_NAMES))
            errors.append(f"{where}: unknown type {arg!r}; use one of {names}")
    elif op == "$size":
        if isinstance(arg, Mapping):
            _check_value(arg, where, errors)
        elif isinstance(arg, bool) or not isinstance(arg, int) or arg < 0:
            errors.append(f"{where}: must be a non-negative integer or an operator object")
    elif op == "$not" or (isinstance(arg, Mapping) and _is_operator_object(arg)):
        _check_value(arg, where, errors)  # $not, or $elemMatch over a list of scalars
    elif isinstance(arg, Mapping):  # $elemMatch on objects: paths relative to each element
        _check_condition(arg, where, errors, rooted=False)
    else:
        errors.append(f"{where}: must be an object")


def _check_literal(value: Any, where: str, errors: list[str]) -> None:
    if value is None or isinstance(value, bool | int | str):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            errors.append(f"{where}: must be a finite number")
    elif _is_array(value):
        for index, item in enumerate(value):
            _check_literal(item, f"{where}[{index}]", errors)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                errors.append(f"{where}: keys must be strings, got {key!r}")
            else:
                _check_literal(item, f"{where}.{key}", errors)
    else:
        errors.append(f"{where}: unsupported value of type {type(value).__name__}")


def fields_tested(condition: Any, path: str = "condition") -> Iterator[tuple[str, Any, str]]:
    """Each field a condition tests outside ``$elemMatch``: (field path, expected value, where
    it is written, e.g. ``eligibility.$or[1].contact.city``). Paths inside ``$elemMatch`` are
    relative to list elements, so they are not fields of the document."""
    if not isinstance(condition, Mapping):
        return
    for key, value in condition.items():
        if not isinstance(key, str):
            continue
        if key in _LIST_OPERATORS and _is_array(value):
            for index, sub in enumerate(value):
                yield from fields_tested(sub, f"{path}.{key}[{index}]")
        elif key == "$not":
            yield from fields_tested(value, f"{path}.{key}")
        elif not key.startswith("$"):
            yield key, value, f"{path}.{key}"


def context_fields_used(condition: Mapping[str, Any]) -> set[str]:
    """Return the names ``X`` of every ``context.X...`` path the condition reads.

    Placements use this to check that each context field a condition needs is declared.
    """
    return {
        key.split(".")[1]
        for key, _, _ in fields_tested(condition)
        if key.startswith("context.") and key.split(".")[1]
    }
