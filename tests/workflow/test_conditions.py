"""The condition language: exact syntax errors, operator semantics, paths, caching, fuzzing."""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from symphony.builtin_plugins.workflow.conditions import (
    MAX_CONDITION_DEPTH,
    Condition,
    ConditionError,
    parse_condition,
)


def holds(text: str, **outputs: Any) -> bool:
    return parse_condition(text).evaluate(outputs)


def error(text: str) -> ConditionError:
    with pytest.raises(ConditionError) as raised:
        parse_condition(text)
    return raised.value


# -- syntax errors -----------------------------------------------------------------


def test_an_unterminated_string_points_at_its_opening_quote() -> None:
    problem = error('label == "urg')
    assert str(problem) == (
        "Expected a closing '\"' for the string that starts at column 10"
        ' (found end of condition; write \\" for a quote inside the string) in: label == "urg'
    )
    assert problem.position == 9


def test_an_unknown_character_is_named_with_a_hint() -> None:
    problem = error("a & b")
    assert str(problem) == (
        "Expected a name, value, operator or parenthesis, found '&' at column 3 (use 'and' to require both) in: a & b"
    )
    assert problem.position == 2


def test_a_single_equals_sign_suggests_double() -> None:
    assert "found '=' at column 7 (use '==' to compare)" in str(error('label = "x"'))


def test_a_missing_operand_says_what_it_follows() -> None:
    problem = error("label ==")
    assert str(problem) == "Expected a value after '==', found end of condition at column 9 in: label =="
    assert problem.position == 8


def test_a_missing_operand_after_and_is_reported() -> None:
    assert str(error("a and )")) == "Expected a value after 'and', found ')' at column 7 in: a and )"


def test_an_unclosed_parenthesis_names_where_it_opened() -> None:
    assert str(error("(a == 1")) == (
        "Expected ')' to close the '(' at column 1, found end of condition at column 8 in: (a == 1"
    )


def test_an_extra_closing_parenthesis_is_unmatched() -> None:
    assert str(error("a == 1)")) == (
        "Expected end of condition, found ')' at column 7 (this ')' has no matching '(') in: a == 1)"
    )


def test_trailing_tokens_suggest_and_or() -> None:
    problem = error("a == 1 b")
    assert str(problem) == (
        "Expected end of condition, found 'b' at column 8 (join conditions with 'and' or 'or') in: a == 1 b"
    )
    assert problem.position == 7


def test_comparisons_do_not_chain() -> None:
    assert "found '<' at column 7 (comparisons do not chain; join them with 'and')" in str(error("a < b < c"))


def test_a_too_long_condition_is_refused_before_parsing() -> None:
    problem = error("x" * 1001)
    assert str(problem) == (
        "Expected at most 1,000 characters, found 1,001; the excess starts at column 1001"
        " (split the logic across edges or compute a flag upstream) in: " + "x" * 200 + "..."
    )
    assert problem.position == 1000


def test_a_condition_of_exactly_the_limit_parses() -> None:
    assert parse_condition("x" * 1000).paths == {("x" * 1000,)}


def test_too_deep_parentheses_are_refused() -> None:
    text = "(" * 33 + "a" + ")" * 33
    problem = error(text)
    assert str(problem) == (
        "Expected at most 32 levels of nesting, found level 33 ('(') at column 33"
        f" (simplify the condition or compute a flag upstream) in: {text}"
    )
    assert problem.position == 32


def test_nesting_counts_not_as_well_as_parentheses() -> None:
    assert "found level 33 ('not')" in str(error("not " * 33 + "a"))
    assert parse_condition("not " * MAX_CONDITION_DEPTH + "a").evaluate({"a": True}) is True


def test_an_empty_condition_is_an_error() -> None:
    assert str(error("   ")) == "Expected a condition, found end of condition at column 4 in:    "


def test_a_bad_escape_is_an_error() -> None:
    assert "Expected a quote or a backslash after '\\', found 'n' at column 3" in str(error('"a\\n"'))


def test_capitalised_keywords_are_refused_as_names() -> None:
    assert str(error("a == True")) == (
        "Expected a name, found 'True' at column 6 (keywords are lowercase: write 'true') in: a == True"
    )
    assert "write 'null'" in str(error("a == None"))
    assert "write 'and'" in str(error("AND"))


