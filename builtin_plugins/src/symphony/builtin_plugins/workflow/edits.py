"""Incremental edits of a validated workflow: apply one, re-check only what it can affect.

:class:`IncrementalEdits` is the half of :class:`~.validate.ValidatedWorkflow`
that changes the document: it keeps the indexes an edit needs (edges by end,
successor and predecessor counts), keeps a topological rank while the graph
stays acyclic (raised locally when an edge needs it, left alone when one goes:
a removal cannot break it), and refreshes only the problem buckets an edit
touches.  Exact levels are computed only when asked for, since one removal
near the top of a deep graph can move thousands of them.  The checks
themselves are the validator's; this class reaches them through the abstract
methods below, so that a full validation and an edit always judge alike.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Container, Iterable, Mapping

from symphony.hookspecs import (
    AddNode,
    Connect,
    DataEdge,
    Disconnect,
    Edge,
    Edit,
    Node,
    NodeSignature,
    RemoveNode,
    UpdateNode,
    ValidationError,
    WorkflowProblem,
)

from .graph import raise_levels, reaches
from .problems import Bucket

__all__ = ["EditError", "IncrementalEdits", "edge_key"]


class EditError(ValidationError):
    """An edit that cannot be applied at all (unknown node, existing edge...); nothing changed."""

    category = "data.validation.edit"


def edge_key(edge: Edge) -> str:
    """The edge's id, or ``kind:from->to`` when the author gave none; edits name edges by it."""
    return edge.id or f"{edge.__struct_config__.tag}:{edge.source}->{edge.target}"


