"""Which workflows a ``symphony mcp serve`` offers: the valid ones among the paths given, with their schemas.

A workflow is offered only when it validates against the installed nodes,
permission checks included, so a client is never shown a tool that cannot
run; the others are reported (to stderr) with their first problem.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from symphony.hookspecs import INPUTS_NODE, InstrumentNode, OperatorNode, PortSpec, ValidationReport, Workflow
from symphony.hookspecs.json_schema import json_schema_from_ports

from ..workflow.catalogue import Catalogue
from ..workflow.formats import WorkflowFormatError, load

__all__ = ["Exposed", "Skipped", "expose"]

_SUFFIXES: Final = (".toml", ".json")


@dataclass(frozen=True)
class Exposed:
    """One workflow offered as the tool ``workflow.id``."""

    path: Path
    workflow: Workflow
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]


@dataclass(frozen=True)
class Skipped:
    """A document that is not offered, and why."""

    path: Path
    reason: str


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


def expose(
    paths: Iterable[Path], catalogue: Catalogue, check: Callable[[Workflow], ValidationReport]
) -> tuple[dict[str, Exposed], list[Skipped]]:
    """The valid workflows under ``paths`` by id, and the documents skipped; a second document with an id is skipped."""
    exposed: dict[str, Exposed] = {}
    skipped: list[Skipped] = []
    for path in _documents(paths):
        try:
            workflow = load(path)
        except (WorkflowFormatError, OSError) as error:
            skipped.append(Skipped(path, f"not a workflow document: {error}"))
            continue
        if workflow.id in exposed:
            skipped.append(
                Skipped(path, f"workflow id {workflow.id!r} is already offered by {exposed[workflow.id].path}")
            )
            continue
        report = check(workflow)
        if not report.valid:
            first = report.errors[0]
            more = f" (and {len(report.errors) - 1} more)" if len(report.errors) > 1 else ""
            skipped.append(Skipped(path, f"invalid: [{first.kind}] {first.message}{more}"))
            continue
        output_schema = json_schema_from_ports(_output_ports(workflow, catalogue))
        exposed[workflow.id] = Exposed(path, workflow, json_schema_from_ports(workflow.inputs), output_schema)
    return exposed, skipped