def test_not_after_a_comparison_needs_parentheses() -> None:
    assert "found 'not' at column 6 (wrap it in parentheses: (not ...))" in str(error("a == not b"))


def test_lists_hold_only_literals() -> None:
    assert "in the list, found 'a' at column 7 (lists hold literals only)" in str(error("x in [a]"))
    assert "Expected ',' or ']' in the list that starts at column 6" in str(error("x in [1, 2"))


def test_a_path_cannot_end_in_a_dot() -> None:
    assert str(error("a.")) == "Expected a name after '.', found end of condition at column 3 in: a."


def test_condition_errors_are_value_errors_and_survive_pickling() -> None:
    problem = error("a ==")
    assert isinstance(problem, ValueError)
    copy = pickle.loads(pickle.dumps(problem))
    assert (str(copy), copy.position, copy.text) == (str(problem), 4, "a ==")


# -- literals and tokens -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('x == "say \\"hi\\""', 'say "hi"'),
        ("x == 'it\\'s'", "it's"),
        ('x == "back\\\\slash"', "back\\slash"),
        ("x == 'a \"b\"'", 'a "b"'),
        ("x == -3", -3),
        ("x == 0.25", 0.25),
        ("x == 1e-3", 0.001),
        ("x == true", True),
        ("x == null", None),
    ],
)
def test_literals_have_their_values(text: str, expected: Any) -> None:
    assert holds(text, x=expected)


def test_whitespace_is_optional_between_tokens() -> None:
    assert holds('label=="a"and(score>=-1)', label="a", score=0)


# -- operators -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operator", "results"),
    [
        ("==", (False, True, False)),
        ("!=", (True, False, True)),
        ("<", (True, False, False)),
        ("<=", (True, True, False)),
        (">", (False, False, True)),
        (">=", (False, True, True)),
    ],
)
def test_comparison_truth_table(operator: str, results: tuple[bool, bool, bool]) -> None:
    assert tuple(holds(f"x {operator} 2", x=x) for x in (1, 2, 3)) == results


def test_strings_order_lexicographically() -> None:
    assert holds('x < "b"', x="a")
    assert not holds('x < "b"', x="c")


@pytest.mark.parametrize("text", ['"a" < 1', "null < 1", "x > 0", "true > false", "[1] < [2]", '1 >= "1"'])
def test_comparing_mismatched_types_is_false(text: str) -> None:
    assert holds(text, x="5") is False


@pytest.mark.parametrize(("text", "expected"), [("true == 1", False), ('"1" == 1', False), ("1 == 1.0", True)])
def test_equality_keeps_booleans_numbers_and_strings_apart(text: str, expected: bool) -> None:
    assert holds(text) is expected


def test_inequality_of_mismatched_types_is_true() -> None:
    assert holds('x != "1"', x=1)


def test_structured_values_compare_element_by_element() -> None:
    assert holds("x == [1, true]", x=[1, True])
    assert not holds("x == [true, 1]", x=[1, True])
    assert holds("x == [1]", x=(1,))


@pytest.mark.parametrize(
    ("text", "outputs", "expected"),
    [
        ('x in ["a", "b"]', {"x": "b"}, True),
        ('x in ["a", "b"]', {"x": "c"}, False),
        ("x in []", {"x": None}, False),
        ('"ell" in x', {"x": "hello"}, True),
        ('"bye" in x', {"x": "hello"}, False),
        ("2 in x", {"x": [1, 2]}, True),
        ('"k" in x', {"x": {"k": 1}}, True),
        ("1 in x", {"x": "123"}, False),
        ("x in y", {}, False),
    ],
)
def test_in_truth_table(text: str, outputs: dict[str, Any], expected: bool) -> None:
    assert parse_condition(text).evaluate(outputs) is expected


@pytest.mark.parametrize(("x", "expected"), [("a", False), ("c", True), (None, True)])
def test_not_in_is_the_negation_of_in(x: Any, expected: bool) -> None:
    assert holds('x not in ["a", "b"]', x=x) is expected


@pytest.mark.parametrize(
    ("a", "b", "and_", "or_"),
    [(False, False, False, False), (False, True, False, True), (True, False, False, True), (True, True, True, True)],
)
def test_and_or_truth_tables(a: bool, b: bool, and_: bool, or_: bool) -> None:
    assert holds("a and b", a=a, b=b) is and_
    assert holds("a or b", a=a, b=b) is or_


