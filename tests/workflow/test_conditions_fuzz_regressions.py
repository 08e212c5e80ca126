"""Inputs the coverage-guided fuzzer (fuzz/fuzz_conditions.py) found, kept as plain specifications."""

from __future__ import annotations

import sys
from typing import Any

from symphony.builtin_plugins.workflow.conditions import parse_condition


def _nested(depth: int, leaf: Any, *, mapping: bool = False) -> Any:
    value = leaf
    for _ in range(depth):
        value = {"a": value} if mapping else [value]
    return value


def test_equality_of_lists_nested_beyond_the_recursion_limit_is_decided() -> None:
    deep = sys.getrecursionlimit() * 2
    condition = parse_condition("a == b")
    assert condition.evaluate({"a": _nested(deep, 1), "b": _nested(deep, 1)}) is True
    assert condition.evaluate({"a": _nested(deep, 1), "b": _nested(deep, 2)}) is False


def test_equality_of_objects_nested_beyond_the_recursion_limit_is_decided() -> None:
    deep = sys.getrecursionlimit() * 2
    condition = parse_condition("a != b")
    assert condition.evaluate({"a": _nested(deep, "x", mapping=True), "b": _nested(deep, "x", mapping=True)}) is False
    assert condition.evaluate({"a": _nested(deep, "x", mapping=True), "b": _nested(deep, "y", mapping=True)}) is True


def test_membership_of_a_deeply_nested_value_in_a_list_is_decided() -> None:
    deep = sys.getrecursionlimit() * 2
    needle = _nested(deep, None)
    assert parse_condition("a in b").evaluate({"a": needle, "b": [0, _nested(deep, None)]}) is True
