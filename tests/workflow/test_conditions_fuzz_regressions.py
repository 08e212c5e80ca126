"""Inputs the coverage-guided fuzzer (fuzz/fuzz_conditions.py) found, kept as plain specifications."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from symphony.builtin_plugins.workflow.conditions import ConditionError, parse_condition


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


def test_a_control_character_is_shown_escaped_in_the_message() -> None:
    text = 'label == "urgent" and s\x1b[2J'
    with pytest.raises(ConditionError) as caught:
        parse_condition(text)
    message = str(caught.value)
    assert message.isprintable()
    assert "found '\\x1b'" in message and 'in: label == "urgent" and s\\x1b[2J' in message


def test_a_newline_inside_a_quoted_condition_is_shown_escaped_and_kept_in_the_text() -> None:
    text = 'label == "two\nlines" and'
    with pytest.raises(ConditionError) as caught:
        parse_condition(text)
    assert str(caught.value).isprintable() and 'in: label == "two\\nlines" and' in str(caught.value)
    assert caught.value.text == text


def test_an_unprintable_escape_is_shown_escaped() -> None:
    with pytest.raises(ConditionError) as caught:
        parse_condition('a == "\\\x07"')
    assert "found '\\x07'" in str(caught.value) and str(caught.value).isprintable()
