"""Drawing workflows: DOT and Mermaid text, and the critical path."""

from __future__ import annotations

from pathlib import Path
from typing import Final

import networkx as nx

from symphony.builtin_plugins.workflow import load
from symphony.builtin_plugins.workflow.render import critical_path, to_dot, to_mermaid, to_networkx
from symphony.hookspecs import (
    ConditionalEdge,
    ControlEdge,
    ControlNode,
    DataEdge,
    Edge,
    NodeMetadata,
    OperatorNode,
    PortSpec,
)

from .helpers import workflow

TRIAGE: Final = Path(__file__).resolve().parents[2] / "examples" / "triage.toml"

SMALL: Final = workflow(
    {
        "parse": OperatorNode(uses="json-parse", metadata=NodeMetadata(colour="#f00")),
        "check": ControlNode(control="gate", config={"when": "in.ok == true"}, metadata=NodeMetadata(label="OK?")),
        "fill": OperatorNode(uses="text-template"),
    },
    [
        DataEdge(source="inputs.text", target="parse.text"),
        DataEdge(source="parse.value", target="check.in"),
        ConditionalEdge(source="parse", target="fill", when='kind == "a"'),
        ControlEdge(source="check", target="fill"),
    ],
)


def chain(*pairs: tuple[str, str]) -> list[ControlEdge]:
    return [ControlEdge(source=source, target=target) for source, target in pairs]


def test_dot_draws_every_node_and_edge_of_a_small_workflow() -> None:
    assert to_dot(SMALL).splitlines() == [
        'digraph "w" {',
        "  rankdir=LR;",
        "  node [shape=box, style=rounded];",
        '  "parse" [label="parse\\njson-parse", color="#f00"];',
        '  "check" [label="OK?", shape=diamond];',
        '  "fill" [label="fill\\ntext-template"];',
        '  "parse" -> "check" [label="value -> in"];',
        '  "parse" -> "fill" [style=dashed, label="kind == \\"a\\""];',
        '  "check" -> "fill" [style=dotted];',
        "}",
    ]


def test_mermaid_draws_every_node_and_edge_between_nodes_of_a_small_workflow() -> None:
    assert to_mermaid(SMALL).splitlines() == [
        "flowchart LR",
        '  n0["parse<br/>json-parse"]',
        '  n1{"OK?"}',
        '  n2["fill<br/>text-template"]',
        '  n0 -- "value → in" --> n1',
        '  n0 -. "kind == #quot;a#quot;" .-> n2',
        "  n1 -.-> n2",
    ]


def test_both_drawings_end_with_a_newline() -> None:
    assert to_dot(SMALL).endswith("}\n") and to_mermaid(SMALL).endswith("n1 -.-> n2\n")


def test_dot_of_the_triage_example_has_every_node_and_edge() -> None:
    document = load(TRIAGE)
    lines = to_dot(document).splitlines()
    for node_id in document.nodes:
        assert sum(line.startswith(f'  "{node_id}" [label=') for line in lines) == 1, node_id
    drawn = [line for line in lines if " -> " in line and line.startswith('  "') and '"outputs.' not in line]
    drawn = [line for line in drawn if not line.startswith('  "inputs.')]
    between_nodes = [e for e in document.edges if e.source_node in document.nodes and e.target_node in document.nodes]
    assert len(drawn) == len(between_nodes)
    for line, edge in zip(drawn, between_nodes, strict=True):
        assert line.startswith(f'  "{edge.source_node}" -> "{edge.target_node}" ['), line


def test_mermaid_of_the_triage_example_has_every_node_and_every_edge_between_nodes() -> None:
    document = load(TRIAGE)
    lines = to_mermaid(document).splitlines()
    ids = {node_id: f"n{index}" for index, node_id in enumerate(document.nodes)}
    for mermaid_id in ids.values():
        assert sum(line.startswith((f"  {mermaid_id}[", f"  {mermaid_id}{{")) for line in lines) == 1
    between_nodes = [edge for edge in document.edges if edge.source_node in ids and edge.target_node in ids]
    drawn = [line for line in lines if "->" in line and line.startswith("  n") and not line.endswith("o0")]
    assert len(drawn) == len(between_nodes) == 7
    for line, edge in zip(drawn, between_nodes, strict=True):
        source, target = ids[edge.source_node], ids[edge.target_node]
        assert line.startswith(f"  {source} -") and line.endswith(f"> {target}"), line


