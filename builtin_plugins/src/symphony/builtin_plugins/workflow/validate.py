"""The validation pipeline of seed M5.2: the entry point and the checks.

:func:`validate` checks a whole workflow and returns a :class:`ValidatedWorkflow`
that keeps what it learnt (indexes, per-node and per-edge problems, levels), so
that :meth:`ValidatedWorkflow.apply` (from :mod:`.edits`) can re-check only what
an edit can affect and still report exactly what a full validation of the
edited workflow would.  The graph algorithms are in :mod:`.graph`.

Problems are kept in buckets by what they depend on:

- per node: ``invalid_id``, ``unknown_contribution``, ``missing_input``,
  ``bad_config``, ``dead_end`` (the node, its signature, the edges touching it);
- per edge: ``dangling_edge``, ``unknown_port``, ``type_mismatch``,
  ``bad_condition`` (the edge and its two end nodes);
- per input port: ``conflicting_inputs``;
- per graph: ``cycle``, ``unreachable`` (from Kahn's levels; while the graph is
  acyclic, edits keep only a topological rank, and levels are recomputed when asked for);
- per document: ``limit``, ``timeout``, ``duplicate_edge``, and bad ``outputs``.

The report lists problems in a canonical order (stage, then nodes, edges,
message), so two validations agree exactly when they found the same things.
"""

from __future__ import annotations

import gc
import itertools
import math
import reprlib
import time
from bisect import insort
from collections import Counter
from collections.abc import Callable, Container, Iterable, Mapping
from itertools import compress, repeat
from operator import is_, ne
from typing import Any, Final, cast, get_args

import msgspec

from symphony.hookspecs import (
    INPUTS_NODE,
    ConditionalEdge,
    ControlEdge,
    ControlNode,
    DataEdge,
    Edge,
    InstrumentNode,
    Node,
    NodeSignature,
    OperatorNode,
    PortSpec,
    ProblemKind,
    ValidationReport,
    Workflow,
    WorkflowProblem,
)

from .bulk import EdgeGraph, EdgeScan, NumberedSignatures, number_signatures, scan_edges
from .catalogue import CONTROL_SIGNATURES, RUN_CONFIG_KEY, Catalogue
from .conditions import ConditionError, parse_condition
from .edits import IncrementalEdits, edge_key
from .graph import kahn_levels, shortest_cycle, strongly_connected
from .interned import INTERNED_FROM, scan_interned
from .limits import Limits
from .problems import ProblemIndex
from .suggest import did_you_mean, known_and_closest
from .types import compatible, has_fields, holds, type_of

__all__ = ["Limits", "ValidatedWorkflow", "validate"]

_STAGE: Final = {kind: index for index, kind in enumerate(get_args(ProblemKind))}
_MERGE_MODES: Final = ("first", "all")
_GLUE: Final = "\x00"
_EDGE_TAGS: Final = {DataEdge: "data", ControlEdge: "control", ConditionalEdge: "conditional"}


def _keys(edges: Iterable[Edge]) -> list[str]:
    """Each edge's key (as ``edge_key``), in bulk."""
    tags = _EDGE_TAGS
    return [edge.id or f"{tags[type(edge)]}:{edge.source}->{edge.target}" for edge in edges]


def _scan(
    edges: tuple[Edge, ...],
    nodes: Mapping[str, Node],
    signatures: Mapping[str, NodeSignature | None],
    numbered: NumberedSignatures | None,
) -> EdgeScan:
    """The interned scan for large workflows (numpy's import and fixed costs do not pay below that), else strings."""
    if len(edges) >= INTERNED_FROM:
        scan = scan_interned(edges, nodes, signatures, compatible, numbered)
        if scan is not None:
            return scan
    return scan_edges(edges, nodes, signatures, compatible)


def _tag(value: Edge | Node) -> str:
    return str(value.__struct_config__.tag)


def _problem(
    kind: ProblemKind, message: str, nodes: Iterable[str] = (), edges: Iterable[str] = (), *, warning: bool = False
) -> WorkflowProblem:
    return WorkflowProblem(
        kind=kind,
        message=message,
        nodes=tuple(nodes),
        edges=tuple(edges),
        severity="warning" if warning else "error",
    )