class IncrementalEdits(ABC):
    """Edits of a validated workflow, each re-checked as a full validation would check it."""

    nodes: dict[str, Node]
    complete: bool
    _duplicates: list[Edge]
    _signatures: dict[str, NodeSignature | None]
    _rank: dict[str, int] | None
    _levels: dict[str, int] | None
    _feeders: dict[str, dict[str, None]]
    _idle: set[str]
    _fed: Container[str]
    _editing: bool
    _out: dict[str, dict[str, None]]
    _in: dict[str, dict[str, None]]
    _succ: dict[str, dict[str, int]]
    _pred: dict[str, dict[str, int]]
    _node_problems: Bucket
    _edge_problems: Bucket
    _output_refs: set[str]
    _output_problems: list[WorkflowProblem]

    # -- the validator's checks, which edits re-run -----------------------------------

    @property
    @abstractmethod
    def edges(self) -> dict[str, Edge]:
        """The edges by key."""

    @abstractmethod
    def _resolve_signature(self, node: Node) -> NodeSignature | None: ...

    @abstractmethod
    def _check_node(self, node_id: str) -> list[WorkflowProblem]: ...

    @abstractmethod
    def _check_edge(self, key: str) -> list[WorkflowProblem]: ...

    @abstractmethod
    def _refresh_port(self, target: str) -> None: ...

    @abstractmethod
    def _check_outputs(self) -> None: ...

    @abstractmethod
    def _compute_graph(self, succ: Mapping[str, Iterable[str]], indegree: Mapping[str, int]) -> None: ...

    # -- edits ----------------------------------------------------------------------------

    def apply(self, edit: Edit) -> list[Edit]:
        """Apply ``edit``, re-checking only what it can affect; return the edits that undo it.

        Raises EditError, changing nothing, for an edit that cannot apply.
        """
        if not self.complete:
            raise EditError("This workflow was not fully validated (limit or timeout); edit the document instead.")
        self.prepare_edits()
        if type(edit) is Connect:
            return self._connect(edit.edge)
        if type(edit) is Disconnect:
            return self._disconnect(edit.edge)
        if type(edit) is AddNode:
            return self._add_node(edit.id, edit.node)
        if type(edit) is RemoveNode:
            return self._remove_node(edit.id)
        assert type(edit) is UpdateNode
        return self._update_node(edit.id, edit.node)

    def prepare_edits(self) -> None:
        """Build, once, the indexes edits need: edges by end, successor and predecessor counts.

        ``apply`` calls it; an editor calls it when it opens a document, so that
        the first drag does not pay for it.
        """
        if self._editing:
            return
        if self._duplicates:
            keys = ", ".join(sorted({edge_key(edge) for edge in self._duplicates}))
            raise EditError(f"The document has duplicate edges ({keys}); remove the copies before editing it.")
        nodes = self.nodes
        out_index: dict[str, dict[str, None]] = {node_id: {} for node_id in nodes}
        in_index: dict[str, dict[str, None]] = {node_id: {} for node_id in nodes}
        succ: dict[str, dict[str, int]] = {node_id: {} for node_id in nodes}
        pred: dict[str, dict[str, int]] = {node_id: {} for node_id in nodes}
        feeders: dict[str, dict[str, None]] = {}
        for key, edge in self.edges.items():
            source, target = edge.source.partition(".")[0], edge.target.partition(".")[0]
            if type(edge) is DataEdge and "." in edge.target:
                feeders.setdefault(edge.target, {})[key] = None
            out_index.setdefault(source, {})[key] = None
            in_index.setdefault(target, {})[key] = None
            if source in nodes and target in nodes:
                counts, back = succ[source], pred[target]
                counts[target] = counts.get(target, 0) + 1
                back[source] = back.get(source, 0) + 1
        self._out, self._in, self._succ, self._pred = out_index, in_index, succ, pred
        self._feeders, self._idle, self._fed = feeders, set(), set()
        self._editing = True

    def _refresh_nodes(self, node_ids: Iterable[str]) -> None:
        for node_id in node_ids:
            self._node_problems.set(node_id, self._check_node(node_id) if node_id in self.nodes else [])

    def _refresh_edges(self, keys: Iterable[str]) -> None:
        for key in keys:
            self._edge_problems.set(key, self._check_edge(key) if key in self.edges else [])

    def _connect(self, edge: Edge) -> list[Edit]:
        key = edge_key(edge)
        if key in self.edges:
            raise EditError(f"Edge {key!r} already exists; disconnect it first or give the new edge its own id.")
        self.edges[key] = edge
        source = edge.source.partition(".")[0]
        target, _, port = edge.target.partition(".")
        self._out.setdefault(source, {})[key] = None
        self._in.setdefault(target, {})[key] = None
        if type(edge) is DataEdge and port:
            self._feeders.setdefault(edge.target, {})[key] = None
            self._refresh_port(edge.target)
        self._refresh_edges((key,))
        self._refresh_nodes((source, target))
        if source in self.nodes and target in self.nodes:
            self._link(source, target)
        return [Disconnect(edge=key)]

    def _disconnect(self, key: str) -> list[Edit]:
        edge = self.edges.pop(key, None)
        if edge is None:
            raise EditError(f"There is no edge {key!r} to disconnect.")
        source = edge.source.partition(".")[0]
        target, _, port = edge.target.partition(".")
        del self._out[source][key], self._in[target][key]
        if type(edge) is DataEdge and port:
            feeders = self._feeders[edge.target]
            del feeders[key]
            if not feeders:
                del self._feeders[edge.target]
            self._refresh_port(edge.target)
        self._edge_problems.drop(key)
        self._refresh_nodes((source, target))
        if source in self.nodes and target in self.nodes:
            self._unlink(source, target)
        return [Connect(edge=edge)]

    def _add_node(self, node_id: str, node: Node) -> list[Edit]:
        if node_id in self.nodes:
            raise EditError(f"Node {node_id!r} already exists; update it or choose another id.")
        self.nodes[node_id] = node
        self._signatures[node_id] = self._resolve_signature(node)
        self._succ[node_id], self._pred[node_id] = {}, {}
        self._levels = None
        if self._rank is not None:
            self._rank[node_id] = 0
        touching = [*self._out.get(node_id, {}), *self._in.get(node_id, {})]
        self._refresh_edges(touching)
        self._refresh_nodes((node_id,))
        for port in self._input_ports(node_id):
            self._refresh_port(port)
        for key in dict.fromkeys(touching):  # edges that were dangling and now reach this node
            edge = self.edges[key]
            source, target = edge.source.partition(".")[0], edge.target.partition(".")[0]
            if source in self.nodes and target in self.nodes:
                self._link(source, target)
        self._after_node_change(node_id)
        # Removing the node removes the edges that were waiting for it: put them back.
        return [RemoveNode(id=node_id), *(Connect(edge=self.edges[key]) for key in dict.fromkeys(touching))]

    def _remove_node(self, node_id: str) -> list[Edit]:
        node = self.nodes.get(node_id)
        if node is None:
            raise EditError(f"There is no node {node_id!r} to remove.")
        touching = list(dict.fromkeys([*self._out.get(node_id, {}), *self._in.get(node_id, {})]))
        restore = [self.edges[key] for key in touching]
        for key in touching:
            self._disconnect(key)
        del self.nodes[node_id], self._succ[node_id], self._pred[node_id], self._signatures[node_id]
        self._levels = None
        if self._rank is not None:
            del self._rank[node_id]
        self._node_problems.drop(node_id)
        self._after_node_change(node_id)
        return [AddNode(id=node_id, node=node), *(Connect(edge=edge) for edge in restore)]

    def _update_node(self, node_id: str, node: Node) -> list[Edit]:
        previous = self.nodes.get(node_id)
        if previous is None:
            raise EditError(f"There is no node {node_id!r} to update; add it first.")
        self.nodes[node_id] = node
        self._signatures[node_id] = self._resolve_signature(node)
        touching = [*self._out.get(node_id, {}), *self._in.get(node_id, {})]
        self._refresh_edges(touching)
        self._refresh_nodes((node_id,))
        for port in self._input_ports(node_id):
            self._refresh_port(port)
        self._after_node_change(node_id)
        return [UpdateNode(id=node_id, node=previous)]

    def _input_ports(self, node_id: str) -> set[str]:
        """The ``"node.port"`` inputs that data edges feed, found from the node's incoming edges."""
        edges = self.edges
        return {
            edges[key].target
            for key in self._in.get(node_id, {})
            if type(edges[key]) is DataEdge and "." in edges[key].target
        }

    def _after_node_change(self, node_id: str) -> None:
        if node_id in self._output_refs or self._output_problems:
            self._check_outputs()

    def _link(self, source: str, target: str) -> None:
        self._levels = None
        counts = self._succ[source]
        counts[target] = counts.get(target, 0) + 1
        back = self._pred[target]
        back[source] = back.get(source, 0) + 1
        if counts[target] > 1:  # a parallel edge changes no order, but may change which edge a cycle names
            if self._rank is None:
                self._recompute_graph()
            return
        rank = self._rank
        if rank is None or source == target or reaches(rank, self._succ, target, source):
            self._recompute_graph()
            return
        raise_levels(rank, self._succ, target, rank[source] + 1)

    def _unlink(self, source: str, target: str) -> None:
        self._levels = None
        counts = self._succ[source]
        counts[target] -= 1
        self._pred[target][source] -= 1
        if counts[target]:
            if self._rank is None:
                self._recompute_graph()
            return
        del counts[target], self._pred[target][source]
        if self._rank is None:  # the edge may have closed the last cycle
            self._recompute_graph()

    def _recompute_graph(self) -> None:
        """After an edit the local repair cannot handle (a cycle appears or may go)."""
        self._compute_graph(self._succ, {node: len(preds) for node, preds in self._pred.items()})
