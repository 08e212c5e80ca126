"""Whole-list passes for a full validation: edge ends split in bulk, the graph levelled in compiled code.

At 50,000 edges every per-edge Python step costs milliseconds, so the full
validation works on lists: each end string is split once, with C-level string
operations when every end has the usual shape, and the graph is built and
levelled by rustworkx (a Rust graph library) from integer pairs.  Edits keep
their own Python indexes (see :mod:`.edits`); these helpers serve the full pass.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Container, Mapping, Sequence
from itertools import compress, repeat
from operator import attrgetter, contains, is_, is_not
from typing import Protocol, cast

from symphony.hookspecs import ControlEdge, DataEdge, Edge, NodeSignature

__all__ = [
    "EdgeGraph",
    "EdgeScan",
    "NumberedSignatures",
    "PairGraph",
    "kahn_levels_of",
    "number_signatures",
    "scan_edges",
    "split_ends",
]

_GLUE = "\x00"


def split_ends(ends: Sequence[str]) -> tuple[list[str], list[str], bool]:
    """Each ``"node.port"`` as its node and its port, split at the first ``.`` (as ``str.partition``).

    The flag says whether every end held a ``.``.  When none does (control
    edges), or each holds exactly one (data edges), the work is a few C-level
    string operations on the joined ends; otherwise each end is partitioned.
    """
    count = len(ends)
    joined = _GLUE.join(ends)
    dots = joined.count(".")
    if count and joined.count(_GLUE) == count - 1:
        if not dots:
            return list(ends), [""] * count, False
        if dots == count and all(map(contains, ends, repeat("."))):
            parts = joined.replace(".", _GLUE).split(_GLUE)
            return parts[0::2], parts[1::2], True
    split = list(map(str.partition, ends, repeat(".")))
    return [node for node, _, _ in split], [port for _, _, port in split], all(dot for _, dot, _ in split)


def kahn_levels_of(names: Sequence[str], pairs: list[tuple[int, int]]) -> dict[str, int] | None:
    """Each node's level (one more than its deepest predecessor's), or None when the graph has a cycle.

    ``pairs`` are edges as indexes into ``names``; parallel edges are fine.
    """
    import rustworkx  # ~25 ms to import: paid by the first validation, not by every command

    graph: rustworkx.PyDiGraph[str, None] = rustworkx.PyDiGraph(
        multigraph=True, node_count_hint=len(names), edge_count_hint=len(pairs)
    )
    graph.add_nodes_from(names)
    graph.add_edges_from_no_data(pairs)
    try:
        generations = rustworkx.topological_generations(graph)
    except rustworkx.DAGHasCycle:
        return None
    level: dict[str, int] = {}
    for depth, generation in enumerate(generations):
        level.update(zip(map(names.__getitem__, generation), repeat(depth)))
    return level


class EdgeGraph(Protocol):
    """The edges between nodes, as indexes into the nodes' order."""

    def pairs(self) -> list[tuple[int, int]]: ...

    def levels(self, names: Sequence[str]) -> dict[str, int] | None:
        """As :func:`kahn_levels_of`."""
        ...


@dataclasses.dataclass(slots=True, frozen=True)
class PairGraph:
    """The string scan's graph: a list of pairs, levelled by rustworkx."""

    edges: list[tuple[int, int]]

    def pairs(self) -> list[tuple[int, int]]:
        return self.edges

    def levels(self, names: Sequence[str]) -> dict[str, int] | None:
        return kahn_levels_of(names, self.edges)


@dataclasses.dataclass(slots=True, frozen=True)
class NumberedSignatures:
    """Each node's signature (in node order) as a row of ``table``: nodes are many, distinct signatures few.

    The full pass asks per signature, not per node, what only depends on the signature.
    """

    numbers: list[int]
    table: list[NodeSignature | None]  # may repeat a signature (or None) under two numbers


def number_signatures(declared: Sequence[NodeSignature | None]) -> NumberedSignatures:
    """Number ``declared`` by identity (signatures are unhashable structs)."""
    identities = list(map(id, declared))
    rows = dict(zip(identities, declared, strict=True))
    numbers = {identity: number for number, identity in enumerate(rows)}
    return NumberedSignatures(numbers=list(map(numbers.__getitem__, identities)), table=list(rows.values()))


@dataclasses.dataclass(slots=True, kw_only=True)
class EdgeScan:
    """What one pass over the edges learnt, for the validator's later stages."""

    idle: set[str]  # nodes that no edge leaves
    fed: Container[str]  # inputs ("node.port") that some data edge feeds
    crowded: set[str]  # inputs fed by more than one data edge
    graph: EdgeGraph  # edges between nodes
    suspects: list[Edge]  # edges the quick test did not pass: the full edge check says what is wrong, if anything
    keys_may_repeat: bool  # an edge has an id, or two edges share their ends: keys must be compared


