"""Which workflows a ``symphony mcp serve`` offers: the valid ones among the paths given, with their schemas.

A workflow is offered only when it validates against the installed nodes,
permission checks included, so a client is never shown a tool that cannot
run; the others are reported (to stderr) with their first problem.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from symphony.hookspecs import (
    INPUTS_NODE,
    SCHEMA_VERSION,
    DataEdge,
    InstrumentNode,
    NodeSignature,
    OperatorNode,
    PortSpec,
    ValidationReport,
    Workflow,
    WorkflowMetadata,
)
from symphony.hookspecs.json_schema import json_schema_from_ports

from ..workflow.catalogue import Catalogue
from ..workflow.formats import WorkflowFormatError, load

__all__ = ["NODE_PREFIX", "Exposed", "Skipped", "expose", "node_workflow"]

_SUFFIXES: Final = (".toml", ".json")
#: Tools made of one node are named ``node.<contribution>``.
NODE_PREFIX: Final = "node."


@dataclass(frozen=True)
class Exposed:
    """One workflow offered as the tool ``workflow.id``; ``source`` says where it comes from."""

    source: str
    workflow: Workflow
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]


@dataclass(frozen=True)
class Skipped:
    """A document (or node) that is not offered, and why."""

    source: str
    reason: str
    #: Named with --node (rather than found under a path).
    node: bool = False


def _documents(paths: Iterable[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.suffix in _SUFFIXES and p.is_file()))
        else:
            found.append(path)
    return found


def _node_output(workflow: Workflow, catalogue: Catalogue, node_id: str, port: str) -> PortSpec | None:
    node = workflow.nodes.get(node_id)
    if not isinstance(node, InstrumentNode | OperatorNode):
        return None  # a control node passes on whatever it is given
    signatures = catalogue.instruments if isinstance(node, InstrumentNode) else catalogue.operators
    signature = signatures.get(node.uses)
    return signature.outputs.get(port) if signature is not None else None


def _output_ports(workflow: Workflow, catalogue: Catalogue) -> dict[str, PortSpec]:
    """Each named output typed by the port it reads (``json`` when the node's signature is not known)."""
    ports: dict[str, PortSpec] = {}
    for name, source in workflow.outputs.items():
        node_id, _, port = source.partition(".")
        spec = workflow.inputs.get(port) if node_id == INPUTS_NODE else _node_output(workflow, catalogue, node_id, port)
        port_type = "json" if spec is None else spec.type
        # An output may be absent when its branch was skipped: never required.
        ports[name] = PortSpec(type=port_type, required=False, description=spec.description if spec else "")
    return ports


def node_workflow(kind: str, name: str, signature: NodeSignature) -> Workflow:
    """A workflow of the one node ``name``: its inputs are the workflow's, its outputs the workflow's."""
    node: InstrumentNode | OperatorNode = InstrumentNode(uses=name) if kind == "instrument" else OperatorNode(uses=name)
    return Workflow(
        schema_version=SCHEMA_VERSION,
        id=f"{NODE_PREFIX}{name}",
        name=f"The {kind} {name}",
        metadata=WorkflowMetadata(description=f"Runs the {kind} {name!r} alone, as a workflow of one node."),
        inputs=dict(signature.inputs),
        outputs={port: f"node.{port}" for port in signature.outputs},
        nodes={"node": node},
        edges=tuple(DataEdge(source=f"{INPUTS_NODE}.{port}", target=f"node.{port}") for port in signature.inputs),
    )


def _candidates(
    paths: Iterable[Path], catalogue: Catalogue, nodes: Iterable[str]
) -> Iterator[tuple[str, Workflow | str, bool]]:
    """(where from, the workflow or why there is none, whether a node named it): the documents, then the nodes."""
    for path in _documents(paths):
        try:
            yield str(path), load(path), False
        except (WorkflowFormatError, OSError) as error:
            yield str(path), f"not a workflow document: {error}", False
    for name in nodes:
        for kind, signatures in (("instrument", catalogue.instruments), ("operator", catalogue.operators)):
            if name in signatures:
                yield f"{kind} {name}", node_workflow(kind, name, signatures[name]), True
                break
        else:
            yield f"node {name}", "no instrument or operator of that name is installed ('symphony nodes list')", True


def expose(
    paths: Iterable[Path],
    catalogue: Catalogue,
    check: Callable[[Workflow], ValidationReport],
    *,
    nodes: Iterable[str] = (),
) -> tuple[dict[str, Exposed], list[Skipped]]:
    """The valid workflows under ``paths`` and of ``nodes`` by id, and what was skipped (an id offered already, too)."""
    exposed: dict[str, Exposed] = {}
    skipped: list[Skipped] = []
    for source, workflow, node in _candidates(paths, catalogue, nodes):
        if isinstance(workflow, str):
            skipped.append(Skipped(source, workflow, node))
            continue
        if workflow.id in exposed:
            why = f"id {workflow.id!r} is already offered by {exposed[workflow.id].source}"
            skipped.append(Skipped(source, why, node))
            continue
        report = check(workflow)
        if not report.valid:
            first = report.errors[0]
            more = f" (and {len(report.errors) - 1} more)" if len(report.errors) > 1 else ""
            skipped.append(Skipped(source, f"invalid: [{first.kind}] {first.message}{more}", node))
            continue
        output_schema = json_schema_from_ports(_output_ports(workflow, catalogue))
        exposed[workflow.id] = Exposed(source, workflow, json_schema_from_ports(workflow.inputs), output_schema)
    return exposed, skipped
