"""``soak_runs``: 200 concurrent runs of a 20-node workflow through one conductor, held for a while.

A host with the builtin defaults a conductor needs (bus, data service on SQLite in a
temporary directory, DAG tracker, orchestra operators, artifacts, the embedded
conductor), driven through port ``conductor`` only: 200 callers each ``orchestrate``
run after run of a 20-node workflow of ``text-template`` operators (a chain of 10,
each with a side branch) for 60 s (``--quick``: 20 callers for 5 s).  Every result is
checked (state and both outputs), and afterwards every run through port
``data_access``: recorded, ``succeeded``, 20 checkpoints all ``succeeded`` whose
outputs are what each node must have produced, and the run's outputs as returned.

Records:
- ``soak_runs.throughput``: runs/s under the load, against one caller alone (runs/s
  of sequential ``orchestrate`` for a few seconds before the soak, in the same host);
- ``soak_runs.latency_p99``: p99 of one run's ``orchestrate`` under the load,
  against the p50 under the same load (the tail's spread);
- ``soak_runs.rss_end``: the process's RSS at the end against after the first round
  of runs (goal: within 10%);
- ``soak_runs.lost``: runs started but not found complete and consistent (goal: 0).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import msgspec
import psutil

from benchmarks._measure import percentile
from benchmarks.run import Record, record
from symphony.builtin_plugins.conductor import plugin as conductor_plugin
from symphony.builtin_plugins.data import plugin as data_plugin
from symphony.builtin_plugins.ipc.bus import plugin as bus_plugin
from symphony.builtin_plugins.orchestra import plugin as orchestra_plugin
from symphony.builtin_plugins.pit.artifacts import plugin as artifacts_plugin
from symphony.builtin_plugins.pit.dag import plugin as dag_plugin
from symphony.hookspecs.ports import ConductorPort, DataAccessPort, OrchestrationRequest, OrchestrationResult
from symphony.host import Host, Settings

__all__ = ["run"]

CHAIN = 10  # chain nodes n0..n9, each with a side node s0..s9: 20 nodes


def workflow() -> dict[str, Any]:
    """n0 -> n1 -> ... -> n9 appends "." at each step; s_i appends "!" to n_i's text."""
    nodes: dict[str, Any] = {}
    edges = [{"kind": "data", "from": "inputs.x", "to": "n0.values"}]
    for i in range(CHAIN):
        nodes[f"n{i}"] = {"kind": "operator", "uses": "text-template", "config": {"template": "{value}."}}
        nodes[f"s{i}"] = {"kind": "operator", "uses": "text-template", "config": {"template": "{value}!"}}
        edges.append({"kind": "data", "from": f"n{i}.text", "to": f"s{i}.values"})
        if i:
            edges.append({"kind": "data", "from": f"n{i - 1}.text", "to": f"n{i}.values"})
    return {
        "schema_version": 1,
        "id": "soak",
        "name": "soak",
        "inputs": {"x": {"type": "string"}},
        "outputs": {"chain": f"n{CHAIN - 1}.text", "side": f"s{CHAIN - 1}.text"},
        "nodes": nodes,
        "edges": edges,
    }


def expected_nodes(x: str) -> dict[str, str]:
    """What each node's ``text`` output must be for input ``x``."""
    texts = {}
    for i in range(CHAIN):
        texts[f"n{i}"] = x + "." * (i + 1)
        texts[f"s{i}"] = texts[f"n{i}"] + "!"
    return texts


def _host(root: Path) -> Host:
    host = Host(
        Settings(data_dir=root / "data", cache_dir=root / "cache"),
        plugins=(bus_plugin, data_plugin, dag_plugin, orchestra_plugin, artifacts_plugin, conductor_plugin),
        discover_plugins=False,
    )
    host.load()
    return host


class _Soak:
    """The callers' shared state: every run's input and result, and per-run latencies."""

    def __init__(self, conductor: ConductorPort, document: dict[str, Any]) -> None:
        self.conductor = conductor
        self.document = document
        self.results: dict[str, tuple[str, OrchestrationResult]] = {}  # execution id -> (input, result)
        self.latencies: list[float] = []
        self.started = 0
        self.first_round = asyncio.Event()

    async def one(self, x: str) -> None:
        self.started += 1
        began = time.perf_counter()
        result = await self.conductor.orchestrate(OrchestrationRequest(workflow=self.document, inputs={"x": x}))
        self.latencies.append(time.perf_counter() - began)
        self.results[result.execution_id] = (x, result)

    async def caller(self, index: int, until: float, callers: int) -> None:
        n = 0
        while time.perf_counter() < until:
            await self.one(f"c{index}r{n}")
            n += 1
            if len(self.results) >= callers:
                self.first_round.set()


