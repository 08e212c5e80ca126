"""``pool_prewarm``: cold starts and latency of a replayed mix of workflows, with and without prediction.

The mix is deterministic (seeded): each workflow is a chain of one to three
operators (each sleeping 0.2-0.4 s: fetching, parsing) and then one or two
instruments, each using one of several fake-cost models from
benchmarks/pool_models.py (a worker that sleeps ``LOAD`` seconds and touches
its memory while loading, as loading weights does).  Workflows are replayed a
few at a time through the real DAG tracker and the real pool, whose hot set
(``max_hot``) is smaller than the number of models, so models are evicted and
come back.

*Without prediction*: the tracker's ``lookahead = 0`` and the pool's
``predict_history = false``: every model is warmed by the allocation that
needs it.  *With prediction*: ``lookahead = 2`` (the tracker prewarms the
models of instruments in the next two levels while the operators before them
run) and the pool's history prediction.  The same mix, a fresh pool each.

Figures: the pool's cold starts (allocations that had to start a warm-up
themselves) with prediction against without (seed: at least 50% fewer, i.e. a
ratio <= 0.5; goal: 80% fewer, <= 0.2); the seconds the instruments waited in
``allocate`` (what a cold start costs a run); and the replay's wall time.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from benchmarks.run import Record, record
from symphony.builtin_plugins.pit.dag import DagTracker, Implementations, TrackerOptions
from symphony.builtin_plugins.pit.pool.options import PoolOptions
from symphony.builtin_plugins.pit.pool.pool import Pool
from symphony.hookspecs import (
    SCHEMA_VERSION,
    DataEdge,
    InstrumentNode,
    InstrumentSpec,
    ModelId,
    ModelSpec,
    OperatorNode,
    OperatorSpec,
    PortSpec,
    Workflow,
)

__all__ = ["run"]

SEED = ">= 50% fewer cold starts with prediction (ratio <= 0.5)"
GOAL = ">= 80% fewer cold starts with prediction (ratio <= 0.2)"
#: Seconds a model takes to load in its worker: a small real model's cold start (all-MiniLM-L6-v2: 0.25-0.45 s).
LOAD = 0.25
MODELS = 6
#: Hot models at most: fewer than the models, so the mix evicts and reloads.
MAX_HOT = 3
#: Workflows running at once.
CONCURRENT = 3
_ANY = {"value": PortSpec(type="any", required=False)}


@dataclass
class _Counters:
    alloc_wait: float = 0.0


def _operator() -> OperatorSpec:
    def factory(config: Mapping[str, Any]) -> Any:
        async def work(inputs: Mapping[str, Any]) -> dict[str, Any]:
            await asyncio.sleep(float(config["sleep"]))
            return {"value": inputs.get("value")}

        return work

    return OperatorSpec(name="work", factory=factory, inputs=_ANY, outputs={"value": PortSpec(type="any")})


def _instruments(pool: Pool, counters: _Counters) -> list[InstrumentSpec]:
    def spec(model: str) -> InstrumentSpec:
        def factory(config: Mapping[str, Any]) -> Any:
            async def infer(inputs: Mapping[str, Any]) -> dict[str, Any]:
                began = time.perf_counter()
                handle = await pool.allocate(ModelId(model))
                counters.alloc_wait += time.perf_counter() - began
                try:
                    return {"value": await pool.call(handle, "echo", inputs.get("value"))}
                finally:
                    await pool.release(handle)

            return infer

        return InstrumentSpec(
            name=f"infer-{model}",
            models=(model,),
            factory=factory,
            inputs=_ANY,
            outputs={"value": PortSpec(type="any")},
        )

    return [spec(f"model-{i}") for i in range(MODELS)]


def _mix(count: int, seed: int = 14) -> list[Workflow]:
    """``count`` chains: 1-3 operators, then 1-2 instruments on models chosen with a skew (some are popular)."""
    rng = random.Random(seed)
    weights = [1.0 / (rank + 1) for rank in range(MODELS)]
    workflows = []
    for index in range(count):
        nodes: dict[str, Any] = {}
        chain: list[str] = []
        for step in range(rng.randint(1, 3)):
            node_id = f"op{step}"
            nodes[node_id] = OperatorNode(uses="work", config={"sleep": round(rng.uniform(0.2, 0.4), 3)})
            chain.append(node_id)
        for step in range(rng.randint(1, 2)):
            model = rng.choices(range(MODELS), weights)[0]
            node_id = f"infer{step}"
            nodes[node_id] = InstrumentNode(uses=f"infer-model-{model}")
            chain.append(node_id)
        edges = tuple(DataEdge(source=f"{a}.value", target=f"{b}.value") for a, b in itertools.pairwise(chain))
        workflows.append(
            Workflow(schema_version=SCHEMA_VERSION, id=f"mix-{index}", name=f"mix {index}", nodes=nodes, edges=edges)
        )
    return workflows


async def _replay(workflows: list[Workflow], *, predict: bool) -> tuple[int, float, float, int]:
    """Cold starts, seconds waited in allocate, wall seconds, prewarm hits."""
    specs = {
        f"model-{i}": ModelSpec(
            name=f"model-{i}", loader="benchmarks.pool_models:load", config={"load_seconds": LOAD, "megabytes": 4}
        )
        for i in range(MODELS)
    }
    pool = Pool(specs, PoolOptions(max_hot=MAX_HOT, warm_concurrency=MAX_HOT, predict_history=predict))
    counters = _Counters()
    tracker = DagTracker(
        Implementations.of([_operator()], _instruments(pool, counters)),
        options=TrackerOptions(lookahead=2 if predict else 0),
        pool=pool,
    )
    gate = asyncio.Semaphore(CONCURRENT)

    async def one(workflow: Workflow) -> None:
        async with gate:
            result = await tracker.run(workflow, {})
            assert result.state == "succeeded", result.error

    began = time.perf_counter()
    try:
        await asyncio.gather(*(one(workflow) for workflow in workflows))
        wall = time.perf_counter() - began
        status = pool.status()
    finally:
        await tracker.close()
        await pool.close()
    return status.cold_starts, counters.alloc_wait, wall, status.prewarm_hits


def run(quick: bool) -> list[Record]:
    workflows = _mix(12 if quick else 40)
    size = f"@{len(workflows)}"
    cold_without, wait_without, wall_without, _ = asyncio.run(_replay(workflows, predict=False))
    cold_with, wait_with, wall_with, _ = asyncio.run(_replay(workflows, predict=True))
    return [
        record(
            f"pool_prewarm.cold_starts{size}",
            cold_with,
            "count",
            "cold starts without prediction",
            cold_without,
            seed_target=SEED,
            goal=GOAL,
        ),
        record(
            f"pool_prewarm.alloc_wait{size}",
            wait_with * 1000,
            "ms",
            "waited in allocate without prediction",
            wait_without * 1000,
        ),
        record(f"pool_prewarm.wall{size}", wall_with * 1000, "ms", "replay without prediction", wall_without * 1000),
    ]
