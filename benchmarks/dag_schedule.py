"""``dag_schedule``: the DAG tracker's per-node overhead against Dask's schedulers, in the same run.

A workflow of N no-op operator nodes (full 10,000; quick 1,000) in two shapes:
*wide* (one root feeding N-1 independent nodes) and *deep* (a chain of N).
Ours is one :class:`Run` of the compiled plan (building each node's callable,
scheduling, launching, collecting; no checkpoints, no event sinks: those are
the ``checkpoint`` benchmark and the host's business); validation has its own
benchmark (``dag_validate``).  The baselines run the same graph of no-op
functions through ``dask.threaded.get`` and the synchronous ``dask.get``.
The figure is microseconds per node (total / N, median of the repeats): with
no-op work, all of it is overhead.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import dask.local
import dask.threaded

from benchmarks._measure import no_gc
from benchmarks.run import Record, record
from symphony.builtin_plugins.pit.dag import Implementations, LocalExecutor, Plan, TrackerOptions
from symphony.builtin_plugins.pit.dag.run import Run
from symphony.hookspecs import (
    SCHEMA_VERSION,
    DataEdge,
    Node,
    OperatorNode,
    OperatorSpec,
    PortSpec,
    RetryPolicy,
    Workflow,
)

__all__ = ["run"]

GOAL = "<= 30 µs per node overhead, <= 0.5x Dask threaded, <= 1x dask.get"
SEED = "schedule <1 ms"


def _noop_factory(config: Mapping[str, Any]) -> Callable[[Mapping[str, Any]], Any]:
    async def noop(inputs: Mapping[str, Any]) -> dict[str, Any]:
        return {"out": None}

    return noop


NOOP = OperatorSpec(
    name="noop",
    factory=_noop_factory,
    inputs={"in": PortSpec(type="any", required=False)},
    outputs={"out": PortSpec(type="any")},
)
IMPLEMENTATIONS = Implementations.of([NOOP])


def shape(kind: str, size: int) -> Workflow:
    """``wide``: n0 feeds every other node; ``deep``: n0 -> n1 -> ... -> n(size-1)."""
    nodes: dict[str, Node] = {f"n{i}": OperatorNode(uses="noop") for i in range(size)}
    if kind == "wide":
        edges = tuple(DataEdge(source="n0.out", target=f"n{i}.in") for i in range(1, size))
    else:
        edges = tuple(DataEdge(source=f"n{i - 1}.out", target=f"n{i}.in") for i in range(1, size))
    return Workflow(schema_version=SCHEMA_VERSION, id=f"{kind}-{size}", name=kind, nodes=nodes, edges=edges)


def _dask_graph(kind: str, size: int) -> tuple[dict[str, Any], list[str]]:
    def noop(*_: Any) -> None:
        return None

    graph: dict[str, Any] = {"n0": (noop,)}
    for i in range(1, size):
        graph[f"n{i}"] = (noop, "n0" if kind == "wide" else f"n{i - 1}")
    keys = [f"n{i}" for i in range(1, size)] if kind == "wide" else [f"n{size - 1}"]
    return graph, keys


def _median_us(measure: Callable[[], float], repeat: int, size: int) -> float:
    return statistics.median(measure() for _ in range(repeat)) / size * 1e6


def _ours(plan: Plan, executor: LocalExecutor) -> float:
    options = TrackerOptions(max_concurrency=10_000_000)

    async def once() -> float:
        with no_gc():
            start = time.perf_counter()
            run = Run(
                "bench",
                plan,
                {},
                IMPLEMENTATIONS,
                executor=executor,
                records=None,
                artifacts=None,
                options=options,
                retry=RetryPolicy(),
                sinks=[],
            )
            result = await run.main(resumed=False)
            elapsed = time.perf_counter() - start
        assert result.state == "succeeded", result.error
        return elapsed

    return asyncio.run(once())


def _dask(get: Callable[..., Any], graph: dict[str, Any], keys: list[str]) -> float:
    with no_gc():
        start = time.perf_counter()
        get(graph, keys)
        return time.perf_counter() - start


def run(quick: bool) -> list[Record]:
    size = 1_000 if quick else 10_000
    repeat = 3 if quick else 5
    records = []
    executor = LocalExecutor()
    for kind in ("wide", "deep"):
        plan = Plan(shape(kind, size))
        graph, keys = _dask_graph(kind, size)
        ours = _median_us(partial(_ours, plan, executor), repeat, size)
        threaded = _median_us(partial(_dask, dask.threaded.get, graph, keys), repeat, size)
        synchronous = _median_us(partial(_dask, dask.local.get_sync, graph, keys), repeat, size)
        metric = f"dag_schedule.{kind}@{size}"
        records.append(record(metric, ours, "us", "dask.threaded.get", threaded, seed_target=SEED, goal=GOAL))
        records.append(record(f"{metric}.vs_sync", ours, "us", "dask.get (synchronous)", synchronous, goal=GOAL))
    return records
