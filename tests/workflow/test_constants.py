"""Constant node inputs: ``with = { port = value }`` gives an input a literal instead of an edge."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Final

import pytest

from symphony.builtin_plugins.workflow import EditSession, WorkflowBuilder, decode, encode
from symphony.builtin_plugins.workflow.formats import FORMATS, Format
from symphony.builtin_plugins.workflow.types import holds
from symphony.builtin_plugins.workflow.validate import validate
from symphony.hookspecs import Connect, DataEdge, OperatorNode, Workflow, WorkflowProblem

from .helpers import CATALOGUE, workflow

SYMPHONY: Final = str(Path(sys.executable).parent / "symphony")

GREETING: Final = """\
schema_version = 1
id = "greet"
name = "Greet"

[outputs]
greeting = "greet.text"

[nodes.greet]
kind = "operator"
uses = "text-template"
config = { template = "Hello {name}, you are {age}" }

[nodes.greet.with]
values = { name = "Ada", age = 36 }
"""


def problems(doc: Workflow) -> list[WorkflowProblem]:
    return list(validate(doc, CATALOGUE).report().problems)


def sink(**constants: Any) -> Workflow:
    return workflow({"s": OperatorNode(uses="sink", with_=constants)})


def test_a_constant_satisfies_a_required_input() -> None:
    assert problems(sink(text="hello")) == []


def test_a_constant_of_the_wrong_type_is_a_type_mismatch_naming_node_port_expected_and_got() -> None:
    (problem,) = problems(sink(text=5))
    assert problem.kind == "type_mismatch" and problem.nodes == ("s",)
    assert problem.message == (
        "Node 's' gives input 'text' the constant 5 (integer), but it expects string. Write a string in with.text,"
        " or connect the input with a data edge instead."
    )


def test_a_constant_for_an_input_the_node_lacks_is_an_unknown_port_with_a_suggestion() -> None:
    (problem,) = [p for p in problems(sink(text="a", txet="b")) if p.kind == "unknown_port"]
    assert problem.message == (
        "Node 's' gives a constant to input 'txet' (with.txet), which it does not have (its inputs: text)."
        " Did you mean 'text'?"
    )


def test_an_input_both_constant_and_connected_is_conflicting() -> None:
    doc = workflow(
        {"r": OperatorNode(uses="read"), "s": OperatorNode(uses="sink", with_={"text": "a"})},
        [DataEdge(source="r.text", target="s.text")],
    )
    (problem,) = [p for p in problems(doc) if p.kind == "conflicting_inputs"]
    assert problem.message == (
        'Input "s.text" is given both a constant (with.text) and a data edge; an input takes one value.'
        " Remove the constant or the edge."
    )


def test_connecting_an_edge_to_a_constant_input_is_reported_as_a_full_validation_would() -> None:
    doc = workflow({"r": OperatorNode(uses="read"), "s": OperatorNode(uses="sink", with_={"text": "a"})})
    session = EditSession(doc, CATALOGUE)
    report = session.apply(Connect(edge=DataEdge(source="r.text", target="s.text")))
    assert report == validate(session.workflow, CATALOGUE).report()
    assert "conflicting_inputs" in [p.kind for p in report.problems]
    assert "conflicting_inputs" not in [p.kind for p in session.undo().problems]


@pytest.mark.parametrize(
    ("type_name", "value"),
    [
        ("string", "x"),
        ("integer", 3),
        ("number", 3),
        ("number", 2.5),
        ("boolean", False),
        ("object", {"a": [1, None]}),
        ("json", [1, "a", {"b": None}]),
        ("any", object()),
        ("list[integer]", [1, 2]),
        ("list[list[string]]", [["a"], []]),
        ("bytes", b"\x00"),
    ],
)
def test_a_literal_holds_its_type(type_name: str, value: Any) -> None:
    assert holds(type_name, value)


@pytest.mark.parametrize(
    ("type_name", "value"),
    [
        ("string", 1),
        ("integer", True),
        ("integer", 2.5),
        ("number", "3"),
        ("boolean", 0),
        ("object", [1]),
        ("json", b"x"),
        ("list[integer]", [1, "2"]),
        ("list[string]", "abc"),
        ("vector", [1.0]),
    ],
)
def test_a_literal_of_another_type_does_not_hold(type_name: str, value: Any) -> None:
    assert not holds(type_name, value)


@pytest.mark.parametrize("fmt", FORMATS)
def test_constants_round_trip_through_every_format(fmt: Format) -> None:
    document = decode(GREETING.encode(), "toml")
    assert document.nodes["greet"].with_ == {"values": {"name": "Ada", "age": 36}}
    assert decode(encode(document, fmt), fmt) == document


def test_constants_are_written_as_with() -> None:
    document = decode(GREETING.encode(), "toml")
    assert json.loads(encode(document, "json"))["nodes"]["greet"]["with"] == {"values": {"name": "Ada", "age": 36}}
    assert b"with" not in encode(sink(), "json")  # left out when empty, as every default


def test_a_run_passes_the_constant_to_the_node(tmp_path: Path) -> None:
    flow = tmp_path / "greet.toml"
    flow.write_text(GREETING, encoding="utf-8")
    env = {**os.environ, "SYMPHONY_CACHE_DIR": str(tmp_path / "cache"), "SYMPHONY_DATA_DIR": str(tmp_path / "data")}
    result = subprocess.run(
        [SYMPHONY, "run", str(flow), "--json"], capture_output=True, text=True, cwd=tmp_path, env=env, check=False
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["outputs"] == {"greeting": "Hello Ada, you are 36"}


def test_the_builder_gives_constants_with_with_() -> None:
    built = WorkflowBuilder("w").add_operator("s", "sink", with_={"text": "hi"}).build(CATALOGUE)
    assert built.nodes["s"].with_ == {"text": "hi"}


def test_workflow_convert_keeps_constants_through_every_format(tmp_path: Path) -> None:
    source = tmp_path / "greet.toml"
    source.write_text(GREETING, encoding="utf-8")
    env = {**os.environ, "SYMPHONY_CACHE_DIR": str(tmp_path / "cache"), "SYMPHONY_DATA_DIR": str(tmp_path / "data")}
    for target, suffix in (("json", "json"), ("msgpack", "msgpack"), ("toml", "toml")):
        output = tmp_path / f"next.{suffix}"
        subprocess.run(
            [SYMPHONY, "workflow", "convert", str(source), "--to", target, "-o", str(output)], env=env, check=True
        )
        source = tmp_path / f"greet-{suffix}.{suffix}"
        output.rename(source)
    assert decode(source.read_bytes(), "toml") == decode(GREETING.encode(), "toml")
