"""``dag_dask``: what the Dask executor adds to Dask's own round trip, per node, on one real cluster.

A LocalCluster on loopback TCP (one worker, in this process) serves both sides.
Ours runs a workflow of ``text-template`` nodes through the tracker with the
Dask executor: *deep*, a chain (each node waits for the one before: latency),
and *wide*, one root feeding N-1 independent nodes (throughput, with
``max_concurrency`` = N).  The baselines are the same number of no-op tasks
through a bare ``distributed.Client``: awaited one after another (deep), or
submitted together and gathered (wide).  Figures are milliseconds per node,
median of the repeats; a ratio near 1 means the executor costs nothing beyond Dask.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

from distributed import Client, LocalCluster

from benchmarks.run import Record, record
from symphony.builtin_plugins.orchestra.operators import OPERATORS
from symphony.builtin_plugins.pit.dag import DagTracker, Implementations, TrackerOptions
from symphony.builtin_plugins.pit.dag.distributed import DaskExecutor
from symphony.builtin_plugins.pit.dag.options import DaskOptions
from symphony.builtin_plugins.workflow import decode
from symphony.hookspecs import Workflow

_HEAD = 'schema_version = 1\nid = "bench"\nname = "bench"\n[inputs]\nx = { type = "any" }\n'
_NODE = '[nodes.n{i}]\nkind = "operator"\nuses = "text-template"\nconfig = {{ template = "{{value}}" }}\n'
_EDGE = '[[edges]]\nkind = "data"\nfrom = "{src}"\nto = "n{i}.values"\n'


def _workflow(n: int, shape: str) -> Workflow:
    text = _HEAD + "".join(_NODE.format(i=i) for i in range(n)) + _EDGE.format(src="inputs.x", i=0)
    for i in range(1, n):
        text += _EDGE.format(src=f"n{i - 1 if shape == 'deep' else 0}.text", i=i)
    return decode(text.encode(), "toml")


def _noop(value: Any) -> dict[str, Any]:
    return {"text": value}


async def _ours(tracker: DagTracker, workflow: Workflow, n: int) -> float:
    started = time.perf_counter()
    result = await tracker.run(workflow, {"x": "v"})
    assert result.state == "succeeded", result.error
    return (time.perf_counter() - started) / n * 1e3


async def _dask(client: Any, n: int, shape: str) -> float:
    started = time.perf_counter()
    if shape == "deep":
        for i in range(n):
            await client.submit(_noop, i, pure=False)
    else:
        await client.gather([client.submit(_noop, i, pure=False) for i in range(n)])
    return (time.perf_counter() - started) / n * 1e3


async def _measure(quick: bool) -> list[Record]:
    sizes = {"deep": 40 if quick else 200, "wide": 200 if quick else 1000}
    repeats = 3 if quick else 5
    records = []
    cluster_type: Any = LocalCluster
    client_type: Any = Client
    async with (
        cluster_type(
            n_workers=1,
            threads_per_worker=2,
            processes=False,
            host="127.0.0.1",
            protocol="tcp",
            dashboard_address=None,
            asynchronous=True,
            scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
        ) as cluster,
        client_type(cluster, asynchronous=True) as client,
    ):
        for shape, n in sizes.items():
            executor = DaskExecutor(DaskOptions(scheduler=cluster.scheduler_address))
            tracker = DagTracker(
                Implementations.of(OPERATORS), executor=executor, options=TrackerOptions(max_concurrency=n)
            )
            workflow = _workflow(n, shape)
            await _ours(tracker, _workflow(3, shape), 3)  # connect, warm the worker's build cache
            await _dask(client, 3, shape)
            ours = statistics.median([await _ours(tracker, workflow, n) for _ in range(repeats)])
            theirs = statistics.median([await _dask(client, n, shape) for _ in range(repeats)])
            await tracker.close()
            records.append(
                record(
                    f"dag_dask.{shape}.per_node",
                    ours,
                    "ms",
                    f"bare distributed.Client, {'awaited in turn' if shape == 'deep' else 'submit+gather'}",
                    theirs,
                    goal="<= 1.2x Dask's own round trip",
                )
            )
    return records


def run(quick: bool) -> list[Record]:
    return asyncio.run(_measure(quick))
