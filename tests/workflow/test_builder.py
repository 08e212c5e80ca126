"""The fluent builder: what it builds, and every problem build() reports at once."""

from __future__ import annotations

from typing import Final

import pytest

from symphony.builtin_plugins.orchestra.operators import OPERATORS
from symphony.builtin_plugins.workflow import Catalogue, WorkflowBuilder, WorkflowBuildError
from symphony.hookspecs import (
    SCHEMA_VERSION,
    ConditionalEdge,
    ControlEdge,
    ControlNode,
    DataEdge,
    InstrumentNode,
    NodeMetadata,
    OperatorNode,
    PortSpec,
    ValidationError,
    Workflow,
    WorkflowMetadata,
)

#: The operators the builtins really contribute.
OPERATOR_CATALOGUE: Final = Catalogue.from_contributions(operators=[("operators", spec) for spec in OPERATORS])


def build_error(builder: WorkflowBuilder, catalogue: Catalogue | None = None) -> WorkflowBuildError:
    with pytest.raises(WorkflowBuildError) as caught:
        builder.build(catalogue)
    return caught.value


def test_the_seed_example_builds_the_hand_written_workflow() -> None:
    built = (
        WorkflowBuilder("data-processing")
        .version("1.0.0")
        .input("text", "string")
        .add_operator("clean", "text-template", {"template": "{text}"})
        .add_instrument("summarise", "openai-chat", {"model": "gpt-4"})
        .connect("inputs.text", "clean.text")
        .connect("clean.text", "summarise.prompt")
        .output("summary", "summarise.text")
        .build()
    )
    assert built == Workflow(
        schema_version=SCHEMA_VERSION,
        id="data-processing",
        name="data-processing",
        version="1.0.0",
        inputs={"text": PortSpec(type="string")},
        outputs={"summary": "summarise.text"},
        nodes={
            "clean": OperatorNode(uses="text-template", config={"template": "{text}"}),
            "summarise": InstrumentNode(uses="openai-chat", config={"model": "gpt-4"}),
        },
        edges=(
            DataEdge(source="inputs.text", target="clean.text"),
            DataEdge(source="clean.text", target="summarise.prompt"),
        ),
    )


def test_a_chain_of_real_operators_builds_against_the_catalogue() -> None:
    built = (
        WorkflowBuilder("greet", "Greet a ticket")
        .version("0.3.0")
        .describe("Parse and answer.", author="Tests", tags=("demo",))
        .input("ticket", "string")
        .input("hint", "string", required=False)
        .add_operator("parse", "json-parse", position=(0.0, 0.0), label="Parse")
        .add_operator("fill", "text-template", {"template": "Hello {name}"}, colour="green", notes="n")
        .connect("inputs.ticket", "parse.text")
        .connect("parse.value", "fill.values", edge_id="values")
        .output("greeting", "fill.text")
        .build(OPERATOR_CATALOGUE)
    )
    assert built == Workflow(
        schema_version=SCHEMA_VERSION,
        id="greet",
        name="Greet a ticket",
        version="0.3.0",
        metadata=WorkflowMetadata(description="Parse and answer.", author="Tests", tags=("demo",)),
        inputs={"ticket": PortSpec(type="string"), "hint": PortSpec(type="string", required=False)},
        outputs={"greeting": "fill.text"},
        nodes={
            "parse": OperatorNode(uses="json-parse", metadata=NodeMetadata(position=(0.0, 0.0), label="Parse")),
            "fill": OperatorNode(
                uses="text-template",
                config={"template": "Hello {name}"},
                metadata=NodeMetadata(colour="green", notes="n"),
            ),
        },
        edges=(
            DataEdge(source="inputs.ticket", target="parse.text"),
            DataEdge(source="parse.value", target="fill.values", id="values"),
        ),
    )


def test_a_workflow_with_only_warnings_builds() -> None:
    built = (
        WorkflowBuilder("w")
        .input("text", "string")
        .add_operator("parse", "json-parse")
        .connect("inputs.text", "parse.text")
        .build(OPERATOR_CATALOGUE)
    )
    assert list(built.nodes) == ["parse"]  # parse's output goes nowhere: a dead_end warning only


