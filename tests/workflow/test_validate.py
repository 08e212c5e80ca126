"""The validation pipeline: every kind of problem, with its exact message, all in one report."""

from __future__ import annotations

from symphony.builtin_plugins.workflow import Limits
from symphony.builtin_plugins.workflow.validate import validate
from symphony.hookspecs import (
    ConditionalEdge,
    ControlEdge,
    ControlNode,
    DataEdge,
    InstrumentNode,
    OperatorNode,
    PortSpec,
    WorkflowProblem,
)

from .helpers import CATALOGUE, workflow


def op(uses: str, **config: object) -> OperatorNode:
    return OperatorNode(uses=uses, config=dict(config))


def data(source: str, target: str, edge_id: str = "") -> DataEdge:
    return DataEdge(source=source, target=target, id=edge_id)


def problems(doc: object, limits: Limits | None = None) -> list[WorkflowProblem]:
    return list(validate(doc, CATALOGUE, limits).report().problems)  # type: ignore[arg-type]


def only(doc: object, kind: str) -> WorkflowProblem:
    (found,) = [p for p in problems(doc) if p.kind == kind]
    return found


CHAIN = workflow(
    {"read": op("read"), "parse": op("parse"), "sink": op("sink")},
    [data("read.text", "parse.text"), data("read.text", "sink.text")],
    outputs={"value": "parse.value"},
)


def test_a_correct_workflow_has_no_problems_and_levels() -> None:
    result = validate(CHAIN, CATALOGUE)
    assert result.report().problems == ()
    assert result.levels() == (("read",), ("parse", "sink"))
    assert result.order() == ("read", "parse", "sink")


def test_a_cycle_is_reported_as_its_path() -> None:
    doc = workflow(
        {"a": op("pair"), "b": op("pair"), "c": op("pair")},
        [data("a.out", "b.left", "ab"), data("b.out", "c.left", "bc"), data("c.out", "a.left", "ca")],
    )
    cycle = only(doc, "cycle")
    assert cycle.message == "Cycle: a -> b -> c -> a. A workflow must be acyclic; remove or reverse one of these edges."
    assert cycle.nodes == ("a", "b", "c") and cycle.edges == ("ab", "bc", "ca")
    assert validate(doc, CATALOGUE).levels() == ()


def test_a_self_loop_is_a_cycle() -> None:
    doc = workflow({"a": op("pair")}, [data("a.out", "a.left", "loop")])
    assert only(doc, "cycle").message.startswith("Cycle: a -> a.")


def test_nodes_behind_a_cycle_are_unreachable() -> None:
    doc = workflow(
        {"a": op("pair"), "b": op("pair"), "after": op("pair")},
        [data("a.out", "b.left", "ab"), data("b.out", "a.left", "ba"), data("b.out", "after.left", "b-after")],
    )
    problem = only(doc, "unreachable")
    assert problem.nodes == ("after",)
    assert (
        problem.message == "Node 'after' can never run: it depends on nodes caught in a cycle. Break the cycle first."
    )


def test_incompatible_port_types_are_a_type_mismatch() -> None:
    doc = workflow(
        {"parse": op("parse"), "read": op("read")},
        [data("read.text", "parse.text"), data("read.size", "parse.text", "e")],
    )
    problem = only(doc, "type_mismatch")
    assert problem.message == (
        "Edge 'e' connects read.size (integer) to parse.text (string); a integer cannot be used as a string."
        " Insert a converting operator or connect a compatible port."
    )


def test_an_integer_feeds_a_number_and_anything_feeds_any() -> None:
    doc = workflow(
        {"read": op("read"), "count": op("count"), "parse": op("parse"), "pair": op("pair")},
        [
            data("read.size", "count.value"),
            data("read.text", "parse.text"),
            data("parse.value", "pair.left"),
            data("count.total", "pair.right"),
        ],
    )
    assert [p.kind for p in problems(doc) if p.severity == "error"] == []


