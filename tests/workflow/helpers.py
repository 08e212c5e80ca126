"""Shared workflow fixtures: a catalogue with typed operators, and a tiny document helper."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from symphony.builtin_plugins.workflow import Catalogue
from symphony.hookspecs import SCHEMA_VERSION, Edge, NodeSignature, PortSpec, Workflow


def ports(**types: str) -> dict[str, PortSpec]:
    """``text="string"`` is required; ``values="object?"`` is optional."""
    return {name: PortSpec(type=kind.rstrip("?"), required=not kind.endswith("?")) for name, kind in types.items()}


CATALOGUE = Catalogue(
    operators={
        "read": NodeSignature(outputs=ports(text="string", size="integer")),
        "parse": NodeSignature(inputs=ports(text="string"), outputs=ports(value="json")),
        "count": NodeSignature(inputs=ports(value="number"), outputs=ports(total="number")),
        "render": NodeSignature(inputs=ports(values="object?", title="string?"), outputs=ports(text="string")),
        "sink": NodeSignature(inputs=ports(text="string")),
        "keep": NodeSignature(inputs=ports(value="json")),
        "pair": NodeSignature(inputs=ports(left="any", right="any"), outputs=ports(out="any")),
    },
    instruments={"chat": NodeSignature(inputs=ports(prompt="string"), outputs=ports(text="string", score="number"))},
    hints={"translate": "symphony-translate"},
)


def workflow(nodes: dict[str, Any], edges: Sequence[Edge] = (), **fields: Any) -> Workflow:
    return Workflow(schema_version=SCHEMA_VERSION, id="w", name="w", nodes=nodes, edges=tuple(edges), **fields)
