"""Workflow benchmarks: full validation, incremental edits, serialization.

- ``dag_validate``: validate a generated DAG (1,000/5,000 and 10,000/50,000
  nodes/edges) against networkx building a DiGraph from the same data,
  checking ``is_directed_acyclic_graph`` and producing a ``topological_sort``.
- ``dag_edit``: one edit of each kind (connect, disconnect, update, remove and
  add a node) on the validated 10,000/50,000 DAG, re-validated incrementally,
  against a full validation.
- ``workflow_serde``: encode and decode a 1,000-node workflow as JSON, pretty
  JSON and MessagePack (decoding into the typed model, validation included)
  against ``json.dumps``/``json.loads`` of the same workflow as plain data.
"""

from __future__ import annotations

import json
import random
import statistics
import time
from collections.abc import Callable
from functools import partial

import msgspec
import networkx as nx

from benchmarks._measure import percentile
from benchmarks.run import Record, record
from symphony.builtin_plugins.workflow import Catalogue, Limits, decode, encode
from symphony.builtin_plugins.workflow.formats import Format
from symphony.builtin_plugins.workflow.validate import validate
from symphony.hookspecs import (
    SCHEMA_VERSION,
    AddNode,
    Connect,
    ControlEdge,
    DataEdge,
    Disconnect,
    Edge,
    Edit,
    Node,
    NodeMetadata,
    NodeSignature,
    OperatorNode,
    PortSpec,
    RemoveNode,
    UpdateNode,
    Workflow,
)

__all__ = ["run_edit", "run_serde", "run_validate"]

_PORTS = 8
CATALOGUE = Catalogue(
    operators={
        "step": NodeSignature(
            inputs={f"in{i}": PortSpec(type="json", required=False) for i in range(_PORTS)},
            outputs={"out": PortSpec(type="json")},
        )
    }
)


