"""``checkpoint``: what durable checkpointing costs per node, against running without it.

The ``dag_schedule`` workflows of no-op nodes (full 10,000 nodes; quick 1,000), wide
and deep, run by one :class:`Run` with the SQLite checkpoint store (WAL,
``synchronous=NORMAL``: durable against a killed process) and without a store,
in the same run.  Each node's state, metrics and MessagePack outputs are written
before any node depending on it starts; nodes finishing in the same loop turn
share a transaction (the wide shape), a chain commits once per node (deep).

Records: ``checkpoint.<shape>@N`` is the added cost per node (with minus
without), against one plain ``sqlite3`` INSERT + COMMIT per row in the same
WAL mode (the floor of an unbatched, ORM-free checkpoint).
"""

from __future__ import annotations

import asyncio
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks._measure import no_gc
from benchmarks.dag_schedule import IMPLEMENTATIONS, shape
from benchmarks.run import Record, record
from symphony.builtin_plugins.pit.dag import CheckpointStore, LocalExecutor, Plan, TrackerOptions
from symphony.builtin_plugins.pit.dag.checkpoints import RunRecord
from symphony.builtin_plugins.pit.dag.run import Run
from symphony.hookspecs import RetryPolicy

__all__ = ["run"]

GOAL = "<= 200 µs per node"


def _timed(plan: Plan, store: CheckpointStore | None, run_id: str) -> float:
    options = TrackerOptions(max_concurrency=10_000_000)
    if store is not None:
        now = time.time()
        store.create_run(
            RunRecord(
                id=run_id,
                workflow_id=plan.workflow.id,
                workflow_name=plan.workflow.name,
                document=b"",
                inputs=b"",
                state="running",
                nodes_total=len(plan.nodes),
                created_at=now,
                updated_at=now,
                cancel_requested=False,
            )
        )

    async def once() -> float:
        with no_gc():
            start = time.perf_counter()
            result = await Run(
                run_id,
                plan,
                {},
                IMPLEMENTATIONS,
                executor=LocalExecutor(),
                store=store,
                artifacts=None,
                options=options,
                retry=RetryPolicy(),
                sinks=[],
            ).main(resumed=False)
            elapsed = time.perf_counter() - start
        assert result.state == "succeeded", result.error
        return elapsed

    return asyncio.run(once())


def _sqlite_floor(path: Path, rows: int) -> float:
    """Seconds for ``rows`` single-row INSERT + COMMIT transactions with the stdlib driver."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(
        "CREATE TABLE floor (run_id TEXT, node_id TEXT, state TEXT, outputs BLOB, PRIMARY KEY (run_id, node_id))"
    )
    with no_gc():
        start = time.perf_counter()
        for i in range(rows):
            db.execute("BEGIN")
            db.execute("INSERT INTO floor VALUES (?, ?, ?, ?)", ("r", f"n{i}", "succeeded", b"\x81\xa3out\xc0"))
            db.execute("COMMIT")
        elapsed = time.perf_counter() - start
    db.close()
    return elapsed


def run(quick: bool) -> list[Record]:
    size = 1_000 if quick else 10_000
    repeat = 3 if quick else 5
    records = []
    with tempfile.TemporaryDirectory() as folder:
        store = CheckpointStore(Path(folder) / "runs.db")
        floor = statistics.median(_sqlite_floor(Path(folder) / f"floor{i}.db", size) for i in range(repeat))
        for kind in ("wide", "deep"):
            plan = Plan(shape(kind, size))
            bare = statistics.median(_timed(plan, None, "bare") for _ in range(repeat))
            durable = statistics.median(_timed(plan, store, f"{kind}-{i}") for i in range(repeat))
            cost_us = (durable - bare) / size * 1e6
            records.append(
                record(
                    f"checkpoint.{kind}@{size}",
                    cost_us,
                    "us",
                    "sqlite3 INSERT + COMMIT per row (WAL, synchronous=NORMAL)",
                    floor / size * 1e6,
                    goal=GOAL,
                )
            )
        store.close()
    return records
