"""The workflow model of seed M5.1: nodes, edges, documents, validation reports, edits.

A workflow is a document people write by hand (TOML) and a visual editor
rewrites; the same Structs travel as JSON and MessagePack.  Every document
carries ``schema_version``; nodes are keyed by id; an edge names its ends as
``node`` (control flow) or ``node.port`` (data).  The reserved node id
``inputs`` stands for the workflow's own inputs (``from = "inputs.text"``).

Algorithms (validation, editing, conditions) live with the builtin workflow
plugin; this module is only the contract.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Final, Literal, TypeAlias

import msgspec

from ._base import Base
from ._contributions import PortSpec

__all__ = [
    "INPUTS_NODE",
    "SCHEMA_VERSION",
    "SEMVER_PATTERN",
    "AddNode",
    "ConditionalEdge",
    "Connect",
    "ControlEdge",
    "ControlNode",
    "DataEdge",
    "Disconnect",
    "Edge",
    "Edit",
    "InstrumentNode",
    "Node",
    "NodeMetadata",
    "NodeSignature",
    "OperatorNode",
    "ProblemKind",
    "RemoveNode",
    "UpdateNode",
    "ValidationReport",
    "Workflow",
    "WorkflowMetadata",
    "WorkflowProblem",
]

#: The document schema this SDK reads and writes; newer documents are refused.
SCHEMA_VERSION: Final = 1
#: Node id reserved for the workflow's inputs as the source of data edges.
INPUTS_NODE: Final = "inputs"
#: Semantic versions: MAJOR.MINOR.PATCH with optional pre-release and build parts.
SEMVER_PATTERN: Final = r"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$"


#: What a free-value field (``config``, ``with``, ``extra``) maps its keys to: any value.  ``Any`` to type
#: checkers; ``object`` to msgspec, which does not know it as a type and so hands each such value to a decoder's
#: ``dec_hook`` as it reads it.  The workflow decoder checks them there (their depth, their integers) instead of
#: walking every node of the decoded document for them; a decoder without a hook keeps them as decoded.
if TYPE_CHECKING:
    FreeValue: TypeAlias = Any
else:
    FreeValue = Annotated[object, msgspec.Meta(extra_json_schema={"description": "Any value."})]  # JSON Schema: any


class _Document(Base, frozen=True, omit_defaults=True, gc=False):
    """Document parts: defaults are left out when encoding, so TOML stays as written.

    ``gc=False``: a decoded document is thousands of Structs that can never form a
    reference cycle, and leaving them untracked by the garbage collector makes
    decoding ~30% faster (benchmarks/workflows.py).  A value put in ``config`` that
    refers back to its own node would never be collected.
    """


class NodeMetadata(_Document, frozen=True, kw_only=True):
    """What a visual editor keeps about a node; round-trips untouched.

    ``extra`` holds anything else an editor wants to keep.
    """

    position: tuple[float, float] | None = None
    label: str | None = None
    colour: str | None = None
    notes: str | None = None
    extra: dict[str, FreeValue] = msgspec.field(default_factory=dict)


class _Node(_Document, frozen=True, kw_only=True, tag_field="kind"):
    config: dict[str, FreeValue] = msgspec.field(default_factory=dict)
    #: Constant inputs, ``with = { text = "hello" }``: input port -> literal value (as in GitHub Actions' ``with``).
    with_: dict[str, FreeValue] = msgspec.field(default_factory=dict, name="with")
    metadata: NodeMetadata = NodeMetadata()


class InstrumentNode(_Node, frozen=True, kw_only=True, tag="instrument"):
    """An AI model call; ``uses`` names an instrument contribution."""

    uses: str


class OperatorNode(_Node, frozen=True, kw_only=True, tag="operator"):
    """A utility step; ``uses`` names an operator contribution."""

    uses: str


class ControlNode(_Node, frozen=True, kw_only=True, tag="control"):
    """Routing without work: ``branch``, ``merge`` or ``gate`` (see docs/workflows.md)."""

    control: Literal["branch", "merge", "gate"]


Node = InstrumentNode | OperatorNode | ControlNode


class _Edge(_Document, frozen=True, kw_only=True, tag_field="kind"):
    source: str = msgspec.field(name="from")
    target: str = msgspec.field(name="to")
    id: str = ""

    @property
    def key(self) -> str:
        """The edge's id, or ``kind:from->to`` when the author gave none."""
        kind = self.__struct_config__.tag
        return self.id or f"{kind}:{self.source}->{self.target}"

    @property
    def source_node(self) -> str:
        return self.source.partition(".")[0]

    @property
    def target_node(self) -> str:
        return self.target.partition(".")[0]


