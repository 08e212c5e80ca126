"""Drawing a workflow for people: levels in the terminal, Graphviz DOT, Mermaid.

The drawings show what a reader needs to use the workflow: its inputs (with
their types) feeding the nodes, its named outputs, and each node's constant
inputs (``with``).  Given a run's node states (``symphony runs draw``), each
node also says how far it got, coloured by state.  networkx is used for the
analysis here (critical path); it is not on the validator's hot path.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Final

import networkx as nx

from symphony.hookspecs import INPUTS_NODE, ConditionalEdge, ControlEdge, ControlNode, DataEdge, Workflow

from .edits import edge_key

__all__ = ["STATE_COLOURS", "critical_path", "to_dot", "to_mermaid", "to_networkx"]


#: Fill colours of a run's node states (light, so black labels stay readable); a node without one did not run.
STATE_COLOURS: Final = {
    "succeeded": "#c8e6c9",
    "cached": "#dcedc8",
    "failed": "#ffcdd2",
    "cancelled": "#ffe0b2",
    "skipped": "#eeeeee",
    "running": "#bbdefb",
}
_NOT_RUN: Final = "not run"


def _label(workflow: Workflow, node_id: str, states: Mapping[str, str] | None = None) -> str:
    node = workflow.nodes[node_id]
    what = node.control if type(node) is ControlNode else node.uses  # type: ignore[union-attr]
    constants = f"\nwith {', '.join(node.with_)}" if node.with_ else ""
    state = f"\n[{states.get(node_id, _NOT_RUN)}]" if states is not None else ""
    return (node.metadata.label or f"{node_id}\n{what}") + constants + state


def _input_edges(workflow: Workflow) -> list[tuple[str, str, str]]:
    """(workflow input, node, port) for each data edge from a declared input to a node."""
    return [
        (edge.source_port, edge.target_node, edge.target_port)
        for edge in workflow.edges
        if type(edge) is DataEdge
        and edge.source_node == INPUTS_NODE
        and edge.source_port in workflow.inputs
        and edge.target_node in workflow.nodes
    ]


def _ends(workflow: Workflow) -> list[tuple[bool, str, str]]:
    """The workflow's inputs, then its outputs, as drawn: (is an input, name, label)."""
    inputs = [(True, name, f"{name}: {spec.type}") for name, spec in workflow.inputs.items()]
    return inputs + [(False, name, name) for name in workflow.outputs]


def _output_edges(workflow: Workflow) -> list[tuple[str, str, str]]:
    """(node, port, output name) for each named output of an existing node."""
    found = []
    for name, reference in workflow.outputs.items():
        node, _, port = reference.partition(".")
        if node in workflow.nodes:
            found.append((node, port, name))
    return found


def to_networkx(workflow: Workflow) -> nx.MultiDiGraph[str]:
    """The workflow as a MultiDiGraph: node and edge attributes carry kind, ports and condition."""
    graph: nx.MultiDiGraph[str] = nx.MultiDiGraph(id=workflow.id, name=workflow.name)
    for node_id, node in workflow.nodes.items():
        graph.add_node(node_id, kind=node.__struct_config__.tag, label=_label(workflow, node_id))
    for edge in workflow.edges:
        source, target = edge.source.partition(".")[0], edge.target.partition(".")[0]
        if source in workflow.nodes and target in workflow.nodes:
            graph.add_edge(source, target, key=edge_key(edge), kind=edge.__struct_config__.tag, edge=edge)
    return graph


