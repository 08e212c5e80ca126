"""The scheduler: which nodes are ready, which are skipped, and what each one receives.

A pure state machine over the workflow's graph, with no I/O and no clock, so that
the same decisions are made in a first run, after a resume, and in tests.

Every edge between two nodes (data, control or conditional) is *resolved* once
its source has finished, as either **live** or **dead**:

- dead if its source was skipped, or is a gate that stayed shut, or it is a
  conditional edge whose ``when`` is false on the source's outputs;
- live otherwise (a live data edge delivers ``outputs[port]``).

Edges from the ``inputs`` pseudo-node are live from the start.  Then:

- an ordinary node (instrument, operator, branch, gate) waits until every
  incoming edge is resolved; it runs if all are live and is **skipped** if any
  is dead;
- a **merge** needs every incoming control/conditional edge live, and at least
  one live data edge into ``in``: ``mode = "all"`` waits for every edge and
  receives the live values in the order the edges are written; ``mode =
  "first"`` runs as soon as one live value is there (the first to arrive).  If
  every data edge is dead, or a control/conditional edge is dead, it is skipped.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from symphony.hookspecs import INPUTS_NODE, ConditionalEdge, ControlNode, DataEdge, Node, Workflow

from ...workflow.conditions import Condition, parse_condition

__all__ = ["Plan", "Scheduler"]

_DATA: Final = 0
_ORDER: Final = 1  # control and conditional edges: they order, they carry no data


@dataclass(slots=True)
class _Out:
    """One edge as its source sees it."""

    target: str
    kind: int
    source_port: str
    target_port: str
    condition: Condition | None
    position: int  # among the target's incoming data edges, for merge "all"


@dataclass(slots=True)
class _NodePlan:
    node: Node
    merge: str | None  # "first" / "all" for a merge node
    incoming_data: int = 0
    incoming_order: int = 0
    outgoing: list[_Out] = field(default_factory=list)
    from_inputs: list[tuple[str, str]] = field(default_factory=list)  # (workflow input, port)


class Plan:
    """A workflow compiled for running: per node, what it waits for and whom it feeds."""

    def __init__(self, workflow: Workflow) -> None:
        self.workflow = workflow
        self.nodes: dict[str, _NodePlan] = {}
        for node_id, node in workflow.nodes.items():
            merge = None
            if isinstance(node, ControlNode) and node.control == "merge":
                merge = str(node.config.get("mode", "first"))
            self.nodes[node_id] = _NodePlan(node=node, merge=merge)
        for edge in workflow.edges:
            source, target = edge.source_node, edge.target_node
            if target not in self.nodes:
                continue
            if isinstance(edge, DataEdge):
                if source == INPUTS_NODE:
                    self.nodes[target].from_inputs.append((edge.source_port, edge.target_port))
                    continue
                plan = self.nodes[target]
                self.nodes[source].outgoing.append(
                    _Out(target, _DATA, edge.source_port, edge.target_port, None, plan.incoming_data)
                )
                plan.incoming_data += 1
            else:
                condition = parse_condition(edge.when) if isinstance(edge, ConditionalEdge) else None
                self.nodes[source].outgoing.append(_Out(target, _ORDER, "", "", condition, 0))
                self.nodes[target].incoming_order += 1

    def fed_by(self, names: Collection[str]) -> set[str]:
        """The nodes that receive one of the workflow inputs ``names`` directly."""
        return {node_id for node_id, p in self.nodes.items() if any(name in names for name, _ in p.from_inputs)}

    def downstream(self, roots: Iterable[str]) -> set[str]:
        """``roots`` and every node reachable from them: what has to run again when they do."""
        found = set(roots)
        work = list(found)
        while work:
            for out in self.nodes[work.pop()].outgoing:
                if out.target not in found:
                    found.add(out.target)
                    work.append(out.target)
        return found


class Scheduler:
    """Tracks one run: feed it finished nodes, it answers which became ready or skipped."""

    def __init__(self, plan: Plan, inputs: Mapping[str, Any]) -> None:
        self.plan = plan
        nodes = plan.nodes
        self._data_left = {node_id: p.incoming_data for node_id, p in nodes.items()}
        self._order_left = {node_id: p.incoming_order for node_id, p in nodes.items()}
        self._dead_data = dict.fromkeys(nodes, 0)
        self._dead_order = dict.fromkeys(nodes, 0)
        self._values: dict[str, dict[str, Any]] = {}
        self._merged: dict[str, list[tuple[int, Any]]] = {}
        self._decided: set[str] = set()
        for node_id, p in nodes.items():
            # Constant inputs (the node's ``with``) first; validation refuses one that is also fed.
            values = {**p.node.with_, **{port: inputs[name] for name, port in p.from_inputs if name in inputs}}
            if p.merge is not None:
                self._merged[node_id] = [(-1, value) for value in values.values()]
            else:
                self._values[node_id] = values

    def start(self) -> tuple[list[str], list[str]]:
        """The nodes ready at the start (no incoming edges between nodes), and none skipped."""
        ready = [node_id for node_id in self.plan.nodes if self._decide(node_id) is True]
        return ready, []

    def inputs_of(self, node_id: str) -> dict[str, Any]:
        """What a ready node receives, port by port (a merge: its ``in``)."""
        merged = self._merged.get(node_id)
        if merged is None:
            return self._values.get(node_id, {})
        mode = self.plan.nodes[node_id].merge
        if mode == "all":
            return {"in": [value for _, value in sorted(merged, key=lambda item: item[0])]}
        return {"in": merged[0][1]} if merged else {}

    def _decide(self, node_id: str) -> bool | None:
        """True: ready now; False: skipped now; None: not yet (or already decided)."""
        if node_id in self._decided:
            return None
        p = self.plan.nodes[node_id]
        data_left, order_left = self._data_left[node_id], self._order_left[node_id]
        if p.merge is None:
            if data_left or order_left:
                return None
            decision = not (self._dead_data[node_id] or self._dead_order[node_id])
        elif self._dead_order[node_id]:
            if order_left:
                return None
            decision = False
        elif p.merge == "first" and not order_left and self._merged[node_id]:
            decision = True
        elif data_left or order_left:
            return None
        else:
            decision = bool(self._merged[node_id]) or p.incoming_data == 0
        self._decided.add(node_id)
        return decision

    def finished(self, node_id: str, outputs: Mapping[str, Any] | None) -> tuple[list[str], list[str]]:
        """``node_id`` succeeded with ``outputs`` (None: skipped, or a shut gate).

        Returns the nodes that became ready and those that became skipped,
        following skips downstream as far as they go.
        """
        ready: list[str] = []
        skipped: list[str] = []
        work: list[tuple[str, Mapping[str, Any] | None]] = [(node_id, outputs)]
        nodes = self.plan.nodes
        while work:
            source, produced = work.pop()
            for out in nodes[source].outgoing:
                target = out.target
                live = produced is not None and (out.condition is None or out.condition.evaluate(produced))
                if out.kind == _DATA:
                    self._data_left[target] -= 1
                    if not live:
                        self._dead_data[target] += 1
                    elif nodes[target].merge is not None:
                        self._merged[target].append((out.position, produced.get(out.source_port)))  # type: ignore[union-attr]
                    else:
                        self._values[target][out.target_port] = produced.get(out.source_port)  # type: ignore[union-attr]
                else:
                    self._order_left[target] -= 1
                    if not live:
                        self._dead_order[target] += 1
                decision = self._decide(target)
                if decision is True:
                    ready.append(target)
                elif decision is False:
                    skipped.append(target)
                    work.append((target, None))
        return ready, skipped
