"""``checkpoint``: what durable checkpointing through the data service costs per node, against running without it.

The ``dag_schedule`` workflows of no-op nodes (full 10,000 nodes; quick 1,000), wide
and deep, run by one :class:`Run` recording through port ``data_access`` of the
embedded data service (the default: the service's app in this process on SQLite
under a temporary directory, as the host builds it; checkpoints take its inline
path, one raw sqlite3 transaction on the event loop) and without records, in the
same run.  Each node's state, metrics and MessagePack outputs are committed before
any node depending on it starts (WAL, ``synchronous=NORMAL``: a crash of the process
loses nothing committed), and the update ending the run forces the log to disk (one
fsync per run, counted); nodes finishing while a save is in flight share the next
one (the wide shape), a chain saves once per node (deep).

Records: ``checkpoint.<shape>@N`` is the added cost per node (with minus without),
against one plain ``sqlite3`` INSERT + COMMIT per row in WAL mode with
``synchronous=NORMAL`` (the floor of an unbatched checkpoint written straight to a
database, with no service in between).
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
from symphony.builtin_plugins.pit.dag import LocalExecutor, Plan, TrackerOptions
from symphony.builtin_plugins.pit.dag.run import Run
from symphony.hookspecs import RetryPolicy
from symphony.hookspecs.ports import DataAccessPort, NewRun
from symphony.host import Host, Settings

__all__ = ["run"]

GOAL = "<= 50 µs per node without weakening durability (a crash loses nothing a downstream node saw)"


async def _timed(plan: Plan, records: DataAccessPort | None, run_id: str) -> float:
    options = TrackerOptions(max_concurrency=10_000_000)
    if records is not None:
        new = NewRun(
            id=run_id,
            workflow_id=plan.workflow.id,
            workflow_name=plan.workflow.name,
            document=b"",
            inputs=b"",
            nodes_total=len(plan.nodes),
        )
        await records.create_run(new)
    with no_gc():
        start = time.perf_counter()
        result = await Run(
            run_id,
            plan,
            {},
            IMPLEMENTATIONS,
            executor=LocalExecutor(),
            records=records,
            artifacts=None,
            options=options,
            retry=RetryPolicy(),
            sinks=[],
        ).main(resumed=False)
        elapsed = time.perf_counter() - start
    assert result.state == "succeeded", result.error
    return elapsed


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


async def _measure(folder: Path, size: int, repeat: int) -> dict[str, tuple[float, float]]:
    """Per shape: the median seconds of a run without records and of one recording through the embedded service."""
    host = Host(Settings(data_dir=folder / "data", cache_dir=folder / "cache")).load()
    await host.start()
    try:
        records: DataAccessPort = host.port("data_access")
        timings = {}
        for kind in ("wide", "deep"):
            plan = Plan(shape(kind, size))
            await _timed(plan, records, f"{kind}-warm")  # the service's first requests (imports, statements)
            bare = statistics.median([await _timed(plan, None, "bare") for _ in range(repeat)])
            durable = statistics.median([await _timed(plan, records, f"{kind}-{i}") for i in range(repeat)])
            timings[kind] = (bare, durable)
        return timings
    finally:
        await host.stop()


def run(quick: bool) -> list[Record]:
    size = 1_000 if quick else 10_000
    repeat = 3 if quick else 5
    records = []
    with tempfile.TemporaryDirectory() as folder:
        floor = statistics.median(_sqlite_floor(Path(folder) / f"floor{i}.db", size) for i in range(repeat))
        timings = asyncio.run(_measure(Path(folder), size, repeat))
    for kind, (bare, durable) in timings.items():
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
    return records
