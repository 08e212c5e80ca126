"""A fluent builder for workflows in Python, as in the seed's example.

::

    workflow = (
        WorkflowBuilder("data-processing")
        .version("1.0.0")
        .input("text", "string")
        .add_operator("find", "regex-extract", {"pattern": "<title>(.*?)</title>"})
        .add_operator("say", "text-template", {"template": "Title: {value}"})
        .connect("inputs.text", "find.text")
        .connect("find.match", "say.values")
        .output("sentence", "say.text")
        .build(catalogue)
    )

``build`` raises WorkflowBuildError listing every problem at once; mistakes
made while building (a node id used twice, a bad version) are collected too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from symphony.hookspecs import (
    SCHEMA_VERSION,
    SEMVER_PATTERN,
    ConditionalEdge,
    ControlEdge,
    ControlNode,
    DataEdge,
    Edge,
    InstrumentNode,
    Node,
    NodeMetadata,
    OperatorNode,
    PortSpec,
    ProblemKind,
    ValidationError,
    Workflow,
    WorkflowMetadata,
    WorkflowProblem,
)

from .catalogue import Catalogue
from .validate import Limits, validate

__all__ = ["WorkflowBuildError", "WorkflowBuilder"]

#: Without a catalogue, build() checks structure only: these need signatures.
_NEEDS_SIGNATURES = frozenset({"unknown_contribution", "missing_input", "type_mismatch", "dead_end"})


class WorkflowBuildError(ValidationError):
    """``build()`` found problems; ``problems`` lists them all."""

    category = "data.validation.build"

    def __init__(self, problems: list[WorkflowProblem]) -> None:
        lines = "\n".join(f"- [{p.kind}] {p.message}" for p in problems)
        super().__init__(f"The workflow has {len(problems)} problem(s):\n{lines}")
        self.problems = problems


class WorkflowBuilder:
    """Collects nodes and edges; see the module docstring."""

    def __init__(self, workflow_id: str, name: str | None = None) -> None:
        self._id, self._name, self._version = workflow_id, name or workflow_id, "0.1.0"
        self._metadata = WorkflowMetadata()
        self._inputs: dict[str, PortSpec] = {}
        self._outputs: dict[str, str] = {}
        self._nodes: dict[str, Node] = {}
        self._edges: list[Edge] = []
        self._problems: list[WorkflowProblem] = []

    def version(self, version: str) -> WorkflowBuilder:
        if not re.match(SEMVER_PATTERN, version):
            self._fail(f"Version {version!r} is not a semantic version; use MAJOR.MINOR.PATCH, e.g. '1.0.0'.")
        self._version = version
        return self

    def describe(self, description: str, *, author: str = "", tags: tuple[str, ...] = ()) -> WorkflowBuilder:
        self._metadata = WorkflowMetadata(description=description, author=author, tags=tags)
        return self

    def input(self, name: str, type: str = "any", *, required: bool = True) -> WorkflowBuilder:
        self._inputs[name] = PortSpec(type=type, required=required)
        return self

    def output(self, name: str, reference: str) -> WorkflowBuilder:
        self._outputs[name] = reference
        return self

    def _add(self, node_id: str, node: Node) -> WorkflowBuilder:
        if node_id in self._nodes:
            self._fail(f"Node id {node_id!r} is used twice; every node needs its own id.", node_id)
        self._nodes[node_id] = node
        return self

    def add_instrument(
        self,
        node_id: str,
        uses: str,
        config: Mapping[str, Any] | None = None,
        *,
        with_: Mapping[str, Any] | None = None,
        **metadata: Any,
    ) -> WorkflowBuilder:
        """``with_`` gives inputs constant values (the document's ``with``)."""
        node = InstrumentNode(
            uses=uses, config=dict(config or {}), with_=dict(with_ or {}), metadata=NodeMetadata(**metadata)
        )
        return self._add(node_id, node)

    def add_operator(
        self,
        node_id: str,
        uses: str,
        config: Mapping[str, Any] | None = None,
        *,
        with_: Mapping[str, Any] | None = None,
        **metadata: Any,
    ) -> WorkflowBuilder:
        """``with_`` gives inputs constant values (the document's ``with``)."""
        node = OperatorNode(
            uses=uses, config=dict(config or {}), with_=dict(with_ or {}), metadata=NodeMetadata(**metadata)
        )
        return self._add(node_id, node)

    def add_control(
        self,
        node_id: str,
        control: Literal["branch", "merge", "gate"],
        config: Mapping[str, Any] | None = None,
        **metadata: Any,
    ) -> WorkflowBuilder:
        return self._add(
            node_id, ControlNode(control=control, config=dict(config or {}), metadata=NodeMetadata(**metadata))
        )

    def connect(
        self,
        source: str,
        target: str,
        *,
        kind: Literal["data", "control", "conditional"] | None = None,
        when: str | None = None,
        edge_id: str = "",
    ) -> WorkflowBuilder:
        """Add an edge: ``conditional`` with ``when``, ``data`` when both ends name ports, else ``control``."""
        if kind is None:
            kind = "conditional" if when is not None else "data" if "." in source and "." in target else "control"
        elif when is not None and kind != "conditional":
            self._fail(f"Edge {source} -> {target}: `when` needs kind='conditional', not {kind!r}.")
        edge: Edge
        if kind == "conditional":
            edge = ConditionalEdge(source=source, target=target, when=when or "", id=edge_id)
        elif kind == "control":
            edge = ControlEdge(source=source, target=target, id=edge_id)
        else:
            edge = DataEdge(source=source, target=target, id=edge_id)
        self._edges.append(edge)
        return self

    def _fail(self, message: str, *nodes: str) -> None:
        kind: ProblemKind = "invalid_id" if nodes else "bad_config"
        self._problems.append(WorkflowProblem(kind=kind, message=message, nodes=nodes))

    def build(self, catalogue: Catalogue | None = None, limits: Limits | None = None) -> Workflow:
        """The workflow, validated against ``catalogue`` (structure only without one).

        Raises WorkflowBuildError with every problem; warnings do not raise.
        """
        workflow = Workflow(
            schema_version=SCHEMA_VERSION,
            id=self._id,
            name=self._name,
            version=self._version,
            metadata=self._metadata,
            inputs=dict(self._inputs),
            outputs=dict(self._outputs),
            nodes=dict(self._nodes),
            edges=tuple(self._edges),
        )
        report = validate(workflow, catalogue or Catalogue(), limits).report()
        errors = [p for p in report.errors if catalogue is not None or p.kind not in _NEEDS_SIGNATURES]
        if self._problems or errors:
            raise WorkflowBuildError([*self._problems, *errors])
        return workflow
