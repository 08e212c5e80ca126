"""Reading and writing workflow documents: every format round-trips, every failure says what and where."""

from __future__ import annotations

from pathlib import Path
from typing import Final

import msgspec
import pytest

from symphony.builtin_plugins.workflow import WorkflowFormatError, decode, encode, load, save
from symphony.builtin_plugins.workflow.formats import FORMATS, Format, format_for
from symphony.hookspecs import (
    SEMVER_PATTERN,
    ConditionalEdge,
    ControlEdge,
    ControlNode,
    DataEdge,
    InstrumentNode,
    NodeMetadata,
    OperatorNode,
    PortSpec,
    Workflow,
    WorkflowMetadata,
)

EXAMPLES: Final = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.toml"))
HEADER: Final = b'schema_version = 1\nid = "w"\nname = "w"\n'

#: Every field of the format, with metadata and config an editor would keep.
RICH: Final = b"""
schema_version = 1
id = "rich"
name = "Every field"
version = "2.1.0-beta.1+build.7"

[metadata]
description = "All of it."
author = "Tests"
tags = ["a", "b"]
extra = { editor = { zoom = 1.5, grid = true } }

[inputs]
text = { type = "string", description = "Some text." }
limit = { type = "integer", required = false }

[outputs]
result = "fill.text"

[nodes.parse]
kind = "operator"
uses = "json-parse"

[nodes.parse.metadata]
position = [0, 10.5]
label = "Parse"
colour = "#3b82f6"
notes = "first\\nstep"

[nodes.parse.metadata.extra]
collapsed = true
ports = { text = { side = "left" } }
history = [1, 2.5, "three", [4], { five = 5 }]

[nodes.ask]
kind = "instrument"
uses = "chat"
config = { model = "small", temperature = 0.2, stop = ["\\n\\n"], options = { seed = 7 } }

[nodes.gate]
kind = "control"
control = "gate"
config = { when = "in.ok == true" }

[nodes.fill]
kind = "operator"
uses = "text-template"
config = { template = "{x}", items = [{ a = 1 }, { a = 2 }] }

[[edges]]
kind = "data"
from = "inputs.text"
to = "parse.text"

[[edges]]
kind = "data"
id = "answer"
from = "parse.value"
to = "ask.prompt"

[[edges]]
kind = "conditional"
id = "if-ok"
from = "ask"
to = "gate"
when = 'label == "ok" and score >= 0.5'

[[edges]]
kind = "control"
from = "gate"
to = "fill"
"""


def fails(data: bytes, fmt: Format = "toml") -> WorkflowFormatError:
    with pytest.raises(WorkflowFormatError) as caught:
        decode(data, fmt)
    return caught.value


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_the_examples_decode(path: Path) -> None:
    workflow = load(path)
    assert workflow.schema_version == 1 and workflow.nodes and workflow.edges


def test_a_document_decodes_into_the_typed_model() -> None:
    workflow = decode(RICH, "toml")
    assert workflow.version == "2.1.0-beta.1+build.7"
    assert workflow.metadata == WorkflowMetadata(
        description="All of it.", author="Tests", tags=("a", "b"), extra={"editor": {"zoom": 1.5, "grid": True}}
    )
    assert workflow.inputs == {
        "text": PortSpec(type="string", description="Some text."),
        "limit": PortSpec(type="integer", required=False),
    }
    assert workflow.nodes["parse"] == OperatorNode(
        uses="json-parse",
        metadata=NodeMetadata(
            position=(0.0, 10.5),
            label="Parse",
            colour="#3b82f6",
            notes="first\nstep",
            extra={
                "collapsed": True,
                "ports": {"text": {"side": "left"}},
                "history": [1, 2.5, "three", [4], {"five": 5}],
            },
        ),
    )
    assert workflow.nodes["ask"] == InstrumentNode(
        uses="chat", config={"model": "small", "temperature": 0.2, "stop": ["\n\n"], "options": {"seed": 7}}
    )
    assert workflow.nodes["gate"] == ControlNode(control="gate", config={"when": "in.ok == true"})
    assert workflow.edges == (
        DataEdge(source="inputs.text", target="parse.text"),
        DataEdge(source="parse.value", target="ask.prompt", id="answer"),
        ConditionalEdge(source="ask", target="gate", id="if-ok", when='label == "ok" and score >= 0.5'),
        ControlEdge(source="gate", target="fill"),
    )


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_field_round_trips_through_every_format(fmt: Format) -> None:
    workflow = decode(RICH, "toml")
    assert decode(encode(workflow, fmt), fmt) == workflow


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_the_examples_round_trip_through_every_format(path: Path, fmt: Format) -> None:
    workflow = load(path)
    assert decode(encode(workflow, fmt), fmt) == workflow