def test_a_json_output_into_a_string_input_is_a_type_mismatch() -> None:
    doc = workflow(
        {"read": op("read"), "parse": op("parse"), "sink": op("sink")},
        [data("read.text", "parse.text"), data("parse.value", "sink.text", "e")],
    )
    problem = only(doc, "type_mismatch")
    assert problem.message.startswith("Edge 'e' connects parse.value (json) to sink.text (string);")


def test_a_required_input_left_unconnected_says_how_to_connect_it() -> None:
    problem = only(workflow({"parse": op("parse")}), "missing_input")
    assert problem.message == (
        "Required input 'text' of node 'parse' is not connected; add a data edge to \"parse.text\""
        ' (from another node or from "inputs.<name>"), or give it a constant: with = { text = ... }.'
    )


def test_an_output_that_goes_nowhere_is_a_warning() -> None:
    problem = only(workflow({"read": op("read")}), "dead_end")
    assert problem.severity == "warning"
    assert validate(workflow({"read": op("read")}), CATALOGUE).report().valid


def test_an_unknown_operator_names_what_to_install_when_the_registry_knows() -> None:
    doc = workflow({"t": op("translate"), "x": InstrumentNode(uses="gpt-9")})
    messages = {p.nodes[0]: p.message for p in problems(doc) if p.kind == "unknown_contribution"}
    assert messages["t"] == (
        "Node 't' uses operator 'translate', which no installed plugin or extension provides."
        " Install it with `pip install symphony-translate`. See `symphony nodes list` for what is installed."
    )
    assert "instrument 'gpt-9'" in messages["x"] and "pip install" not in messages["x"]


def test_an_unknown_port_lists_the_ports_there_are() -> None:
    doc = workflow({"read": op("read"), "parse": op("parse")}, [data("read.txt", "parse.text", "e")])
    assert only(doc, "unknown_port").message == (
        "Edge 'e' uses output 'txt' of node 'read', which has no such output (its outputs: size, text)."
        " Did you mean 'text'?"
    )


def test_a_data_edge_without_ports_says_how_to_write_it() -> None:
    doc = workflow({"read": op("read"), "parse": op("parse")}, [data("read", "parse.text", "e")])
    assert 'must name ports on both ends: from = "node.port"' in only(doc, "unknown_port").message


def test_an_edge_to_a_missing_node_is_dangling() -> None:
    doc = workflow({"read": op("read")}, [data("read.text", "ghost.text", "e")])
    assert only(doc, "dangling_edge").message == (
        "Edge 'e' goes to 'ghost', which is not a node of this workflow; add the node or fix the name."
    )


def test_an_undeclared_workflow_input_is_an_unknown_port() -> None:
    doc = workflow(
        {"parse": op("parse")}, [data("inputs.body", "parse.text", "e")], inputs={"html": PortSpec(type="string")}
    )
    assert only(doc, "unknown_port").message == (
        "Edge 'e' reads workflow input 'body', which [inputs] does not declare (declared: html)."
    )


def test_declared_inputs_feed_nodes_with_their_type() -> None:
    doc = workflow(
        {"count": op("count")}, [data("inputs.n", "count.value", "e")], inputs={"n": PortSpec(type="string")}
    )
    assert "(string) to count.value (number)" in only(doc, "type_mismatch").message


def test_two_edges_into_one_input_conflict_unless_a_merge_collects_them() -> None:
    edges = [data("a.text", "sink.text", "one"), data("b.text", "sink.text", "two")]
    doc = workflow({"a": op("read"), "b": op("read"), "sink": op("sink")}, edges)
    problem = only(doc, "conflicting_inputs")
    assert problem.edges == ("one", "two") and "route them through a merge node" in problem.message
    merged = workflow(
        {"a": op("read"), "b": op("read"), "m": ControlNode(control="merge")},
        [data("a.text", "m.in"), data("b.text", "m.in")],
    )
    assert not [p for p in problems(merged) if p.kind == "conflicting_inputs"]


def test_a_condition_on_an_output_the_node_lacks_is_an_error() -> None:
    doc = workflow(
        {"chat": InstrumentNode(uses="chat"), "sink": op("sink")},
        [
            data("inputs.q", "chat.prompt"),
            data("chat.text", "sink.text"),
            ConditionalEdge(source="chat", target="sink", when="confidence > 0.5", id="c"),
        ],
        inputs={"q": PortSpec(type="string")},
    )
    assert only(doc, "bad_condition").message == (
        "Condition of edge 'c' refers to 'confidence', but node 'chat' has no output 'confidence'"
        " (its outputs: score, text)."
    )


