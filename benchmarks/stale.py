"""``stale``: how long ``symphony stale report`` and ``gc`` take over many runs and node cache entries.

A real host (DAG tracker, embedded data service, artifact store, stale manager) runs
one workflow with a cached node; its run, cache entry and lineage rows are then copied
N times in SQL, in the data service's database and the artifact index (N runs finished
two days ago, past ``runs = "1d"``; N cache entries of one workflow node, all but the
newest superseded).  Records, each against a baseline measured on the same databases
in the same run:

- ``stale.report``: ``StaleManagerPort.report()`` (every source: node-cache and runs
  through port ``data_access``, artifacts), against reading the same rows (cache
  entries joined to runs, and the lineage of those runs) with one plain SQL query
  each: what the port's pages and the rules cost over I/O.  A report changes
  nothing, so both are the median of three (one sample swings on a shared machine).
- ``stale.gc``: ``collect()`` deleting the N runs and N-1 entries through the port,
  against one ``DELETE`` per table of the same rows in one transaction.
"""

from __future__ import annotations

import asyncio
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.run import Record, record
from symphony.builtin_plugins.data import plugin as data_plugin
from symphony.builtin_plugins.orchestra import plugin as orchestra_plugin
from symphony.builtin_plugins.pit.artifacts import plugin as artifacts_plugin
from symphony.builtin_plugins.pit.dag import plugin as dag_plugin
from symphony.builtin_plugins.pit.stale import plugin as stale_plugin
from symphony.builtin_plugins.workflow import decode
from symphony.host import Host, Settings

__all__ = ["run"]

WORKFLOW = decode(
    b'schema_version = 1\nid = "w"\nname = "w"\n[inputs]\ntext = { type = "string" }\n'
    b'[nodes.parse]\nkind = "operator"\nuses = "json-parse"\nconfig = { run = { cache = true } }\n'
    b'[[edges]]\nkind = "data"\nfrom = "inputs.text"\nto = "parse.text"\n',
    "toml",
)
_DAY = 86400.0
#: Samples of each read-only measurement.
_REPEATS = 3


def _service_db(root: Path) -> Path:
    """The embedded data service's database, which holds the runs and the node cache."""
    return root / "data" / "data" / "service.db"


def _host(root: Path) -> Host:
    settings = Settings(
        data_dir=root / "data", cache_dir=root / "cache", components={"stale": {"options": {"runs": "1d"}}}
    )
    plugins = (data_plugin, dag_plugin, orchestra_plugin, artifacts_plugin, stale_plugin)
    host = Host(settings, plugins=plugins, discover_plugins=False)
    host.load()
    return host


def _copy(root: Path, run_id: str, count: int) -> None:
    """``count`` copies of the run, its cache entry and its lineage, the run finished two days ago."""
    finished = time.time() - 2 * _DAY
    with sqlite3.connect(_service_db(root)) as runs:
        kept = {"id", "finished_at"}
        columns = ", ".join(row[1] for row in runs.execute("PRAGMA table_info(runs)") if row[1] not in kept)
        runs.executemany(
            f"INSERT INTO runs (id, finished_at, {columns}) SELECT ?, ?, {columns} FROM runs WHERE id = ?",
            [(f"copy{i:06d}", finished, run_id) for i in range(count)],
        )
        runs.execute("UPDATE runs SET finished_at = ? WHERE id = ?", (finished, run_id))
        runs.executemany(
            "INSERT INTO node_cache (key, uses, outputs, outputs_ref, run_id, node_id, created_at)"
            " SELECT ?, uses, outputs, outputs_ref, ?, node_id, created_at - ? FROM node_cache WHERE run_id = ?",
            [(f"{i:064x}", f"copy{i:06d}", i + 1, run_id) for i in range(count)],
        )
    with sqlite3.connect(root / "data" / "artifacts" / "index.db") as index:
        index.executemany(
            "INSERT INTO lineage (artifact_id, run_id, node_id, contribution, contribution_version, inputs, created_at)"
            " SELECT artifact_id, ?, node_id, contribution, contribution_version, inputs, created_at FROM lineage"
            " WHERE run_id = ?",
            [(f"copy{i:06d}", run_id) for i in range(count)],
        )


def _plain_read(root: Path) -> None:
    with sqlite3.connect(_service_db(root)) as runs:
        rows = runs.execute(
            "SELECT c.key, c.uses, c.run_id, c.node_id, c.created_at, length(c.outputs), r.workflow_id, r.state,"
            " r.finished_at FROM node_cache c LEFT JOIN runs r ON r.id = c.run_id"
        ).fetchall()
    with sqlite3.connect(root / "data" / "artifacts" / "index.db") as index:
        index.execute("SELECT run_id, node_id, artifact_id, contribution_version FROM lineage").fetchall()
    assert rows


def _plain_delete(root: Path) -> None:
    with sqlite3.connect(_service_db(root)) as runs:
        newest = runs.execute("SELECT key FROM node_cache ORDER BY created_at DESC LIMIT 1").fetchone()[0]
        runs.execute("DELETE FROM run_nodes")
        runs.execute("DELETE FROM runs")
        runs.execute("DELETE FROM node_cache WHERE key != ?", (newest,))


async def _measure(root: Path, count: int) -> tuple[float, float, int]:
    """(report ms, gc ms, items collected) over ``count`` copies in ``root``."""
    host = _host(root)
    tracker = host.port("dag_tracker")
    run_id = await tracker.execute(WORKFLOW, {"text": "1"})
    await tracker.wait(run_id)
    await tracker.close()
    _copy(root, str(run_id), count)
    manager = host.port("stale_manager")
    reports = []
    for _ in range(_REPEATS):
        start = time.perf_counter()
        await manager.report()
        reports.append((time.perf_counter() - start) * 1000)
    start = time.perf_counter()
    collected = await manager.collect()
    return statistics.median(reports), (time.perf_counter() - start) * 1000, len(collected.items)


def _baseline(root: Path, count: int) -> tuple[float, float]:
    host = _host(root)
    tracker = host.port("dag_tracker")

    async def one() -> str:
        run_id = await tracker.execute(WORKFLOW, {"text": "1"})
        await tracker.wait(run_id)
        await tracker.close()
        return str(run_id)

    _copy(root, asyncio.run(one()), count)
    reads = []
    for _ in range(_REPEATS):
        start = time.perf_counter()
        _plain_read(root)
        reads.append((time.perf_counter() - start) * 1000)
    start = time.perf_counter()
    _plain_delete(root)
    return statistics.median(reads), (time.perf_counter() - start) * 1000


def run(quick: bool) -> list[Record]:
    count = 2_000 if quick else 20_000
    with tempfile.TemporaryDirectory() as measured, tempfile.TemporaryDirectory() as plain:
        report, gc, items = asyncio.run(_measure(Path(measured), count))
        read, delete = _baseline(Path(plain), count)
    assert items == 2 * count + 1, items  # every run, and every cache entry but the newest
    return [
        record(
            f"stale.report ({count + 1} runs and cache entries)",
            report,
            "ms",
            "plain SQL read of the same rows",
            read,
            goal="within 10x the plain read",
        ),
        record(
            f"stale.gc ({2 * count + 1} items)",
            gc,
            "ms",
            "plain SQL DELETE of the same rows",
            delete,
            goal="within 10x the plain delete",
        ),
    ]
