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
database, with no service in between).  ``checkpoint.save_nodes.p50`` is one
one-node ``save_nodes`` through the port, N in a row without a tracker: the
service's layers and SQLite's transaction alone, steadier than a whole run on a
busy machine, against the same floor.

Two records split the deep figure in CPU time, which a busy machine disturbs far
less than wall-clock time (both against the floor's CPU time per row):
``checkpoint.deep@N.cpu`` is the event loop's thread's CPU time added per node
(with minus without), and ``checkpoint.deep@N.cpu.tracker`` the same when the
port's ``save_nodes`` returns at once (a stand-in that writes nothing): the
tracker's own share of waiting for a save, without the service or SQLite.
"""

from __future__ import annotations

import asyncio
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import cast

from benchmarks._measure import no_gc
from benchmarks.dag_schedule import IMPLEMENTATIONS, shape
from benchmarks.run import Record, record
from symphony.builtin_plugins.pit.dag import LocalExecutor, Plan, TrackerOptions
from symphony.builtin_plugins.pit.dag.run import Run
from symphony.hookspecs import RetryPolicy
from symphony.hookspecs.ports import DataAccessPort, NewRun, NodeCheckpoint
from symphony.host import Host, Settings

__all__ = ["run"]

FLOOR = "sqlite3 INSERT + COMMIT per row (WAL, synchronous=NORMAL)"
GOAL = "<= 50 µs per node without weakening durability (a crash loses nothing a downstream node saw)"


class _Unrecorded:
    """The record calls a run makes, answered at once with nothing written: the tracker's share, measured alone."""

    async def create_run(self, request: NewRun) -> None:
        return None

    async def get_run(self, run_id: str) -> None:
        return None

    async def update_run(self, run_id: str, update: object) -> None:
        return None

    async def save_nodes(self, run_id: str, nodes: list[NodeCheckpoint]) -> None:
        return None


def _new_run(run_id: str, workflow_id: str, nodes: int) -> NewRun:
    return NewRun(
        id=run_id, workflow_id=workflow_id, workflow_name=workflow_id, document=b"", inputs=b"", nodes_total=nodes
    )


async def _save_p50(records: DataAccessPort, count: int) -> float:
    """The median seconds of a one-node ``save_nodes`` through the port, ``count`` in a row (after as many to warm)."""
    await records.create_run(_new_run("saves", "saves", 2 * count))
    checkpoints = [
        NodeCheckpoint(node_id=f"n{i}", state="succeeded", attempts=1, outputs=b"\x81\xa3out\xc0")
        for i in range(2 * count)
    ]
    times = []
    with no_gc():
        for checkpoint in checkpoints:
            start = time.perf_counter()
            await records.save_nodes("saves", [checkpoint])
            times.append(time.perf_counter() - start)
    return statistics.median(times[count:])


async def _timed(plan: Plan, records: DataAccessPort | None, run_id: str) -> tuple[float, float]:
    """The run's seconds, and the seconds of CPU time of the event loop's thread (this one)."""
    options = TrackerOptions(max_concurrency=10_000_000)
    if records is not None:
        await records.create_run(_new_run(run_id, plan.workflow.id, len(plan.nodes)))
    with no_gc():
        start, cpu = time.perf_counter(), time.thread_time()
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
        elapsed, cpu = time.perf_counter() - start, time.thread_time() - cpu
    assert result.state == "succeeded", result.error
    return elapsed, cpu


def _sqlite_floor(path: Path, rows: int) -> tuple[float, float]:
    """Seconds, and seconds of CPU time, for ``rows`` single-row INSERT + COMMIT transactions with the stdlib driver."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(
        "CREATE TABLE floor (run_id TEXT, node_id TEXT, state TEXT, outputs BLOB, PRIMARY KEY (run_id, node_id))"
    )
    with no_gc():
        start, cpu = time.perf_counter(), time.thread_time()
        for i in range(rows):
            db.execute("BEGIN")
            db.execute("INSERT INTO floor VALUES (?, ?, ?, ?)", ("r", f"n{i}", "succeeded", b"\x81\xa3out\xc0"))
            db.execute("COMMIT")
        elapsed, cpu = time.perf_counter() - start, time.thread_time() - cpu
    db.close()
    return elapsed, cpu


def _median(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(wall for wall, _ in runs), statistics.median(cpu for _, cpu in runs)


async def _measure(folder: Path, size: int, repeat: int) -> tuple[dict[str, float], float]:
    """Seconds added per node: per shape (wall), and for the deep one in CPU time, whole and the tracker's share;
    and a one-node save's median seconds."""
    host = Host(Settings(data_dir=folder / "data", cache_dir=folder / "cache")).load()
    await host.start()
    try:
        records: DataAccessPort = host.port("data_access")
        unrecorded = cast(DataAccessPort, _Unrecorded())
        added = {}
        for kind in ("wide", "deep"):
            plan = Plan(shape(kind, size))
            await _timed(plan, records, f"{kind}-warm")  # the service's first requests (imports, statements)
            bare, durable, tracker = [], [], []
            for i in range(repeat):  # interleaved, so a change in the machine's load touches each alike
                bare.append(await _timed(plan, None, "bare"))
                durable.append(await _timed(plan, records, f"{kind}-{i}"))
                if kind == "deep":
                    tracker.append(await _timed(plan, unrecorded, "unrecorded"))
            (bare_wall, bare_cpu), (durable_wall, durable_cpu) = _median(bare), _median(durable)
            added[f"checkpoint.{kind}@{size}"] = (durable_wall - bare_wall) / size
            if kind == "deep":
                added[f"checkpoint.deep@{size}.cpu"] = (durable_cpu - bare_cpu) / size
                added[f"checkpoint.deep@{size}.cpu.tracker"] = (_median(tracker)[1] - bare_cpu) / size
        return added, await _save_p50(records, size)
    finally:
        await host.stop()


def run(quick: bool) -> list[Record]:
    size = 1_000 if quick else 10_000
    repeat = 3 if quick else 5
    with tempfile.TemporaryDirectory() as folder:
        floor = _median([_sqlite_floor(Path(folder) / f"floor{i}.db", size) for i in range(repeat)])
        costs, save = asyncio.run(_measure(Path(folder), size, repeat))
    costs["checkpoint.save_nodes.p50"] = save
    per_row, cpu_per_row = floor[0] / size * 1e6, floor[1] / size * 1e6
    return [
        record(
            metric,
            seconds * 1e6,
            "us",
            f"{FLOOR}, CPU time" if ".cpu" in metric else FLOOR,
            cpu_per_row if ".cpu" in metric else per_row,
            goal=None if ".cpu" in metric else GOAL,  # the split of the deep figure, not a goal of its own
        )
        for metric, seconds in costs.items()
    ]