def _sort_key(problem: WorkflowProblem) -> tuple[int, tuple[str, ...], tuple[str, ...], str]:
    return (_STAGE[problem.kind], problem.nodes, problem.edges, problem.message)


def _check_config(
    node_id: str, node: InstrumentNode | OperatorNode, declared: Mapping[str, PortSpec]
) -> list[WorkflowProblem]:
    """The config keys the contribution declares: none unknown, the required ones there, each of its type."""
    found = []
    where = f"Node {node_id!r} ({node.uses})"
    for key, value in node.config.items():
        if key == RUN_CONFIG_KEY:
            continue
        spec = declared.get(key)
        if spec is None:
            found.append(
                _problem(
                    "bad_config",
                    f"{where} has config.{key}, which it does not read"
                    f"{known_and_closest(key, declared, 'its keys')} See `symphony nodes show {node.uses}`.",
                    (node_id,),
                )
            )
        elif not holds(spec.type, value):
            found.append(
                _problem(
                    "bad_config",
                    f"{where} has config.{key} = {reprlib.repr(value)} ({type_of(value)}), but it expects {spec.type}.",
                    (node_id,),
                )
            )
    for key, spec in declared.items():
        if spec.required and key not in node.config:
            found.append(_problem("bad_config", f"{where} needs config.{key}, a {spec.type}.", (node_id,)))
    return found


def validate(workflow: Workflow, catalogue: Catalogue, limits: Limits | None = None) -> ValidatedWorkflow:
    """Run every stage over ``workflow``; see the module docstring."""
    return ValidatedWorkflow(workflow, catalogue, limits or Limits())


