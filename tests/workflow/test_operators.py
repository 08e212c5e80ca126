"""The builtin text and JSON operators really run: exact outputs, exact errors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from symphony.builtin_plugins.orchestra.operators import OPERATORS
from symphony.hookspecs import PortSpec, ValidationError


def factory(name: str) -> Any:
    (spec,) = [spec for spec in OPERATORS if spec.name == name]
    return spec.factory


async def run(name: str, config: Mapping[str, Any], inputs: Mapping[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = await factory(name)(config)(inputs)
    return result


def config_error(name: str, config: Mapping[str, Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        factory(name)(config)
    return str(caught.value)


async def run_error(name: str, config: Mapping[str, Any], inputs: Mapping[str, Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        await run(name, config, inputs)
    return str(caught.value)


def test_the_builtins_contribute_four_operators_with_typed_ports() -> None:
    ports = {spec.name: (spec.inputs, spec.outputs) for spec in OPERATORS}
    assert ports == {
        "text-template": ({"values": PortSpec(type="any", required=False)}, {"text": PortSpec(type="string")}),
        "json-parse": ({"text": PortSpec(type="string")}, {"value": PortSpec(type="json")}),
        "json-extract": ({"value": PortSpec(type="json")}, {"value": PortSpec(type="json")}),
        "regex-extract": (
            {"text": PortSpec(type="string")},
            {
                "matched": PortSpec(type="boolean"),
                "match": PortSpec(type="string"),
                "groups": PortSpec(type="list[string]"),
            },
        ),
    }


# -- text-template ------------------------------------------------------------------------


async def test_text_template_fills_placeholders_from_values() -> None:
    outputs = await run("text-template", {"template": "Ticket {id}: {title}"}, {"values": {"id": 7, "title": "Hi"}})
    assert outputs == {"text": "Ticket 7: Hi"}


async def test_text_template_without_placeholders_needs_no_values() -> None:
    assert await run("text-template", {"template": "Literal {{braces}}"}, {}) == {"text": "Literal {braces}"}


async def test_text_template_names_the_missing_values_and_those_given() -> None:
    message = await run_error("text-template", {"template": "{a} {b} {c}"}, {"values": {"b": 1, "x": 2}})
    assert message == "Template needs value(s) a, c; got b, x."


async def test_text_template_without_values_says_none_were_given() -> None:
    assert await run_error("text-template", {"template": "Hi {name}"}, {}) == "Template needs value(s) name; got none."


def test_text_template_needs_a_string_template() -> None:
    assert config_error("text-template", {}) == "Operator 'text-template' needs config.template, a string; got None."
    assert config_error("text-template", {"template": 3}) == (
        "Operator 'text-template' needs config.template, a string; got 3."
    )


@pytest.mark.parametrize("placeholder", ["{user.name}", "{items[0]}", "{0}", "{name!r}", "{name:>10}"])
def test_text_template_refuses_anything_but_plain_name_placeholders(placeholder: str) -> None:
    assert config_error("text-template", {"template": f"Hi {placeholder}"}) == (
        f"Template placeholder {placeholder!r} is not allowed; write plain names like {{title}}."
    )


def test_text_template_refuses_an_unbalanced_brace() -> None:
    assert config_error("text-template", {"template": "Hi {"}).startswith("config.template is not a valid template:")


async def test_text_template_fills_value_from_a_value_that_is_not_an_object() -> None:
    assert await run("text-template", {"template": "Title: {value}"}, {"values": "Home"}) == {"text": "Title: Home"}


# -- json-parse ---------------------------------------------------------------------------


async def test_json_parse_parses_json_text() -> None:
    assert await run("json-parse", {}, {"text": '{"a": [1, 2.5, null, true]}'}) == {
        "value": {"a": [1, 2.5, None, True]}
    }


async def test_json_parse_reports_where_the_text_is_not_json() -> None:
    message = await run_error("json-parse", {}, {"text": '{"a":\n  [1, 2'})
    assert message == "Input is not JSON: Expecting ',' delimiter at line 2, column 8."


# -- json-extract -------------------------------------------------------------------------


async def test_json_extract_follows_keys_and_list_indexes() -> None:
    value = {"items": [{"name": "first"}, {"name": "last"}]}
    assert await run("json-extract", {"path": "items.0.name"}, {"value": value}) == {"value": "first"}
    assert await run("json-extract", {"path": "items.-1.name"}, {"value": value}) == {"value": "last"}


async def test_json_extract_reads_a_digit_key_of_an_object_as_a_key() -> None:
    assert await run("json-extract", {"path": "0"}, {"value": {"0": "zero"}}) == {"value": "zero"}


async def test_json_extract_with_an_empty_path_gives_the_whole_value() -> None:
    assert await run("json-extract", {"path": ""}, {"value": [1]}) == {"value": [1]}


async def test_json_extract_names_the_part_of_the_path_that_does_not_exist() -> None:
    value = {"items": [{"name": "first"}]}
    assert await run_error("json-extract", {"path": "items.3.name"}, {"value": value}) == (
        "Path 'items.3' does not exist in the input value."
    )
    assert await run_error("json-extract", {"path": "items.0.name.first"}, {"value": value}) == (
        "Path 'items.0.name.first' does not exist in the input value."
    )


def test_json_extract_needs_a_string_path() -> None:
    assert config_error("json-extract", {"path": 0}) == "Operator 'json-extract' needs config.path, a string; got 0."


# -- regex-extract ------------------------------------------------------------------------


async def test_regex_extract_reports_the_match_and_its_groups() -> None:
    outputs = await run("regex-extract", {"pattern": "<title>(.*?)</title>"}, {"text": "<title>Home</title>"})
    assert outputs == {"matched": True, "match": "<title>Home</title>", "groups": ["Home"]}


async def test_regex_extract_gives_an_empty_string_for_a_group_that_did_not_take_part() -> None:
    outputs = await run("regex-extract", {"pattern": "(a)|(b)"}, {"text": "xb"})
    assert outputs == {"matched": True, "match": "b", "groups": ["", "b"]}


async def test_regex_extract_without_a_match_is_not_an_error() -> None:
    outputs = await run("regex-extract", {"pattern": "z+"}, {"text": "abc"})
    assert outputs == {"matched": False, "match": "", "groups": []}


def test_regex_extract_needs_a_valid_pattern() -> None:
    assert config_error("regex-extract", {}) == "Operator 'regex-extract' needs config.pattern, a string; got None."
    assert config_error("regex-extract", {"pattern": "(x"}) == (
        "config.pattern is not a valid regular expression: missing ) at position 2."
    )