def test_a_condition_may_not_look_inside_a_plain_value() -> None:
    doc = workflow(
        {"chat": InstrumentNode(uses="chat"), "sink": op("sink")},
        [
            data("inputs.q", "chat.prompt"),
            data("chat.text", "sink.text"),
            ConditionalEdge(source="chat", target="sink", when="score.value > 1", id="c"),
        ],
        inputs={"q": PortSpec(type="string")},
    )
    assert "looks inside 'score' (score.value), but it is a number" in only(doc, "bad_condition").message


def test_a_condition_that_does_not_parse_is_an_error_with_its_column() -> None:
    doc = workflow({"a": op("read"), "b": op("read")}, [ConditionalEdge(source="a", target="b", when="size >", id="c")])
    assert only(doc, "bad_condition").message.startswith("Condition of edge 'c': ")


def test_control_edges_join_nodes_not_ports() -> None:
    doc = workflow({"a": op("read"), "b": op("read")}, [ControlEdge(source="a.text", target="b", id="c")])
    assert only(doc, "unknown_port").message.startswith("Control edge 'c' connects nodes, not ports")


def test_reserved_and_dotted_node_ids_are_invalid() -> None:
    found = [p.nodes for p in problems(workflow({"inputs": op("read"), "a.b": op("read")})) if p.kind == "invalid_id"]
    assert found == [("a.b",), ("inputs",)]


def test_duplicate_edges_are_reported_once_each() -> None:
    edge = data("read.text", "sink.text")
    doc = workflow({"read": op("read"), "sink": op("sink")}, [edge, edge])
    assert only(doc, "duplicate_edge").edges == ("data:read.text->sink.text",)


def test_bad_control_configuration_is_reported() -> None:
    doc = workflow({"m": ControlNode(control="merge", config={"mode": "some"}), "g": ControlNode(control="gate")})
    messages = sorted(p.message for p in problems(doc) if p.kind == "bad_config")
    assert messages[0].startswith("Gate node 'g' needs config.when")
    assert messages[1].startswith("Merge node 'm' has mode 'some'")


def test_outputs_must_name_an_existing_port() -> None:
    doc = workflow({"read": op("read")}, outputs={"body": "read.body"})
    assert only(doc, "unknown_port").message == (
        "Output 'body' refers to 'read.body', but node 'read' has no output 'body' (its outputs: size, text)."
    )


def test_every_problem_is_reported_at_once() -> None:
    doc = workflow(
        {"parse": op("parse"), "x": op("translate"), "a": op("pair"), "b": op("pair")},
        [data("a.out", "b.left", "ab"), data("b.out", "a.left", "ba"), data("ghost.text", "parse.text", "g")],
    )
    kinds = {p.kind for p in problems(doc)}
    assert {"cycle", "dangling_edge", "unknown_contribution", "missing_input"} <= kinds


def test_oversized_documents_are_rejected_before_any_work() -> None:
    doc = workflow({f"n{i}": op("read") for i in range(5)})
    (problem,) = problems(doc, Limits(max_nodes=4))
    assert problem.kind == "limit"
    assert problem.message.startswith("The workflow has 5 nodes and 0 edges; the limits are 4 nodes and 50000 edges.")


def test_a_validation_over_its_time_budget_stops_with_a_timeout_problem() -> None:
    doc = workflow({f"n{i}": op("read") for i in range(2000)})
    kinds = [p.kind for p in problems(doc, Limits(timeout=0))]
    assert kinds == ["timeout"]


def test_problems_come_in_a_canonical_order_by_stage_then_node() -> None:
    doc = workflow({"z": op("parse"), "a": op("parse")})
    assert [(p.kind, p.nodes) for p in problems(doc)] == [
        ("missing_input", ("a",)),
        ("missing_input", ("z",)),
        ("dead_end", ("a",)),
        ("dead_end", ("z",)),
    ]