def scan_edges(
    edges: Sequence[Edge],
    nodes: Mapping[str, object],
    signatures: Mapping[str, NodeSignature | None],
    compatible: Callable[[str, str], bool],
) -> EdgeScan:
    """Split each end once, find the graph's pairs, and pass the common correct edge in bulk.

    A data edge passes when both ends have signatures (``signatures`` must leave
    out anything not addressable by an edge) with the named ports and the types
    agree.  A control edge passes when it joins two nodes without ports.
    """
    kinds = list(map(type, edges))
    data = list(compress(edges, map(is_, kinds, repeat(DataEdge))))
    flow = list(compress(edges, map(is_not, kinds, repeat(DataEdge))))
    index = {name: number for number, name in enumerate(nodes)}.get
    outputs_of, inputs_of = _port_types(signatures)

    # A node's output usually feeds several inputs: each distinct source end is looked at once.
    source_ends = [edge.source for edge in data]
    distinct = list(dict.fromkeys(source_ends))
    source_nodes, source_ports, _ = split_ends(distinct)
    data_from = list(map(dict(zip(distinct, map(index, source_nodes), strict=True)).__getitem__, source_ends))
    source_types = dict(zip(distinct, _types(outputs_of, source_nodes, source_ports), strict=True))
    data_targets = [edge.target for edge in data]
    target_nodes, target_ports, dotted = split_ends(data_targets)
    data_to = list(map(index, target_nodes))
    target_types = _types(inputs_of, target_nodes, target_ports)
    flow_sources, flow_source_ports, _ = split_ends([edge.source for edge in flow])
    flow_targets, flow_target_ports, _ = split_ends([edge.target for edge in flow])
    flow_from, flow_to = list(map(index, flow_sources)), list(map(index, flow_targets))

    targets = set(data_targets)
    fed = targets if dotted else {target for target in targets if "." in target}
    fed_list = data_targets if dotted else [target for target in data_targets if "." in target]
    crowded = set() if len(fed) == len(fed_list) else {t for t, count in Counter(fed_list).items() if count > 1}
    keys_may_repeat = (
        any(map(attrgetter("id"), edges))
        or len(targets) < len(data_targets)
        or len(set(zip(map(type, flow), map(attrgetter("source"), flow), map(attrgetter("target"), flow), strict=True)))
        < len(flow)
    )
    idle = nodes.keys() - set(source_nodes)
    idle.difference_update(flow_sources)

    pairs = [*zip(data_from, data_to, strict=True), *zip(flow_from, flow_to, strict=True)]
    if None in data_from or None in data_to or None in flow_from or None in flow_to:
        pairs = [(a, b) for a, b in pairs if a is not None and b is not None]  # dangling ends, workflow inputs

    suspects = _data_suspects(data, source_ends, source_types, target_types, compatible)
    flow_ok = (
        not any(flow_source_ports)
        and not any(flow_target_ports)
        and None not in flow_from
        and None not in flow_to
        and all(map(is_, map(type, flow), repeat(ControlEdge)))
    )
    if not flow_ok:
        suspects += [
            edge
            for edge, a, b, port_a, port_b in zip(
                flow, flow_from, flow_to, flow_source_ports, flow_target_ports, strict=True
            )
            if type(edge) is not ControlEdge or a is None or b is None or port_a or port_b
        ]
    return EdgeScan(
        idle=idle,
        fed=fed,
        crowded=crowded,
        graph=PairGraph(cast(list[tuple[int, int]], pairs)),  # the Nones are filtered out above
        suspects=suspects,
        keys_may_repeat=keys_may_repeat,
    )


_NO_PORTS: dict[str, str] = {}

PortTypes = Callable[[str, dict[str, str]], dict[str, str]]


def _port_types(signatures: Mapping[str, NodeSignature | None]) -> tuple[PortTypes, PortTypes]:
    """Lookups node -> its output (and input) port -> type, one table per distinct signature."""
    distinct = {id(signature): signature for signature in signatures.values() if signature is not None}
    outputs = {key: {port: spec.type for port, spec in s.outputs.items()} for key, s in distinct.items()}
    inputs = {key: {port: spec.type for port, spec in s.inputs.items()} for key, s in distinct.items()}
    outputs[id(None)] = inputs[id(None)] = _NO_PORTS
    keys = list(map(id, signatures.values()))
    return (
        dict(zip(signatures, map(outputs.__getitem__, keys), strict=True)).get,
        dict(zip(signatures, map(inputs.__getitem__, keys), strict=True)).get,
    )


def _types(ports_of: PortTypes, nodes: list[str], ports: list[str]) -> list[str | None]:
    """Each end's port type, or None for an unknown node or port: two C-level lookups per end."""
    return list(map(dict.get, map(ports_of, nodes, repeat(_NO_PORTS)), ports))


def _data_suspects(
    data: list[Edge],
    source_ends: list[str],
    source_types: dict[str, str | None],
    target_types: list[str | None],
    compatible: Callable[[str, str], bool],
) -> list[Edge]:
    """The data edges with an unknown end or port, or whose types may disagree.

    ``source_types`` maps each distinct source end to its type.  When every
    source type found may feed every target type found, no edge needs a
    closer look.
    """
    feeding = set(source_types.values())
    if None not in feeding and None not in target_types:
        fed = cast(set[str], set(target_types))
        if all(compatible(a, b) for a in cast(set[str], feeding) for b in fed):
            return []
    agree: dict[tuple[str, str], bool] = {}
    suspects = []
    for edge, source_type, target_type in zip(
        data, map(source_types.__getitem__, source_ends), target_types, strict=True
    ):
        if source_type is None or target_type is None:
            suspects.append(edge)
            continue
        fits = agree.get((source_type, target_type))
        if fits is None:
            fits = agree[source_type, target_type] = compatible(source_type, target_type)
        if not fits:
            suspects.append(edge)
    return suspects