def critical_path(workflow: Workflow) -> list[str]:
    """The longest chain of nodes (every node on it must wait for the one before)."""
    graph: nx.DiGraph[str] = nx.DiGraph(to_networkx(workflow))
    return list(nx.dag_longest_path(graph)) if nx.is_directed_acyclic_graph(graph) else []


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def to_dot(workflow: Workflow, states: Mapping[str, str] | None = None) -> str:
    """Graphviz DOT; with ``states`` (node id to a run's state) each node shows and is filled by its state."""
    lines = [f"digraph {_quote(workflow.id)} {{", "  rankdir=LR;", "  node [shape=box, style=rounded];"]
    for node_id, node in workflow.nodes.items():
        shape = ", shape=diamond" if type(node) is ControlNode else ""
        colour = f", color={_quote(node.metadata.colour)}" if node.metadata.colour else ""
        fill = ""
        if states is not None and states.get(node_id) in STATE_COLOURS:
            fill = f', style="rounded,filled", fillcolor={_quote(STATE_COLOURS[states[node_id]])}'
        label = _quote(_label(workflow, node_id, states))
        lines.append(f"  {_quote(node_id)} [label={label}{shape}{colour}{fill}];")
    for is_input, name, label in _ends(workflow):
        end, shape = (f"{INPUTS_NODE}.{name}", "invhouse") if is_input else (f"outputs.{name}", "house")
        lines.append(f"  {_quote(end)} [label={_quote(label)}, shape={shape}];")
    for name, node_id, port in _input_edges(workflow):
        lines.append(f"  {_quote(f'{INPUTS_NODE}.{name}')} -> {_quote(node_id)} [label={_quote(port)}];")
    for edge in workflow.edges:
        source, target = edge.source.partition(".")[0], edge.target.partition(".")[0]
        if source not in workflow.nodes or target not in workflow.nodes:
            continue  # workflow inputs are drawn above; dangling ends are not drawn (as in Mermaid)
        if type(edge) is ConditionalEdge:
            style = f"style=dashed, label={_quote(edge.when)}"
        elif type(edge) is ControlEdge:
            style = "style=dotted"
        else:
            style = f"label={_quote(edge.source.partition('.')[2] + ' -> ' + edge.target.partition('.')[2])}"
        lines.append(f"  {_quote(source)} -> {_quote(target)} [{style}];")
    for node_id, port, name in _output_edges(workflow):
        lines.append(f"  {_quote(node_id)} -> {_quote(f'outputs.{name}')} [label={_quote(port)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_mermaid(workflow: Workflow, states: Mapping[str, str] | None = None) -> str:
    """A Mermaid flowchart; with ``states`` each node shows its state and gets a class coloured by it."""
    ids = {node_id: f"n{index}" for index, node_id in enumerate(workflow.nodes)}
    inputs = {name: f"i{index}" for index, name in enumerate(workflow.inputs)}
    outputs = {name: f"o{index}" for index, name in enumerate(workflow.outputs)}

    def text(value: str) -> str:
        return value.replace('"', "#quot;").replace("\n", "<br/>")

    lines = ["flowchart LR"]
    for node_id, node in workflow.nodes.items():
        label = text(_label(workflow, node_id, states))
        lines.append(f'  {ids[node_id]}{{"{label}"}}' if type(node) is ControlNode else f'  {ids[node_id]}["{label}"]')
        if states is not None and states.get(node_id) in STATE_COLOURS:
            lines.append(f"  class {ids[node_id]} {states[node_id]}")
    for is_input, name, label in _ends(workflow):
        end, (start, stop) = (inputs[name], "//") if is_input else (outputs[name], "\\\\")
        lines.append(f'  {end}[{start}"{text(label)}"{stop}]')
    for name, node_id, port in _input_edges(workflow):
        lines.append(f'  {inputs[name]} -- "{text(port)}" --> {ids[node_id]}')
    for edge in workflow.edges:
        source, target = ids.get(edge.source.partition(".")[0]), ids.get(edge.target.partition(".")[0])
        if source is None or target is None:
            continue
        if type(edge) is ConditionalEdge:
            lines.append(f'  {source} -. "{text(edge.when)}" .-> {target}')
        elif type(edge) is ControlEdge:
            lines.append(f"  {source} -.-> {target}")
        else:
            ports = text(edge.source.partition(".")[2] + " → " + edge.target.partition(".")[2])
            lines.append(f'  {source} -- "{ports}" --> {target}')
    for node_id, port, name in _output_edges(workflow):
        lines.append(f'  {ids[node_id]} -- "{text(port)}" --> {outputs[name]}')
    if states is not None:
        lines.extend(f"  classDef {state} fill:{colour}" for state, colour in STATE_COLOURS.items())
    return "\n".join(lines) + "\n"