class DataEdge(_Edge, frozen=True, kw_only=True, tag="data"):
    """Carries ``from = "node.port"`` (an output) to ``to = "node.port"`` (an input)."""

    @property
    def source_port(self) -> str:
        return self.source.partition(".")[2]

    @property
    def target_port(self) -> str:
        return self.target.partition(".")[2]


class ControlEdge(_Edge, frozen=True, kw_only=True, tag="control"):
    """Orders two nodes (``from`` runs before ``to``) without carrying data."""


class ConditionalEdge(_Edge, frozen=True, kw_only=True, tag="conditional"):
    """Like a control edge, but taken only when ``when`` holds on ``from``'s outputs.

    ``when`` is the small condition language of docs/workflows.md, e.g.
    ``label == "urgent" and score >= 0.5``; names are the upstream node's
    output ports (with ``.field`` into JSON outputs).  Never evaluated with ``eval``.
    """

    when: str


Edge = DataEdge | ControlEdge | ConditionalEdge


class WorkflowMetadata(_Document, frozen=True, kw_only=True):
    description: str = ""
    author: str = ""
    tags: tuple[str, ...] = ()
    extra: dict[str, FreeValue] = msgspec.field(default_factory=dict)


class Workflow(_Document, frozen=True, kw_only=True):
    """A workflow document (seed M5.1)."""

    schema_version: int
    id: str
    name: str
    version: Annotated[str, msgspec.Meta(pattern=SEMVER_PATTERN)] = "0.1.0"
    metadata: WorkflowMetadata = WorkflowMetadata()
    #: The workflow's own inputs, usable as ``from = "inputs.<name>"``.
    inputs: dict[str, PortSpec] = msgspec.field(default_factory=dict)
    #: Named results: output name -> ``"node.port"``.
    outputs: dict[str, str] = msgspec.field(default_factory=dict)
    nodes: dict[str, Node] = msgspec.field(default_factory=dict)
    edges: tuple[Edge, ...] = ()


class NodeSignature(_Document, frozen=True, kw_only=True):
    """The typed ports of an instrument or operator, as the validator needs them.

    Built from plugins' contributions and extensions' manifests;
    ``provider`` names the plugin or distribution offering it.  ``config``
    holds the config keys it declares; when it declares none, its config is
    not checked.
    """

    inputs: dict[str, PortSpec] = msgspec.field(default_factory=dict)
    outputs: dict[str, PortSpec] = msgspec.field(default_factory=dict)
    provider: str = ""
    config: dict[str, PortSpec] = msgspec.field(default_factory=dict)


#: Problem kinds in the order the validator's stages report them.
ProblemKind = Literal[
    "limit",
    "timeout",
    "invalid_id",
    "duplicate_edge",
    "dangling_edge",
    "unknown_contribution",
    "unknown_port",
    "type_mismatch",
    "conflicting_inputs",
    "missing_input",
    "bad_condition",
    "bad_config",
    "cycle",
    "unreachable",
    "dead_end",
    "permission_denied",
]


class WorkflowProblem(_Document, frozen=True, kw_only=True):
    """One problem: its kind, what it involves, and how to fix it."""

    kind: ProblemKind
    message: str
    nodes: tuple[str, ...] = ()
    edges: tuple[str, ...] = ()
    severity: Literal["error", "warning"] = "error"


class ValidationReport(_Document, frozen=True, kw_only=True):
    """Every problem found, in a canonical order; with ``order`` and ``levels`` when asked for.

    ``levels[i]`` holds the nodes whose longest path from an entry node has
    ``i`` edges (sorted by id); ``order`` is the levels concatenated, a
    topological order.  Both are empty when the graph has a cycle.
    """

    problems: tuple[WorkflowProblem, ...] = ()
    order: tuple[str, ...] = ()
    levels: tuple[tuple[str, ...], ...] = ()

    @property
    def valid(self) -> bool:
        return not any(problem.severity == "error" for problem in self.problems)

    @property
    def errors(self) -> list[WorkflowProblem]:
        return [problem for problem in self.problems if problem.severity == "error"]


class AddNode(_Document, frozen=True, kw_only=True, tag="add_node", tag_field="op"):
    id: str
    node: Node


class RemoveNode(_Document, frozen=True, kw_only=True, tag="remove_node", tag_field="op"):
    """Remove a node and every edge touching it."""

    id: str


class UpdateNode(_Document, frozen=True, kw_only=True, tag="update_node", tag_field="op"):
    """Replace a node's definition (kind, uses, config, with, metadata) keeping its id and edges."""

    id: str
    node: Node


class Connect(_Document, frozen=True, kw_only=True, tag="connect", tag_field="op"):
    edge: Edge


class Disconnect(_Document, frozen=True, kw_only=True, tag="disconnect", tag_field="op"):
    """Remove the edge whose key (id, or ``kind:from->to``) is ``edge``."""

    edge: str


Edit = AddNode | RemoveNode | UpdateNode | Connect | Disconnect