@pytest.mark.parametrize("fmt", ["json", "msgpack"])
def test_a_decoder_without_the_workflow_hook_keeps_free_values_as_read(fmt: Format) -> None:
    # Run records are decoded by plain msgspec decoders; free values reach them untouched.
    workflow = decode(RICH, "toml")
    plain = msgspec.json.decode if fmt == "json" else msgspec.msgpack.decode
    assert plain(encode(workflow, fmt), type=Workflow) == workflow


def test_the_model_has_a_json_schema_where_free_values_are_any_value() -> None:
    schema = msgspec.json.schema(Workflow)["$defs"]["OperatorNode"]["properties"]["config"]
    assert schema["additionalProperties"] == {"description": "Any value."}


def test_writing_toml_again_gives_the_same_bytes() -> None:
    once = encode(decode(RICH, "toml"), "toml")
    assert encode(decode(once, "toml"), "toml") == once


def test_defaults_are_left_out_when_encoding() -> None:
    workflow = decode(HEADER + b'[nodes.a]\nkind = "operator"\nuses = "x"\n', "toml")
    assert (
        encode(workflow, "json")
        == b'{"schema_version":1,"id":"w","name":"w","nodes":{"a":{"kind":"operator","uses":"x"}}}'
    )


def test_pretty_json_is_indented_and_ends_with_a_newline() -> None:
    assert encode(decode(HEADER, "toml"), "json-pretty") == (
        b'{\n  "schema_version": 1,\n  "id": "w",\n  "name": "w"\n}\n'
    )


def test_a_newer_schema_version_is_refused_with_what_to_upgrade() -> None:
    error = fails(b'schema_version = 2\nid = "w"\nname = "w"\n')
    assert str(error) == (
        "This document has schema_version 2, newer than the 1 this Symphony reads;"
        " upgrade symphony-hookspecs to read it."
    )


def test_a_newer_schema_version_is_reported_before_fields_this_version_does_not_know() -> None:
    error = fails(b'{"schema_version": 2, "id": 3, "shiny": true}', "json")
    assert str(error).startswith("This document has schema_version 2, newer than the 1")


def test_schema_version_zero_is_unknown() -> None:
    assert str(fails(b'schema_version = 0\nid = "w"\nname = "w"\n')) == (
        "Unknown schema_version 0; expected 1. Add `schema_version = 1` at the top of the document."
    )


def test_a_missing_schema_version_says_to_add_it() -> None:
    assert str(fails(b'id = "w"\nname = "w"\n')) == (
        "Unknown schema_version None; expected 1. Add `schema_version = 1` at the top of the document."
    )


def test_a_schema_version_written_as_text_is_unknown() -> None:
    assert str(fails(b'schema_version = "1"\nid = "w"\nname = "w"\n')).startswith("Unknown schema_version '1';")


def test_an_unknown_field_is_an_error_naming_its_path() -> None:
    error = fails(HEADER + b'[nodes.a]\nkind = "operator"\nuses = "x"\nmetadata = { colour = "red", shape = "box" }\n')
    assert str(error) == (
        "Object contains unknown field `shape` - at `$.nodes[...].metadata`. See docs/workflows.md for the format."
    )
    assert (error.line, error.column) == (None, None)


def test_an_unknown_top_level_field_is_an_error() -> None:
    assert str(fails(HEADER + b"bogus = 1\n")) == (
        "Object contains unknown field `bogus`. See docs/workflows.md for the format."
    )


def test_an_unknown_node_kind_is_an_error_naming_its_path() -> None:
    assert str(fails(HEADER + b'[nodes.a]\nkind = "widget"\nuses = "x"\n')) == (
        "Invalid value 'widget' - at `$.nodes[...].kind`. See docs/workflows.md for the format."
    )


def test_a_missing_required_field_is_an_error_naming_its_path() -> None:
    assert str(fails(HEADER + b'[[edges]]\nkind = "data"\nfrom = "a.b"\n')) == (
        "Object missing required field `to` - at `$.edges[0]`. See docs/workflows.md for the format."
    )


def test_a_version_that_is_not_semantic_fails_with_its_path() -> None:
    assert str(fails(HEADER + b'version = "1.0"\n')) == (
        f"Expected `str` matching regex {SEMVER_PATTERN!r} - at `$.version`. See docs/workflows.md for the format."
    )