@pytest.mark.parametrize("a", [False, True])
def test_not_truth_table(a: bool) -> None:
    assert holds("not a", a=a) is (not a)


def test_and_binds_tighter_than_or() -> None:
    # a or (b and c): with a true, b and c false, the (a or b) and c reading would be false.
    assert holds("a or b and c", a=True, b=False, c=False)
    assert not holds("(a or b) and c", a=True, b=False, c=False)


def test_not_binds_looser_than_comparison() -> None:
    assert holds("not x == 1", x=2)


def test_bare_values_mean_truthiness() -> None:
    truthy = [True, 1, "a", [0], {"k": None}]
    falsy = [False, 0, 0.0, "", [], {}, None]
    assert all(holds("x", x=value) for value in truthy)
    assert not any(holds("x", x=value) for value in falsy)


def test_nested_paths_index_into_objects() -> None:
    assert holds("result.score.value > 0.5", result={"score": {"value": 0.9}})


def test_missing_names_are_null() -> None:
    assert holds("x == null")
    assert holds("result.score == null", result={"label": "a"})
    assert holds("result.score == null", result="not an object")
    assert not holds("x")


def test_in_may_start_a_path_for_gates() -> None:
    condition = parse_condition("in.approved == true and x in in.tags")
    assert condition.paths == {("in", "approved"), ("in", "tags"), ("x",)}
    assert condition.evaluate({"in": {"approved": True, "tags": ["a"]}, "x": "a"})


def test_keywords_may_follow_a_dot() -> None:
    assert holds("result.not == 1", result={"not": 1})


def test_evaluate_returns_a_bool() -> None:
    assert holds("x", x="text") is True


# -- the Condition object ------------------------------------------------------------


def test_paths_lists_every_name_path() -> None:
    condition = parse_condition('label == "a" and (result.score > 1 or not result.score.ok) or label')
    assert condition.paths == frozenset({("label",), ("result", "score"), ("result", "score", "ok")})


def test_literals_contribute_no_paths() -> None:
    assert parse_condition('"a" in ["a"]').paths == frozenset()


def test_parsing_is_cached() -> None:
    assert parse_condition("score > 0.5") is parse_condition("score > 0.5")


def test_conditions_are_immutable() -> None:
    condition = parse_condition("x")
    with pytest.raises(AttributeError):
        condition.text = "y"  # type: ignore[misc]


def test_conditions_compare_by_text() -> None:
    assert isinstance(parse_condition("x"), Condition)
    assert parse_condition("x") == Condition(text="x", paths=frozenset({("x",)}), _run=lambda _: False)


# -- properties ----------------------------------------------------------------------

NAMES = ("a", "b", "c")


@dataclass(frozen=True)
class Lit:
    value: Any


@dataclass(frozen=True)
class Path:
    names: tuple[str, ...]


@dataclass(frozen=True)
class ListLit:
    items: tuple[Any, ...]


@dataclass(frozen=True)
class Cmp:
    op: str
    left: Any
    right: Any


@dataclass(frozen=True)
class Not:
    inner: Any


@dataclass(frozen=True)
class And:
    parts: tuple[Any, ...]


@dataclass(frozen=True)
class Or:
    parts: tuple[Any, ...]


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(-5, 5, allow_nan=False, allow_infinity=False),
    st.sampled_from(["", "a", "b", "ab", "q\"\\'"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(NAMES), inner, max_size=3),
    max_leaves=6,
)
operands = st.one_of(
    scalars.map(Lit),
    st.lists(st.sampled_from(NAMES), min_size=1, max_size=3).map(lambda names: Path(tuple(names))),
    st.lists(scalars, max_size=3).map(lambda items: ListLit(tuple(items))),
)


def _extend(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.builds(Cmp, st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "in", "not in"]), inner, inner),
        st.builds(Not, inner),
        st.lists(inner, min_size=2, max_size=3).map(lambda parts: And(tuple(parts))),
        st.lists(inner, min_size=2, max_size=3).map(lambda parts: Or(tuple(parts))),
    )


expressions = st.recursive(operands, _extend, max_leaves=10)

