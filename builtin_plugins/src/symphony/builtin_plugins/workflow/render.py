"""Drawing a workflow for people: levels in the terminal, Graphviz DOT, Mermaid.

networkx is used for the analysis here (critical path); it is not on the
validator's hot path.
"""

from __future__ import annotations

import json

import networkx as nx

from symphony.hookspecs import ConditionalEdge, ControlEdge, ControlNode, Workflow

from .edits import edge_key

__all__ = ["critical_path", "to_dot", "to_mermaid", "to_networkx"]


def _label(workflow: Workflow, node_id: str) -> str:
    node = workflow.nodes[node_id]
    what = node.control if type(node) is ControlNode else node.uses  # type: ignore[union-attr]
    return node.metadata.label or f"{node_id}\n{what}"


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


def to_dot(workflow: Workflow) -> str:
    lines = [f"digraph {_quote(workflow.id)} {{", "  rankdir=LR;", "  node [shape=box, style=rounded];"]
    for node_id, node in workflow.nodes.items():
        shape = ", shape=diamond" if type(node) is ControlNode else ""
        colour = f", color={_quote(node.metadata.colour)}" if node.metadata.colour else ""
        lines.append(f"  {_quote(node_id)} [label={_quote(_label(workflow, node_id))}{shape}{colour}];")
    for edge in workflow.edges:
        source, target = edge.source.partition(".")[0], edge.target.partition(".")[0]
        if source not in workflow.nodes or target not in workflow.nodes:
            continue  # workflow inputs and dangling ends are not drawn (as in Mermaid)
        if type(edge) is ConditionalEdge:
            style = f"style=dashed, label={_quote(edge.when)}"
        elif type(edge) is ControlEdge:
            style = "style=dotted"
        else:
            style = f"label={_quote(edge.source.partition('.')[2] + ' -> ' + edge.target.partition('.')[2])}"
        lines.append(f"  {_quote(source)} -> {_quote(target)} [{style}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_mermaid(workflow: Workflow) -> str:
    ids = {node_id: f"n{index}" for index, node_id in enumerate(workflow.nodes)}

    def text(value: str) -> str:
        return value.replace('"', "#quot;").replace("\n", "<br/>")

    lines = ["flowchart LR"]
    for node_id, node in workflow.nodes.items():
        label = text(_label(workflow, node_id))
        lines.append(f'  {ids[node_id]}{{"{label}"}}' if type(node) is ControlNode else f'  {ids[node_id]}["{label}"]')
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
    return "\n".join(lines) + "\n"