def test_a_toml_syntax_error_reports_line_and_column() -> None:
    error = fails(HEADER + b"tags = \n")
    assert str(error) == "Invalid value at line 4, column 8."
    assert (error.line, error.column) == (4, 8)


def test_malformed_json_reports_line_and_column() -> None:
    error = fails(b'{"schema_version": 1,\n "id": "w",\n "name": }', "json")
    assert str(error) == "JSON is malformed: invalid character at line 3, column 10."
    assert (error.line, error.column) == (3, 10)


def test_toml_that_is_not_utf8_reports_where_the_bad_byte_is() -> None:
    error = fails(b'schema_version = 1\nid = "w"\nname = "w\xff"\n')
    assert str(error) == "The document is not UTF-8 text (line 3, column 10)."
    assert (error.line, error.column) == (3, 10)


def test_truncated_msgpack_is_a_parse_error() -> None:
    whole = encode(decode(HEADER, "toml"), "msgpack")
    assert str(fails(whole[:-3], "msgpack")) == "The document cannot be parsed as msgpack: Input data was truncated."


def test_a_document_that_is_not_a_table_is_refused() -> None:
    assert str(fails(b"[1, 2]", "json")) == "Expected `object`, got `array`. See docs/workflows.md for the format."


def test_a_null_cannot_be_written_as_toml() -> None:
    workflow = Workflow(schema_version=1, id="w", name="w", nodes={"a": OperatorNode(uses="x", config={"k": None})})
    with pytest.raises(WorkflowFormatError) as caught:
        encode(workflow, "toml")
    assert str(caught.value) == (
        "This workflow cannot be written as TOML (Object of type 'NoneType' is not TOML serializable);"
        " TOML has no null. Use JSON, or remove the null value."
    )
    assert decode(encode(workflow, "json"), "json") == workflow


@pytest.mark.parametrize("fmt", FORMATS)
def test_save_then_load_gives_the_same_workflow_and_leaves_no_temporary_file(tmp_path: Path, fmt: Format) -> None:
    workflow = decode(RICH, "toml")
    path = tmp_path / "flow.data"
    save(workflow, path, fmt)
    assert decode(path.read_bytes(), fmt) == workflow
    assert [entry.name for entry in tmp_path.iterdir()] == ["flow.data"]


def test_save_chooses_the_format_from_the_suffix(tmp_path: Path) -> None:
    workflow = decode(RICH, "toml")
    for name in ("flow.toml", "flow.json", "flow.msgpack", "flow.mpk"):
        save(workflow, tmp_path / name)
        assert load(tmp_path / name) == workflow
    assert (tmp_path / "flow.json").read_bytes() == encode(workflow, "json")


def test_save_replaces_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "flow.toml"
    path.write_text("old", encoding="utf-8")
    save(decode(RICH, "toml"), path)
    assert load(path) == decode(RICH, "toml")


def test_a_failed_save_leaves_the_old_file_untouched_and_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "flow.toml"
    path.write_bytes(RICH)
    workflow = Workflow(schema_version=1, id="w", name="w", nodes={"a": OperatorNode(uses="x", config={"k": None})})
    with pytest.raises(WorkflowFormatError, match="TOML has no null"):
        save(workflow, path)
    assert path.read_bytes() == RICH
    assert [entry.name for entry in tmp_path.iterdir()] == ["flow.toml"]


def test_an_unknown_suffix_is_an_error() -> None:
    with pytest.raises(WorkflowFormatError) as caught:
        format_for(Path("flow.yaml"))
    assert str(caught.value) == "Cannot tell the format of 'flow.yaml' from its suffix; use .toml, .json or .msgpack."


def test_saving_to_an_unknown_suffix_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(WorkflowFormatError, match=r"Cannot tell the format of 'flow\.yaml'"):
        save(decode(HEADER, "toml"), tmp_path / "flow.yaml")
    assert list(tmp_path.iterdir()) == []


def test_suffixes_are_read_case_insensitively() -> None:
    assert [format_for(Path(name)) for name in ("a.TOML", "a.Json", "a.MSGPACK", "a.mpk")] == [
        "toml",
        "json",
        "msgpack",
        "msgpack",
    ]


def test_loading_a_missing_file_says_it_cannot_be_read(tmp_path: Path) -> None:
    path = tmp_path / "missing.toml"
    with pytest.raises(WorkflowFormatError) as caught:
        load(path)
    assert str(caught.value) == f"Cannot read {path}: No such file or directory."
