"""The JSON Schema converter: what MCP tools' schemas become as workflow ports, and back."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from symphony.hookspecs import PORT_TYPES, PortSpec
from symphony.hookspecs.json_schema import (
    MAX_DEPTH,
    MAX_SCHEMAS,
    json_schema_from_ports,
    port_type_from_json_schema,
    ports_from_json_schema,
)


def _type(schema: Any) -> str:
    return port_type_from_json_schema(schema)[0]


def test_properties_become_ports_required_as_the_schema_lists() -> None:
    schema = {
        "type": "object",
        "properties": {"url": {"type": "string", "description": "Where"}, "max_length": {"type": "integer"}},
        "required": ["url"],
    }
    ports, notes = ports_from_json_schema(schema)
    assert ports == {
        "url": PortSpec(type="string", required=True, description="Where"),
        "max_length": PortSpec(type="integer", required=False),
    }
    assert notes == ()


def test_scalar_types_map_to_their_workflow_names() -> None:
    assert [_type({"type": name}) for name in ("string", "integer", "number", "boolean", "object")] == [
        "string",
        "integer",
        "number",
        "boolean",
        "object",
    ]


def test_base64_string_is_bytes() -> None:
    assert _type({"type": "string", "contentEncoding": "base64"}) == "bytes"


def test_array_is_a_list_of_its_items_type() -> None:
    assert _type({"type": "array", "items": {"type": "array", "items": {"type": "number"}}}) == "list[list[number]]"


def test_array_without_items_is_a_list_of_json() -> None:
    assert _type({"type": "array"}) == "list[json]"


def test_schema_without_type_is_json_without_a_note() -> None:
    assert port_type_from_json_schema({"description": "anything"}) == ("json", ())


def test_nullable_type_keeps_its_type() -> None:
    assert _type({"type": ["string", "null"]}) == "string"
    assert _type({"anyOf": [{"type": "integer"}, {"type": "null"}]}) == "integer"


def test_integer_or_number_is_number() -> None:
    assert _type({"type": ["integer", "number"]}) == "number"


def test_alternatives_of_different_types_are_json_with_a_note_naming_the_property() -> None:
    schema = {"type": "object", "properties": {"x": {"oneOf": [{"type": "string"}, {"type": "integer"}]}}}
    ports, notes = ports_from_json_schema(schema)
    assert ports["x"].type == "json"
    assert notes == ("property 'x': oneOf of different types is not in the workflow type language; typed as json",)


def test_enum_is_typed_by_its_values() -> None:
    assert _type({"enum": ["a", "b"]}) == "string"
    assert _type({"const": 3}) == "integer"


def test_mixed_enum_is_json_with_a_note() -> None:
    port_type, notes = port_type_from_json_schema({"enum": ["a", 1]})
    assert port_type == "json"
    assert "mixed types" in notes[0]


def test_local_reference_is_followed() -> None:
    schema = {
        "type": "object",
        "properties": {"when": {"$ref": "#/$defs/Moment"}},
        "$defs": {"Moment": {"type": "string", "description": "ISO time"}},
    }
    ports, notes = ports_from_json_schema(schema)
    assert ports["when"].type == "string"
    assert notes == ()


def test_reference_outside_the_document_is_json_with_a_note() -> None:
    ports, notes = ports_from_json_schema({"properties": {"a": {"$ref": "https://example.com/s.json"}}})
    assert ports["a"].type == "json"
    assert "does not resolve inside the schema" in notes[0]


def test_reference_cycle_ends_in_json() -> None:
    schema = {"properties": {"a": {"$ref": "#/$defs/A"}}, "$defs": {"A": {"$ref": "#/$defs/A"}}}
    ports, notes = ports_from_json_schema(schema)
    assert ports["a"].type == "json"
    assert notes


def test_recursive_items_stop_at_the_depth_limit() -> None:
    schema = {
        "properties": {"tree": {"$ref": "#/$defs/T"}},
        "$defs": {"T": {"type": "array", "items": {"$ref": "#/$defs/T"}}},
    }
    ports, notes = ports_from_json_schema(schema)
    assert ports["tree"].type.endswith("json" + "]" * ports["tree"].type.count("["))
    assert ports["tree"].type.count("[") <= MAX_DEPTH
    assert any(f"deeper than {MAX_DEPTH}" in note for note in notes)


def test_property_that_cannot_be_a_port_name_is_left_out_with_a_note() -> None:
    ports, notes = ports_from_json_schema(
        {"properties": {"ok": {"type": "string"}, "max-len": {"type": "integer"}}, "required": ["max-len"]}
    )
    assert list(ports) == ["ok"]
    assert notes == (
        "property 'max-len': not a port name (letters, digits and underscores); left out;"
        " the tool cannot be called without it",
    )


def test_schema_that_is_not_an_object_makes_no_ports() -> None:
    assert ports_from_json_schema({"type": "string"}) == (
        {},
        ("the schema describes 'string' values, not an object with properties; no ports",),
    )
    assert ports_from_json_schema([1, 2]) == ({}, ("the schema is an array, not an object schema; no ports",))


def test_malformed_property_schemas_are_noted_not_raised() -> None:
    ports, notes = ports_from_json_schema({"properties": {"a": 3, "b": {"type": "nonsense"}, "c": {"anyOf": 5}}})
    assert {name: spec.type for name, spec in ports.items()} == {"a": "json", "b": "json", "c": "json"}
    assert len(notes) == 3


def test_tuple_arrays_are_lists_of_json_with_a_note() -> None:
    port_type, notes = port_type_from_json_schema({"type": "array", "prefixItems": [{"type": "string"}]})
    assert port_type == "list[json]"
    assert "positional" in notes[0]


def test_schema_from_ports_lists_required_ports_and_descriptions() -> None:
    schema = json_schema_from_ports(
        {"text": PortSpec(type="string", description="Input"), "n": PortSpec(type="list[integer]", required=False)}
    )
    assert schema == {
        "type": "object",
        "properties": {
            "text": {"type": "string", "description": "Input"},
            "n": {"type": "array", "items": {"type": "integer"}},
        },
        "required": ["text"],
    }


def test_any_is_marked_so_it_reads_back_as_any() -> None:
    schema = json_schema_from_ports({"x": PortSpec(type="any")})
    assert schema["properties"]["x"] == {"x-symphony-type": "any"}
    assert ports_from_json_schema(schema)[0]["x"].type == "any"


def test_a_mark_naming_no_workflow_type_is_noted() -> None:
    port_type, notes = port_type_from_json_schema({"x-symphony-type": "image", "type": "string"})
    assert port_type == "string"
    assert notes == ("the schema: x-symphony-type 'image' is not a workflow type; typed as json",)


_BASE = st.sampled_from(PORT_TYPES)
_TYPES = st.recursive(_BASE, lambda inner: inner.map(lambda name: f"list[{name}]"), max_leaves=4)
_PORTS = st.dictionaries(
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True),
    st.builds(PortSpec, type=_TYPES, required=st.booleans(), description=st.text(max_size=20)),
    max_size=6,
)


@given(_PORTS)
def test_ports_survive_a_round_trip_through_json_schema(ports: dict[str, PortSpec]) -> None:
    assert ports_from_json_schema(json_schema_from_ports(ports)) == (ports, ())


_JSON_SCHEMAS: st.SearchStrategy[Any] = st.recursive(
    st.one_of(st.booleans(), st.none(), st.integers(), st.text(max_size=5), st.just({})),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from(["type", "items", "anyOf", "oneOf", "allOf", "$ref", "enum", "const", "properties"]),
            inner,
            max_size=4,
        ),
    ),
    max_leaves=12,
)


@given(_JSON_SCHEMAS)
def test_any_value_gives_ports_or_notes_never_an_exception(schema: Any) -> None:
    ports, notes = ports_from_json_schema(schema)
    assert all(isinstance(note, str) for note in notes)
    assert all(_in_language(spec.type) for spec in ports.values())


def _in_language(name: str) -> bool:
    while name.startswith("list[") and name.endswith("]"):
        name = name[5:-1]
    return name in PORT_TYPES


def test_references_branching_without_end_are_typed_json_after_a_bounded_amount_of_work() -> None:
    """A hostile server's schema (three references to itself per level: 3**16 subschemas) must not hang add-mcp."""
    reads = 0

    class Counted(dict[str, Any]):
        """The self-referring subschema, failing the test once it has been read far more often than the bound."""

        def get(self, key: str, default: Any = None) -> Any:
            nonlocal reads
            reads += 1
            assert reads <= 10 * MAX_SCHEMAS, "the converter's work is not bounded"
            return super().get(key, default)

    itself = {"$ref": "#/$defs/a"}
    schema = {"type": "object", "properties": {"x": itself}, "$defs": {"a": Counted(anyOf=[itself, itself, itself])}}
    ports, notes = ports_from_json_schema(schema)
    assert ports["x"].type == "json"
    assert notes