def _check_result(x: str, result: OrchestrationResult) -> bool:
    want = expected_nodes(x)
    return result.state == "succeeded" and result.outputs == {
        "chain": want[f"n{CHAIN - 1}"],
        "side": want[f"s{CHAIN - 1}"],
    }


async def _check_records(data: DataAccessPort, run_id: str, x: str, result: OrchestrationResult) -> bool:
    """The run as the data service recorded it: succeeded, every checkpoint there, each node's output right."""
    record_ = await data.get_run(run_id)
    if record_ is None or record_.state != "succeeded" or record_.nodes_total != 2 * CHAIN:
        return False
    if record_.outputs is None or msgspec.msgpack.decode(record_.outputs) != result.outputs:
        return False
    want = expected_nodes(x)
    nodes = {node.node_id: node for node in await data.run_nodes(run_id)}
    if set(nodes) != set(want):
        return False
    for node_id, node in nodes.items():
        if node.state != "succeeded" or node.outputs is None:
            return False
        if msgspec.msgpack.decode(node.outputs) != {"text": want[node_id]}:
            return False
    return True


async def _soak(root: Path, callers: int, seconds: float, alone_seconds: float) -> dict[str, Any]:
    document = workflow()
    process = psutil.Process()
    async with _host(root) as host:
        conductor: ConductorPort = host.port("conductor")
        data: DataAccessPort = host.port("data_access")
        alone = _Soak(conductor, document)
        await alone.one("warm")
        began = time.perf_counter()
        while time.perf_counter() - began < alone_seconds:
            await alone.one(f"alone{alone.started}")
        alone_rate = (len(alone.results) - 1) / (time.perf_counter() - began)

        soak = _Soak(conductor, document)
        began = time.perf_counter()
        until = began + seconds
        tasks = [asyncio.create_task(soak.caller(i, until, callers)) for i in range(callers)]
        await soak.first_round.wait()
        rss_start = process.memory_info().rss
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - began
        rss_end = process.memory_info().rss

        bad = [run_id for run_id, (x, result) in soak.results.items() if not _check_result(x, result)]
        for run_id, (x, result) in soak.results.items():
            if not await _check_records(data, run_id, x, result):
                bad.append(run_id)
    return {
        "runs": len(soak.results),
        "started": soak.started,
        "rate": len(soak.results) / elapsed,
        "alone_rate": alone_rate,
        "p50": percentile(soak.latencies, 0.5),
        "p99": percentile(soak.latencies, 0.99),
        "rss_start": rss_start,
        "rss_end": rss_end,
        "lost": soak.started - len(soak.results) + len(set(bad)),
    }


def run(quick: bool) -> list[Record]:
    callers, seconds = (20, 5.0) if quick else (200, 60.0)
    with tempfile.TemporaryDirectory() as tmp:
        soak = asyncio.run(_soak(Path(tmp), callers, seconds, 1.0 if quick else 5.0))
    size = f"@{callers}x{2 * CHAIN}"
    scale = "" if not quick else " (quick: 20 callers for 5 s; full: 200 for 60 s)"
    return [
        record(
            f"soak_runs.throughput{size}",
            soak["rate"],
            "runs/s",
            "one caller alone (sequential orchestrate)",
            soak["alone_rate"],
            goal=f"no run lost, every checkpoint consistent ({soak['runs']} runs checked){scale}",
        ),
        record(
            f"soak_runs.latency_p99{size}",
            soak["p99"] * 1000,
            "ms",
            "p50 under the same load",
            soak["p50"] * 1000,
        ),
        record(
            f"soak_runs.rss_end{size}",
            soak["rss_end"] / 2**20,
            "MiB",
            "RSS after the first round of runs",
            soak["rss_start"] / 2**20,
            goal="<= 1.1x: flat within 10%",
        ),
        record(
            f"soak_runs.lost{size}",
            soak["lost"],
            "runs",
            "runs completed",
            soak["runs"],
            goal="0",
        ),
    ]