def generate(nodes: int, edges: int, seed: int = 7) -> Workflow:
    """A random DAG: edges go from lower to higher index; up to 8 data inputs per node, the rest control edges."""
    rng = random.Random(seed)
    names = [f"n{i}" for i in range(nodes)]
    used: dict[int, int] = {}
    seen: set[tuple[int, int]] = set()
    found: list[Edge] = []
    while len(found) < edges:
        source, target = sorted(rng.sample(range(nodes), 2))
        if (source, target) in seen:
            continue
        seen.add((source, target))
        port = used.get(target, 0)
        if port < _PORTS:
            used[target] = port + 1
            found.append(DataEdge(source=f"{names[source]}.out", target=f"{names[target]}.in{port}"))
        else:
            found.append(ControlEdge(source=names[source], target=names[target]))
    body: dict[str, Node] = {
        name: OperatorNode(uses="step", metadata=NodeMetadata(position=(float(i % 100), float(i // 100))))
        for i, name in enumerate(names)
    }
    return Workflow(schema_version=SCHEMA_VERSION, id="bench", name="bench", nodes=body, edges=tuple(found))


def _best(function: Callable[[], object], repeat: int) -> float:
    """Median milliseconds of ``repeat`` calls, after one untimed call.

    The untimed call pays the one-off costs (lazy imports, first allocations of the
    arrays' sizes) that an editor or host validating again and again pays once.
    """
    function()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def _validate(workflow: Workflow) -> None:
    report = validate(workflow, CATALOGUE, Limits(timeout=60)).report()
    assert not [p for p in report.problems if p.kind in ("timeout", "limit")]


def _networkx(workflow: Workflow) -> list[str]:
    graph: nx.DiGraph[str] = nx.DiGraph()
    graph.add_nodes_from(workflow.nodes)
    graph.add_edges_from((e.source.partition(".")[0], e.target.partition(".")[0]) for e in workflow.edges)
    assert nx.is_directed_acyclic_graph(graph)
    return list(nx.topological_sort(graph))


def run_validate(quick: bool) -> list[Record]:
    records = []
    for nodes, edges in ((1_000, 5_000), (10_000, 50_000)):
        workflow = generate(nodes, edges)
        repeat = 5 if quick else 9  # a median of five: one slow call (a collection, a neighbour) does not move it
        ours = _best(partial(_validate, workflow), repeat)
        baseline = _best(partial(_networkx, workflow), repeat)
        big = nodes == 10_000
        records.append(
            record(
                f"dag_validate.full@{nodes}/{edges}",
                ours,
                "ms",
                "networkx DiGraph + is_directed_acyclic_graph + topological_sort",
                baseline,
                seed_target="<100 ms for 10,000 nodes" if big else None,
                goal="<= 25 ms and <= 0.5x networkx" if big else "<= 0.5x networkx",
            )
        )
    return records


def run_edit(quick: bool) -> list[Record]:
    """Every edit kind, each timed with the report that follows it (an editor shows both)."""
    workflow = generate(10_000, 50_000)
    validated = validate(workflow, CATALOGUE, Limits(timeout=60))
    assert validated.report().valid
    validated.prepare_edits()  # as EditSession does when a document is opened
    rng = random.Random(11)
    rounds = 50 if quick else 300
    times: dict[str, list[float]] = {
        kind: [] for kind in ("connect", "disconnect", "add_node", "update_node", "remove_node")
    }

    def timed(kind: str, edit: Edit) -> list[Edit]:
        start = time.perf_counter()
        undo = validated.apply(edit)
        validated.report()
        times[kind].append((time.perf_counter() - start) * 1e6)
        return undo

    for index in range(rounds):
        source, target = sorted(rng.sample(range(10_000), 2))
        timed("connect", Connect(edge=ControlEdge(source=f"n{source}", target=f"n{target}", id=f"bench-{index}")))
        timed("disconnect", Disconnect(edge=f"bench-{index}"))
        victim = f"n{rng.randrange(10_000)}"
        node = validated.nodes[victim]
        undo = timed("update_node", UpdateNode(id=victim, node=msgspec.structs.replace(node, with_={"in7": index})))
        for step in undo:
            validated.apply(step)
        undo = timed("remove_node", RemoveNode(id=victim))
        assert isinstance(undo[0], AddNode) and all(isinstance(step, Connect) for step in undo[1:])
        timed("add_node", undo[0])
        for step in undo[1:]:
            validated.apply(step)
    full_us = _best(partial(_validate, validated.workflow), 3) * 1e3
    goal = "<= 1 ms (1,000 us) p99 for every edit kind"
    base = "full re-validation@10000/50000"
    records = []
    for kind, samples in times.items():
        records += [
            record(f"dag_edit.{kind}@10000/50000", statistics.median(samples), "us", base, full_us, goal=goal),
            record(f"dag_edit.{kind}_p99@10000/50000", percentile(samples, 0.99), "us", base, full_us, goal=goal),
        ]
    return records


def run_serde(quick: bool) -> list[Record]:
    workflow = generate(1_000, 3_000)
    plain = msgspec.to_builtins(workflow)
    repeat = 20 if quick else 100
    json_encode = _best(lambda: json.dumps(plain), repeat)
    text = json.dumps(plain)
    json_decode = _best(lambda: json.loads(text), repeat)
    records = []
    seed_figures = {
        "json": ("15 ms", "18 ms", 250),
        "json-pretty": ("25 ms", "20 ms", 350),
        "msgpack": ("8 ms", "10 ms", 175),
    }
    formats: tuple[Format, ...] = ("json", "json-pretty", "msgpack")
    for fmt in formats:
        data = encode(workflow, fmt)
        assert decode(data, fmt) == workflow
        encode_ms = _best(partial(encode, workflow, fmt), repeat)
        decode_ms = _best(partial(decode, data, fmt), repeat)
        seed_encode, seed_decode, seed_kb = seed_figures[fmt]
        records += [
            record(
                f"workflow_serde.{fmt}.encode@1000",
                encode_ms,
                "ms",
                "json.dumps of plain data",
                json_encode,
                seed_target=f"serialize {seed_encode}",
                goal="<= 1 ms and <= 0.5x stdlib json",
            ),
            record(
                f"workflow_serde.{fmt}.decode@1000",
                decode_ms,
                "ms",
                "json.loads of plain data",
                json_decode,
                seed_target=f"deserialize {seed_decode}",
                goal="<= 1 ms and <= 0.5x stdlib json, typed and validated",
            ),
            record(
                f"workflow_serde.{fmt}.size@1000",
                len(data) / 1024,
                "KB",
                "json.dumps size",
                len(text) / 1024,
                seed_target=f"{seed_kb} KB",
            ),
        ]
    return records