WITH_ENDS: Final = workflow(
    {
        "parse": OperatorNode(uses="json-parse"),
        "fill": OperatorNode(uses="text-template", with_={"values": {"name": "Ada"}}),
    },
    [DataEdge(source="inputs.text", target="parse.text"), DataEdge(source="inputs.nope", target="parse.text")],
    inputs={"text": PortSpec(type="string")},
    outputs={"value": "parse.value", "greeting": "fill.text", "lost": "ghost.out"},
)


def test_dot_draws_the_workflow_inputs_outputs_and_constants() -> None:
    assert to_dot(WITH_ENDS).splitlines() == [
        'digraph "w" {',
        "  rankdir=LR;",
        "  node [shape=box, style=rounded];",
        '  "parse" [label="parse\\njson-parse"];',
        '  "fill" [label="fill\\ntext-template\\nwith values"];',
        '  "inputs.text" [label="text: string", shape=invhouse];',
        '  "outputs.value" [label="value", shape=house];',
        '  "outputs.greeting" [label="greeting", shape=house];',
        '  "outputs.lost" [label="lost", shape=house];',
        '  "inputs.text" -> "parse" [label="text"];',
        '  "parse" -> "outputs.value" [label="value"];',
        '  "fill" -> "outputs.greeting" [label="text"];',
        "}",
    ]


def test_mermaid_draws_the_workflow_inputs_outputs_and_constants() -> None:
    assert to_mermaid(WITH_ENDS).splitlines() == [
        "flowchart LR",
        '  n0["parse<br/>json-parse"]',
        '  n1["fill<br/>text-template<br/>with values"]',
        '  i0[/"text: string"/]',
        '  o0[\\"value"\\]',
        '  o1[\\"greeting"\\]',
        '  o2[\\"lost"\\]',
        '  i0 -- "text" --> n0',
        '  n0 -- "value" --> o0',
        '  n1 -- "text" --> o1',
    ]


def test_the_networkx_graph_carries_kinds_and_skips_edges_to_non_nodes() -> None:
    graph = to_networkx(SMALL)
    assert {node: graph.nodes[node]["kind"] for node in graph} == {
        "parse": "operator",
        "check": "control",
        "fill": "operator",
    }
    assert sorted((source, target, data["kind"]) for source, target, data in graph.edges(data=True)) == [
        ("check", "fill", "control"),
        ("parse", "check", "data"),
        ("parse", "fill", "conditional"),
    ]


def test_the_critical_path_is_the_longest_chain() -> None:
    pairs = [("a", "b"), ("b", "c"), ("c", "f"), ("a", "d"), ("d", "f"), ("e", "f"), ("f", "g")]
    nodes = {name: OperatorNode(uses="x") for name in "abcdefg"}
    expected: list[str] = nx.dag_longest_path(nx.DiGraph(pairs))
    assert expected == ["a", "b", "c", "f", "g"]
    assert critical_path(workflow(nodes, chain(*pairs))) == expected


def test_parallel_edges_do_not_lengthen_the_critical_path() -> None:
    nodes = {name: OperatorNode(uses="x") for name in "abc"}
    edges: list[Edge] = [
        DataEdge(source="a.out", target="b.in"),
        DataEdge(source="a.other", target="b.more"),
        ControlEdge(source="a", target="b"),
        ControlEdge(source="a", target="c"),
    ]
    assert critical_path(workflow(nodes, edges)) == ["a", "b"]


def test_the_critical_path_of_the_triage_example() -> None:
    assert critical_path(load(TRIAGE)) == ["parse", "route", "escalate", "reply"]


def test_a_cyclic_workflow_has_no_critical_path() -> None:
    nodes = {name: OperatorNode(uses="x") for name in "abc"}
    assert critical_path(workflow(nodes, chain(("a", "b"), ("b", "c"), ("c", "a")))) == []