class ValidatedWorkflow(IncrementalEdits):
    """A workflow with everything its validation learnt, kept current through edits."""

    def __init__(self, workflow: Workflow, catalogue: Catalogue, limits: Limits) -> None:
        self.catalogue = catalogue
        self.limits = limits
        self._header = msgspec.structs.replace(workflow, nodes={}, edges=())
        self.nodes: dict[str, Node] = {}
        self._edge_list: tuple[Edge, ...] = ()  # the edges as given, until something needs them by key
        self._edge_map: dict[str, Edge] | None = {}
        self._duplicates: list[Edge] = []
        # Kept by the full pipeline and by edits:
        self._feeders: dict[str, dict[str, None]] = {}  # "node.port" -> keys of its data edges (edits, or crowded)
        self._rank: dict[str, int] | None = {}  # a topological rank (edges go up); None while cyclic
        self._levels: dict[str, int] | None = {}  # Kahn's levels; None until asked for after an edit
        self._problems = ProblemIndex(_sort_key)
        self._node_problems, self._edge_problems = self._problems.nodes, self._problems.edges
        self._port_problems = self._problems.ports
        self._graph_problems: list[WorkflowProblem] = []
        self._document_problems: list[WorkflowProblem] = []
        self._output_problems: list[WorkflowProblem] = []
        self._output_refs: set[str] = {ref.partition(".")[0] for ref in workflow.outputs.values()}
        self._signatures: dict[str, NodeSignature | None] = {}
        # The full pipeline's lean graph (edge lists, sources); replaced on the first edit
        # by the indexes edits need (see prepare_edits), which cost as much again to build.
        self._idle: set[str] = set()  # nodes that no edge leaves
        self._fed: Container[str] = set()  # "node.port" inputs that data edges feed
        self._editing = False
        self._out: dict[str, dict[str, None]] = {}  # node name -> keys of edges leaving it
        self._in: dict[str, dict[str, None]] = {}  # node name -> keys of edges entering it
        self._succ: dict[str, dict[str, int]] = {}  # between existing nodes: node -> successor -> edge count
        self._pred: dict[str, dict[str, int]] = {}
        self.complete = True
        # Building allocates hundreds of thousands of small containers and no cycles;
        # the cyclic collector would rescan them many times over.
        collecting = gc.isenabled()
        gc.disable()
        try:
            self._build(workflow)
        finally:
            if collecting:
                gc.enable()

    # -- the full pipeline ----------------------------------------------------------

    def _build(self, workflow: Workflow) -> None:
        limits = self.limits
        if len(workflow.nodes) > limits.max_nodes or len(workflow.edges) > limits.max_edges:
            self.complete = False
            self.nodes, self._duplicates = dict(workflow.nodes), list(workflow.edges)
            limit = self._over_limits()
            assert limit is not None
            self._document_problems.append(limit)
            return
        budget = math.inf if limits.timeout is None else limits.timeout
        deadline = time.perf_counter() + budget
        self.nodes = dict(workflow.nodes)
        resolve, operators = self._resolve_signature, self.catalogue.operators
        values = list(self.nodes.values())
        if list(map(type, values)).count(OperatorNode) == len(values):  # the common case, at C speed
            uses = [node.uses for node in cast(list[OperatorNode], values)]
            by_use = {use: number for number, use in enumerate(dict.fromkeys(uses))}
            numbered = NumberedSignatures(
                numbers=list(map(by_use.__getitem__, uses)), table=[*map(operators.get, by_use)]
            )
            self._signatures = dict(zip(self.nodes, map(numbered.table.__getitem__, numbered.numbers), strict=True))
        else:
            self._signatures = {
                node_id: operators.get(node.uses) if type(node) is OperatorNode else resolve(node)
                for node_id, node in self.nodes.items()
            }
            numbered = number_signatures(list(self._signatures.values()))
        scans: list[EdgeScan] = []
        stages: list[tuple[str, Callable[[], None]]] = [
            ("edges", lambda: scans.append(self._scan_edges(tuple(workflow.edges), numbered))),
            ("inputs", lambda: self._check_all_ports(scans[0].crowded)),
            ("nodes", lambda: self._check_all_nodes(numbered)),
            ("cycles", lambda: self._level_graph(scans[0].graph)),
            ("outputs", self._check_outputs),
        ]
        for name, stage in stages:
            if time.perf_counter() > deadline:
                self.complete = False
                self._document_problems.append(
                    _problem(
                        "timeout",
                        f"Validation stopped after {budget * 1000:g} ms, before checking {name};"
                        " problems after that point are not reported. Raise the timeout or split the workflow.",
                    )
                )
                return
            stage()

    def _scan_edges(self, edges: tuple[Edge, ...], numbered: NumberedSignatures) -> EdgeScan:
        """Keys and duplicates, the graph's pairs, what feeds each input, and each edge's checks.

        The bulk scan passes the common correct edge; only the others pay for
        ``_check_edge``, which says what is wrong.  Keys are built only when
        two edges could share one (or when something asks for ``edges``).
        """
        signatures, numbering = self._signatures, cast(NumberedSignatures | None, numbered)
        if INPUTS_NODE in signatures:  # a node wrongly named "inputs": let _check_edge sort its edges out
            signatures = {node_id: s for node_id, s in signatures.items() if node_id != INPUTS_NODE}
            numbering = None
        scan = _scan(edges, self.nodes, signatures, numbering)
        self._edge_list, self._edge_map = edges, None
        if scan.keys_may_repeat:
            keys = _keys(edges)
            unique = dict(zip(keys, edges, strict=True))
            if len(unique) < len(keys):
                unique = self._first_of_duplicates(keys, edges)
                edges = tuple(unique.values())
                scan = _scan(edges, self.nodes, signatures, numbering)
            self._edge_list, self._edge_map = edges, unique
        self._idle, self._fed = scan.idle, scan.fed
        check, problems = self._check_edge, self._edge_problems
        for edge in scan.suspects:
            key = edge_key(edge)
            found = check(key)
            if found:
                problems.set(key, found)
        return scan

    @property
    def edges(self) -> dict[str, Edge]:
        """The edges by key (built on first use: a full validation of a correct document needs no keys)."""
        if self._edge_map is None:
            self._edge_map = dict(zip(_keys(self._edge_list), self._edge_list, strict=True))
        return self._edge_map

    def _first_of_duplicates(self, keys: list[str], edges: tuple[Edge, ...]) -> dict[str, Edge]:
        """Keep each key's first edge; report and set aside the copies."""
        unique: dict[str, Edge] = {}
        for key, edge in zip(keys, edges, strict=True):
            if key not in unique:
                unique[key] = edge
                continue
            self._duplicates.append(edge)
            self._document_problems.append(
                _problem(
                    "duplicate_edge",
                    f"Edge {key!r} appears more than once; remove the copy or give it its own id.",
                    (edge.source.partition(".")[0], edge.target.partition(".")[0]),
                    (key,),
                )
            )
        return unique

    def _check_all_ports(self, crowded: set[str]) -> None:
        if not crowded:
            return
        for key, edge in self.edges.items():
            if edge.target in crowded and type(edge) is DataEdge:
                self._feeders.setdefault(edge.target, {})[key] = None
        for target in crowded:
            self._refresh_port(target)

    def _check_all_nodes(self, numbered: NumberedSignatures) -> None:
        """``_check_node`` for each node that could have a problem; the rest, in bulk, have none.

        A node passes in bulk when its id is valid, it is not a control node,
        its signature is known and declares no config, it has no constants,
        its required inputs are fed, and its outputs go somewhere.
        """
        nodes, signatures, fed = self.nodes, self._signatures, self._fed
        simple = [  # per signature: its required inputs; None: check the node
            None
            if known is None or known.config
            else tuple(port for port, spec in known.inputs.items() if spec.required)
            for known in numbered.table
        ]
        names, values = list(nodes), list(nodes.values())
        suspects: set[str] = set()
        if "" in nodes or "." in _GLUE.join(names):
            suspects.update(node_id for node_id in names if not node_id or "." in node_id)
        if INPUTS_NODE in nodes:
            suspects.add(INPUTS_NODE)
        suspects.update(compress(names, [node.with_ for node in values]))
        kinds = list(map(type, values))
        if ControlNode in kinds:
            suspects.update(compress(names, map(is_, kinds, repeat(ControlNode))))
        if any(required != () for required in simple):  # some node has a required input, or needs checking
            requirements = list(map(simple.__getitem__, numbered.numbers))
            for node_id, required in compress(zip(names, requirements, strict=True), map(ne, requirements, repeat(()))):
                if required is None or not all(f"{node_id}.{port}" in fed for port in required):
                    suspects.add(node_id)
        check, problems = self._check_node, self._node_problems
        for node_id in suspects:
            found = check(node_id)
            if found:
                problems.set(node_id, found)
        # A node that passed every other check and whose outputs go nowhere has that one problem;
        # added in id order, they are one run that the report's sort takes as it stands.
        dead_ends = sorted(
            node_id
            for node_id in self._idle - self._output_refs - suspects
            if (signature := signatures[node_id]) is not None and signature.outputs
        )
        problems.fill({node_id: [self._dead_end(node_id)] for node_id in dead_ends})

    # -- node checks ------------------------------------------------------------------

    def _signature(self, node_id: str) -> NodeSignature | None:
        return self._signatures.get(node_id)

    def _resolve_signature(self, node: Node) -> NodeSignature | None:
        if isinstance(node, ControlNode):
            return CONTROL_SIGNATURES[node.control]
        table = self.catalogue.instruments if isinstance(node, InstrumentNode) else self.catalogue.operators
        return table.get(node.uses)

    def _check_node(self, node_id: str) -> list[WorkflowProblem]:
        node = self.nodes[node_id]
        found: list[WorkflowProblem] = []
        if not node_id or "." in node_id or node_id == INPUTS_NODE:
            found.append(
                _problem(
                    "invalid_id",
                    f"Node id {node_id!r} is not allowed: ids must be non-empty, contain no '.', and not be"
                    f" {INPUTS_NODE!r} (reserved for the workflow's inputs). Rename the node.",
                    (node_id,),
                )
            )
        signature = self._signature(node_id)
        if isinstance(node, ControlNode):
            found += self._check_control(node_id, node)
        elif signature is None:
            found.append(self._unknown_contribution(node_id, node))
        if signature is None or found:  # an invalid id cannot be addressed by edges: no port checks
            return found
        if signature.config and not isinstance(node, ControlNode):
            found += _check_config(node_id, node, signature.config)
        constants = node.with_
        if constants:
            found += self._check_constants(node_id, constants, signature)
        for port, spec in signature.inputs.items():
            if spec.required and port not in constants and not self._is_fed(f"{node_id}.{port}"):
                found.append(
                    _problem(
                        "missing_input",
                        f"Required input {port!r} of node {node_id!r} is not connected; add a data edge"
                        f' to "{node_id}.{port}" (from another node or from "{INPUTS_NODE}.<name>"),'
                        f" or give it a constant: with = {{ {port} = ... }}.",
                        (node_id,),
                    )
                )
        if signature.outputs and not self._has_out(node_id) and node_id not in self._output_refs:
            found.append(self._dead_end(node_id))
        return found

    @staticmethod
    def _dead_end(node_id: str) -> WorkflowProblem:
        return WorkflowProblem(
            kind="dead_end",
            message=f"The output of node {node_id!r} goes nowhere: connect it, list it under [outputs],"
            " or remove the node.",
            nodes=(node_id,),
            severity="warning",
        )

    def _check_constants(
        self, node_id: str, constants: Mapping[str, Any], signature: NodeSignature
    ) -> list[WorkflowProblem]:
        """Each ``with`` value names an input, holds its type, and is that input's only value."""
        found = []
        for port, value in constants.items():
            spec = signature.inputs.get(port)
            if spec is None:
                found.append(
                    _problem(
                        "unknown_port",
                        f"Node {node_id!r} gives a constant to input {port!r} (with.{port}), which it does not"
                        f" have{known_and_closest(port, signature.inputs, 'its inputs')}",
                        (node_id,),
                    )
                )
            elif not holds(spec.type, value):
                found.append(
                    _problem(
                        "type_mismatch",
                        f"Node {node_id!r} gives input {port!r} the constant {reprlib.repr(value)}"
                        f" ({type_of(value)}), but it expects {spec.type}. Write a {spec.type} in with.{port},"
                        " or connect the input with a data edge instead.",
                        (node_id,),
                    )
                )
            elif self._is_fed(f"{node_id}.{port}"):
                found.append(
                    _problem(
                        "conflicting_inputs",
                        f'Input "{node_id}.{port}" is given both a constant (with.{port}) and a data edge; an'
                        " input takes one value. Remove the constant or the edge.",
                        (node_id,),
                    )
                )
        return found

    def _unknown_contribution(self, node_id: str, node: InstrumentNode | OperatorNode) -> WorkflowProblem:
        """Says what to install, or which kind the name is of, or the closest known name."""
        kind = _tag(node)
        catalogue = self.catalogue
        same, other, other_kind = (
            (catalogue.instruments, catalogue.operators, "operator")
            if kind == "instrument"
            else (catalogue.operators, catalogue.instruments, "instrument")
        )
        if node.uses in other:
            fix = f' {node.uses!r} is an {other_kind}: write kind = "{other_kind}".'
        elif hint := catalogue.hints.get(node.uses):
            fix = f" Install it with `pip install {hint}`."
        else:
            fix = did_you_mean(node.uses, same)
        return _problem(
            "unknown_contribution",
            f"Node {node_id!r} uses {kind} {node.uses!r}, which no installed plugin or extension provides.{fix}"
            " See `symphony nodes list` for what is installed.",
            (node_id,),
        )

    def _has_out(self, node_id: str) -> bool:
        return bool(self._out.get(node_id)) if self._editing else node_id not in self._idle

    def _is_fed(self, target: str) -> bool:
        return bool(self._feeders.get(target)) if self._editing else target in self._fed

    def _check_control(self, node_id: str, node: ControlNode) -> list[WorkflowProblem]:
        config = node.config
        if node.control == "merge":
            mode = config.get("mode", "first")
            if mode not in _MERGE_MODES:
                return [
                    _problem(
                        "bad_config",
                        f"Merge node {node_id!r} has mode {mode!r}; expected 'first' (the first value to arrive)"
                        " or 'all' (a list of every value).",
                        (node_id,),
                    )
                ]
        elif node.control == "gate":
            condition = config.get("when")
            if not isinstance(condition, str):
                return [
                    _problem(
                        "bad_config",
                        f"Gate node {node_id!r} needs config.when, a condition on its input `in`"
                        ' (e.g. when = "in.approved == true").',
                        (node_id,),
                    )
                ]
            try:
                parsed = parse_condition(condition)
            except ConditionError as error:
                return [_problem("bad_config", f"Gate node {node_id!r}: {error}", (node_id,))]
            strangers = sorted(".".join(path) for path in parsed.paths if path[0] != "in")
            if strangers:
                return [
                    _problem(
                        "bad_config",
                        f"Gate node {node_id!r} refers to {', '.join(strangers)}; a gate sees only its input `in`.",
                        (node_id,),
                    )
                ]
        return []

    # -- edge checks ------------------------------------------------------------------

    def _check_edge(self, key: str) -> list[WorkflowProblem]:
        edge = self.edges[key]
        source, _, source_port = edge.source.partition(".")
        target, _, target_port = edge.target.partition(".")
        nodes = self.nodes
        ends = (source, target)
        if type(edge) is not DataEdge:
            return self._check_flow_edge(key, edge, ends, source_port or target_port)
        if not source_port or not target_port:
            return [
                _problem(
                    "unknown_port",
                    f'Data edge {key!r} must name ports on both ends: from = "node.port", to = "node.port".',
                    ends,
                    (key,),
                )
            ]
        found: list[WorkflowProblem] = []
        source_type: str | None = None
        if source == INPUTS_NODE:
            declared = self._header.inputs.get(source_port)
            if declared is None:
                listed = known_and_closest(source_port, self._header.inputs, "declared", "none are declared")
                found.append(
                    _problem(
                        "unknown_port",
                        f"Edge {key!r} reads workflow input {source_port!r}, which [inputs] does not declare{listed}",
                        ends,
                        (key,),
                    )
                )
            else:
                source_type = declared.type
        elif source not in nodes:
            found.append(self._dangling(key, source, "from", ends))
        if target not in nodes:
            found.append(self._dangling(key, target, "to", ends))
            return found
        if source in nodes:
            outputs = self._signature(source)
            if outputs is not None:
                spec = outputs.outputs.get(source_port)
                if spec is None:
                    found.append(self._unknown_port(key, source, source_port, "output", outputs.outputs, ends=ends))
                else:
                    source_type = spec.type
        inputs = self._signature(target)
        if inputs is not None:
            spec = inputs.inputs.get(target_port)
            if spec is None:
                found.append(self._unknown_port(key, target, target_port, "input", inputs.inputs, ends=ends))
            elif source_type is not None and not compatible(source_type, spec.type):
                found.append(
                    _problem(
                        "type_mismatch",
                        f"Edge {key!r} connects {edge.source} ({source_type}) to {edge.target} ({spec.type});"
                        f" a {source_type} cannot be used as a {spec.type}. Insert a converting operator or"
                        " connect a compatible port.",
                        ends,
                        (key,),
                    )
                )
        return found

    def _check_flow_edge(self, key: str, edge: Edge, ends: tuple[str, str], has_port: str) -> list[WorkflowProblem]:
        kind = _tag(edge)
        if has_port:
            return [
                _problem(
                    "unknown_port",
                    f"{kind.capitalize()} edge {key!r} connects nodes, not ports: write"
                    f' from = "{ends[0]}", to = "{ends[1]}" (use a data edge to carry values).',
                    ends,
                    (key,),
                )
            ]
        found = [
            self._dangling(key, name, side, ends)
            for name, side in zip(ends, ("from", "to"), strict=True)
            if name not in self.nodes
        ]
        if found or type(edge) is not ConditionalEdge:
            return found
        return self._check_condition(key, edge, ends)

    def _check_condition(self, key: str, edge: ConditionalEdge, ends: tuple[str, str]) -> list[WorkflowProblem]:
        try:
            condition = parse_condition(edge.when)
        except ConditionError as error:
            return [_problem("bad_condition", f"Condition of edge {key!r}: {error}", ends, (key,))]
        signature = self._signature(ends[0])
        if signature is None:
            return []
        found = []
        for path in sorted(condition.paths):
            spec = signature.outputs.get(path[0])
            name = ".".join(path)
            if spec is None:
                found.append(
                    _problem(
                        "bad_condition",
                        f"Condition of edge {key!r} refers to {name!r}, but node {ends[0]!r} has no output"
                        f" {path[0]!r}{known_and_closest(path[0], signature.outputs, 'its outputs')}",
                        ends,
                        (key,),
                    )
                )
            elif len(path) > 1 and not has_fields(spec.type):
                found.append(
                    _problem(
                        "bad_condition",
                        f"Condition of edge {key!r} looks inside {path[0]!r} ({name}), but it is a {spec.type},"
                        " which has no fields; compare the value itself.",
                        ends,
                        (key,),
                    )
                )
        return found

    @staticmethod
    def _dangling(key: str, name: str, side: str, ends: tuple[str, str]) -> WorkflowProblem:
        return _problem(
            "dangling_edge",
            f"Edge {key!r} goes {side} {name!r}, which is not a node of this workflow; add the node or fix the name.",
            ends,
            (key,),
        )

    @staticmethod
    def _unknown_port(
        key: str, node: str, port: str, direction: str, ports: dict[str, Any], *, ends: tuple[str, str]
    ) -> WorkflowProblem:
        return _problem(
            "unknown_port",
            f"Edge {key!r} uses {direction} {port!r} of node {node!r}, which has no such {direction}"
            f"{known_and_closest(port, ports, f'its {direction}s')}",
            ends,
            (key,),
        )

    # -- port and document checks -----------------------------------------------------

    def _refresh_port(self, target: str) -> None:
        """``target`` is an input, ``"node.port"``."""
        keys = list(self._feeders.get(target, ()))
        node_id = target.partition(".")[0]
        node = self.nodes.get(node_id)
        merging = isinstance(node, ControlNode) and node.control == "merge"
        if len(keys) > 1 and not merging:
            keys = sorted(keys)
            listed = ", ".join(keys)
            self._port_problems.set(
                target,
                [
                    _problem(
                        "conflicting_inputs",
                        f'Input "{target}" is fed by {len(keys)} edges ({listed}); an input takes one'
                        " value. Keep one edge, or route them through a merge node.",
                        (node_id,),
                        tuple(keys),
                    )
                ],
            )
        else:
            self._port_problems.drop(target)

    def _check_outputs(self) -> None:
        found = []
        for name, reference in self._header.outputs.items():
            node, _, port = reference.partition(".")
            signature = self._signature(node)
            if node not in self.nodes or not port:
                found.append(
                    _problem(
                        "unknown_port",
                        f"Output {name!r} refers to {reference!r}; expected"
                        ' "node.port" naming a node of this workflow.',
                        (node,),
                    )
                )
            elif signature is not None and port not in signature.outputs:
                found.append(self._output_problem(name, reference, node, port, signature))
        self._output_problems = found

    @staticmethod
    def _output_problem(name: str, reference: str, node: str, port: str, signature: NodeSignature) -> WorkflowProblem:
        return _problem(
            "unknown_port",
            f"Output {name!r} refers to {reference!r}, but node {node!r} has no output {port!r}"
            f"{known_and_closest(port, signature.outputs, 'its outputs')}",
            (node,),
        )

    # -- the graph: levels and cycles ---------------------------------------------------

    def _level_graph(self, graph: EdgeGraph) -> None:
        """Levels from the edges' index pairs (in compiled code); the Python path explains a cycle."""
        names = list(self.nodes)
        level = graph.levels(names)
        if level is not None:
            self._rank = self._levels = level
            self._graph_problems = []
            return
        successors: dict[str, list[str]] = {name: [] for name in names}
        pairs = graph.pairs()
        for source, target in pairs:
            successors[names[source]].append(names[target])
        indegree = dict.fromkeys(names, 0)
        indegree.update(Counter(names[target] for _, target in pairs))
        self._compute_graph(successors, indegree)

    def _compute_graph(self, succ: Mapping[str, Iterable[str]], indegree: Mapping[str, int]) -> None:
        """Kahn's levels; on leftovers, report each cycle and what waits on it.

        ``succ`` may list a successor once per edge if ``indegree`` counts the same way.
        """
        level = kahn_levels(succ, indegree)
        if len(level) == len(indegree):
            # Shared until an edit moves a rank; each edit drops _levels first.
            self._rank = self._levels = level
            self._graph_problems = []
            return
        self._rank = self._levels = None
        self._graph_problems = self._cycle_problems({node for node in indegree if node not in level}, succ)

    def _cycle_problems(self, stuck: set[str], succ: Mapping[str, Iterable[str]]) -> list[WorkflowProblem]:
        found = []
        on_cycles: set[str] = set()
        for component in strongly_connected(stuck, succ):
            if len(component) == 1:
                (only,) = component
                if only not in succ[only]:
                    continue
            path = shortest_cycle(min(component), component, succ)
            on_cycles.update(component)
            pairs = list(itertools.pairwise(path))
            found.append(
                _problem(
                    "cycle",
                    f"Cycle: {' -> '.join(path)}. A workflow must be acyclic; remove or reverse one of these edges.",
                    path[:-1],
                    [self._edge_between(a, b) for a, b in pairs],
                )
            )
        for node in sorted(stuck - on_cycles):
            found.append(
                _problem(
                    "unreachable",
                    f"Node {node!r} can never run: it depends on nodes caught in a cycle. Break the cycle first.",
                    (node,),
                )
            )
        return found

    def _edge_between(self, source: str, target: str) -> str:
        """The first (by key) edge from ``source`` to ``target``; only cycles need it, so a scan will do."""
        return min(
            key
            for key, edge in self.edges.items()
            if edge.source.partition(".")[0] == source and edge.target.partition(".")[0] == target
        )

    # -- reading the result --------------------------------------------------------------

    @property
    def editable(self) -> bool:
        """Whether edits can be applied: fully validated, and no duplicate edges to disambiguate."""
        return self.complete and not self._duplicates

    def _over_limits(self) -> WorkflowProblem | None:
        limits, nodes, edges = self.limits, len(self.nodes), len(self.edges) + len(self._duplicates)
        if nodes <= limits.max_nodes and edges <= limits.max_edges:
            return None
        return _problem(
            "limit",
            f"The workflow has {nodes} nodes and {edges} edges; the limits are"
            f" {limits.max_nodes} nodes and {limits.max_edges} edges. Split it into smaller workflows, or"
            " raise the limits in the [components.workflow] options.",
        )

    @property
    def problems(self) -> list[WorkflowProblem]:
        if self._editing and (limit := self._over_limits()) is not None:
            return [limit]  # as a full validation of the edited document would say
        found = list(self._problems.sorted())
        extra = [*self._document_problems, *self._output_problems, *self._graph_problems]
        if self.catalogue.checks:
            workflow = self.workflow
            for check in self.catalogue.checks:
                extra += check(workflow)
        for problem in extra:
            insort(found, problem, key=_sort_key)
        return found

    def levels(self) -> tuple[tuple[str, ...], ...]:
        """Execution levels (sorted by id within each), or ``()`` when the graph has a cycle."""
        if self._rank is None or not self.complete:
            return ()
        if self._levels is None:
            self._levels = kahn_levels(self._succ, {node: len(preds) for node, preds in self._pred.items()})
        grouped: dict[int, list[str]] = {}
        for node, depth in self._levels.items():
            grouped.setdefault(depth, []).append(node)
        return tuple(tuple(sorted(grouped[depth])) for depth in range(len(grouped)))

    def order(self) -> tuple[str, ...]:
        """A topological order: the levels, one after another."""
        return tuple(node for level in self.levels() for node in level)

    def report(self, *, with_order: bool = False) -> ValidationReport:
        if not with_order:
            return ValidationReport(problems=tuple(self.problems))
        levels = self.levels()
        return ValidationReport(
            problems=tuple(self.problems), levels=levels, order=tuple(n for level in levels for n in level)
        )

    @property
    def workflow(self) -> Workflow:
        """The workflow as it stands after every edit (built on access)."""
        edges = self._edge_list if self._edge_map is None else tuple(self._edge_map.values())
        return msgspec.structs.replace(self._header, nodes=dict(self.nodes), edges=(*edges, *self._duplicates))