# Precedence levels: a node renders bare where its level is at least the one required.
LEVEL = {Or: 1, And: 2, Not: 3, Cmp: 4}


def render_literal(value: Any, quote: str) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return quote + value.replace("\\", "\\\\").replace(quote, "\\" + quote) + quote
    return repr(value)


def render(node: Any, required: int = 1) -> tuple[str, int]:
    """The node's text with as few parentheses as precedence allows, and its nesting depth."""
    level = LEVEL.get(type(node), 5)
    if level < required:
        text, depth = render(node, 1)
        return f"({text})", depth + 1
    if isinstance(node, Lit):
        return render_literal(node.value, '"'), 0
    if isinstance(node, Path):
        return ".".join(node.names), 0
    if isinstance(node, ListLit):
        return "[" + ", ".join(render_literal(item, "'") for item in node.items) + "]", 0
    if isinstance(node, Cmp):
        (left, dl), (right, dr) = render(node.left, 5), render(node.right, 5)
        return f"{left} {node.op} {right}", max(dl, dr)
    if isinstance(node, Not):
        text, depth = render(node.inner, 3)
        return f"not {text}", depth + 1
    joiner, part_level = (" and ", 3) if isinstance(node, And) else (" or ", 2)
    rendered = [render(part, part_level) for part in node.parts]
    return joiner.join(text for text, _ in rendered), max(depth for _, depth in rendered)


def reference_equal(a: Any, b: Any) -> bool:
    kinds = (type(a) is bool, type(b) is bool, isinstance(a, int | float), isinstance(b, int | float))
    if kinds[0] or kinds[1]:
        return a is b
    if kinds[2] or kinds[3]:
        return kinds[2] and kinds[3] and a == b
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(reference_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(reference_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def reference(node: Any, outputs: dict[str, Any]) -> Any:
    """A straightforward model of the documented semantics, independent of the parser."""
    if isinstance(node, Lit):
        return node.value
    if isinstance(node, ListLit):
        return list(node.items)
    if isinstance(node, Path):
        value: Any = outputs
        for name in node.names:
            value = value.get(name) if isinstance(value, dict) else None
        return value
    if isinstance(node, Not):
        return not reference(node.inner, outputs)
    if isinstance(node, And):
        return all(reference(part, outputs) for part in node.parts)
    if isinstance(node, Or):
        return any(reference(part, outputs) for part in node.parts)
    a, b = reference(node.left, outputs), reference(node.right, outputs)
    numbers = all(isinstance(v, int | float) and type(v) is not bool for v in (a, b))
    strings = isinstance(a, str) and isinstance(b, str)
    if node.op in ("in", "not in"):
        if isinstance(b, str):
            found = isinstance(a, str) and a in b
        elif isinstance(b, list):
            found = any(reference_equal(a, item) for item in b)
        elif isinstance(b, dict):
            found = isinstance(a, str) and a in b
        else:
            found = False
        return found if node.op == "in" else not found
    if node.op in ("==", "!="):
        return reference_equal(a, b) is (node.op == "==")
    if not (numbers or strings):
        return False
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[node.op]


@settings(max_examples=300, deadline=None)
@given(expressions, st.dictionaries(st.sampled_from(NAMES), values, max_size=3))
def test_parsing_a_rendered_tree_evaluates_like_the_tree(node: Any, outputs: dict[str, Any]) -> None:
    text, depth = render(node)
    assume(len(text) <= 1000 and depth <= MAX_CONDITION_DEPTH)
    assert parse_condition(text).evaluate(outputs) is bool(reference(node, outputs))


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=60))
def test_arbitrary_text_raises_nothing_but_condition_error(text: str) -> None:
    try:
        parse_condition(text)
    except ConditionError as problem:
        assert 0 <= problem.position <= len(text)


TOKENS = ["a", "b.c", "in", "not", "and", "or", "==", "<", "(", ")", "[", "]", ",", "1", "-2.5", "'s'", '"', "null"]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=12), st.dictionaries(st.sampled_from(NAMES), values, max_size=3))
def test_token_soup_parses_or_raises_condition_error_and_evaluates_safely(
    tokens: list[str], outputs: dict[str, Any]
) -> None:
    try:
        condition = parse_condition(" ".join(tokens))
    except ConditionError:
        return
    assert condition.evaluate(outputs) in (True, False)