def test_build_with_a_catalogue_lists_every_problem_at_once() -> None:
    builder = (
        WorkflowBuilder("broken")
        .version("1.0")
        .input("count", "integer")
        .add_operator("parse", "json-parse")
        .add_operator("parse", "json-parse")
        .add_operator("find", "regex-extract", {"pattern": "x"})
        .add_operator("ghostly", "translate")
        .add_control("a", "branch")
        .add_control("b", "branch")
        .connect("inputs.count", "find.text", edge_id="count-to-text")
        .connect("find.match", "parse.txt", edge_id="typo")
        .connect("find.groups", "missing.text", edge_id="nowhere")
        .connect("a", "b")
        .connect("b", "a")
        .output("value", "parse.value")
    )
    error = build_error(builder, OPERATOR_CATALOGUE)
    assert [(p.kind, p.nodes) for p in error.problems] == [
        ("bad_config", ()),
        ("invalid_id", ("parse",)),
        ("dangling_edge", ("find", "missing")),
        ("unknown_contribution", ("ghostly",)),
        ("unknown_port", ("find", "parse")),
        ("type_mismatch", ("inputs", "find")),
        ("missing_input", ("parse",)),
        ("cycle", ("a", "b")),
    ]
    messages = [
        "Version '1.0' is not a semantic version; use MAJOR.MINOR.PATCH, e.g. '1.0.0'.",
        "Node id 'parse' is used twice; every node needs its own id.",
        "Edge 'nowhere' goes to 'missing', which is not a node of this workflow; add the node or fix the name.",
        "Node 'ghostly' uses operator 'translate', which no installed plugin or extension provides."
        " See `symphony nodes list` for what is installed.",
        "Edge 'typo' uses input 'txt' of node 'parse', which has no such input (its inputs: text)."
        " Did you mean 'text'?",
        "Edge 'count-to-text' connects inputs.count (integer) to find.text (string); a integer cannot be used as"
        " a string. Insert a converting operator or connect a compatible port.",
        "Required input 'text' of node 'parse' is not connected; add a data edge to \"parse.text\""
        ' (from another node or from "inputs.<name>"), or give it a constant: with = { text = ... }.',
        "Cycle: a -> b -> a. A workflow must be acyclic; remove or reverse one of these edges.",
    ]
    assert [p.message for p in error.problems] == messages
    assert str(error).startswith("The workflow has 8 problem(s):\n")
    for problem in error.problems:
        assert f"- [{problem.kind}] {problem.message}" in str(error)


def test_a_build_error_is_a_validation_error() -> None:
    error = build_error(WorkflowBuilder("w").version("one"))
    assert isinstance(error, ValidationError)
    assert error.category == "data.validation.build"


def test_build_without_a_catalogue_ignores_unknown_operators_and_their_ports() -> None:
    built = (
        WorkflowBuilder("w")
        .add_operator("a", "no-such-operator")
        .add_instrument("b", "no-such-model")
        .connect("a.whatever", "b.prompt")
        .build()
    )
    assert set(built.nodes) == {"a", "b"}


def test_build_without_a_catalogue_still_checks_structure() -> None:
    builder = (
        WorkflowBuilder("w")
        .version("2")
        .add_operator("a", "anything")
        .add_operator("b", "anything")
        .add_operator("b", "anything")
        .connect("a.out", "b.in", edge_id="ab")
        .connect("b.out", "a.in", edge_id="ba")
        .connect("a.out", "ghost.in", edge_id="dangling")
    )
    error = build_error(builder)
    assert [(p.kind, p.nodes, p.edges) for p in error.problems] == [
        ("bad_config", (), ()),
        ("invalid_id", ("b",), ()),
        ("dangling_edge", ("a", "ghost"), ("dangling",)),
        ("cycle", ("a", "b"), ("ab", "ba")),
    ]


def test_a_node_id_used_twice_keeps_the_last_definition_and_reports_the_first_reuse() -> None:
    error = build_error(WorkflowBuilder("w").add_operator("a", "first").add_operator("a", "second"))
    (problem,) = error.problems
    assert problem.kind == "invalid_id" and problem.nodes == ("a",)


def test_connect_infers_each_kind_of_edge() -> None:
    builder = (
        WorkflowBuilder("w")
        .add_operator("a", "x")
        .add_operator("b", "x")
        .add_control("g", "gate", {"when": "in.ok == true"})
        .connect("a.out", "b.in")
        .connect("a", "g")
        .connect("a", "b", when="ok == true", edge_id="if-ok")
        .connect("b", "g", kind="control", edge_id="explicit")
    )
    assert builder.build().edges == (
        DataEdge(source="a.out", target="b.in"),
        ControlEdge(source="a", target="g"),
        ConditionalEdge(source="a", target="b", when="ok == true", id="if-ok"),
        ControlEdge(source="b", target="g", id="explicit"),
    )


def test_control_nodes_carry_their_kind_and_config() -> None:
    built = (
        WorkflowBuilder("w")
        .add_control("m", "merge", {"mode": "all"}, label="Join")
        .add_control("g", "gate", {"when": "in.ok"})
        .build()
    )
    assert built.nodes == {
        "m": ControlNode(control="merge", config={"mode": "all"}, metadata=NodeMetadata(label="Join")),
        "g": ControlNode(control="gate", config={"when": "in.ok"}),
    }


def test_a_bad_control_config_fails_the_build_even_without_a_catalogue() -> None:
    error = build_error(WorkflowBuilder("w").add_control("m", "merge", {"mode": "some"}))
    assert [p.kind for p in error.problems] == ["bad_config"]
    assert error.problems[0].message.startswith("Merge node 'm' has mode 'some'")
