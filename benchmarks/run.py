"""Run Symphony's benchmarks: ``python benchmarks/run.py NAME [--quick] [--json]``.

NAME is ``startup``, ``hook_call``, ``cli``, ``dag_validate``, ``dag_edit``,
``workflow_serde``, ``bus_route``, ``codec``, ``transport_rtt``, ``ext_load``,
``ext_invoke``, ``permissions``, ``dag_schedule``, ``checkpoint``, ``conductor``,
``dag_dask``, ``artifact_io``, ``artifact_dedup``, ``artifact_search``, ``artifact_scale``, ``embed``,
``arbitrate``, ``pool_prewarm``, ``stale``, ``pool_alloc``, ``pool_health``, ``pool_scale``, ``prevalidate``,
``data_usecase``, ``data_load`` (50 clients on a served PostgreSQL for 60 s; ``--quick``: 5 s), ``permission_records``,
``editor_rtt``, ``editor_large``, ``editor_resync``, ``lsp``, ``registry_search``, ``registry_sync``,
``registry_install``, ``soak_runs``, ``soak_bus``, ``soak_sandbox`` (under load: 60 s or 10,000 calls each;
``--quick``: 5 s or 1,000), ``mcp_call``, ``mcp_cold``, ``mcp_serve``, ``ui_large_run``, ``ui_live`` (the web
console in headless Chromium) or ``all``.
Every figure comes with a baseline measured in the same run; ``ratio`` is value / baseline_value.  ``--json``
prints only a JSON list of records to stdout.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

__all__ = ["BENCHMARKS", "Record", "main", "record"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Record:
    """One measured figure beside its same-run baseline."""

    metric: str  # benchmark.variant[@size], e.g. ``startup.host@1000``
    value: float
    unit: str  # ``ms`` or ``us``
    baseline: str  # what the baseline measured
    baseline_value: float
    ratio: float  # value / baseline_value
    seed_target: str | None
    goal: str | None


def record(
    metric: str,
    value: float,
    unit: str,
    baseline: str,
    baseline_value: float,
    *,
    seed_target: str | None = None,
    goal: str | None = None,
) -> Record:
    ratio = value / baseline_value if baseline_value else float("nan")
    return Record(
        metric=metric,
        value=round(value, 3),
        unit=unit,
        baseline=baseline,
        baseline_value=round(baseline_value, 3),
        ratio=round(ratio, 3),
        seed_target=seed_target,
        goal=goal,
    )


# Imported lazily: each module imports ``Record`` from here.
def _startup(quick: bool) -> list[Record]:
    from benchmarks import startup

    return startup.run(quick)


def _hook_call(quick: bool) -> list[Record]:
    from benchmarks import hook_call

    return hook_call.run(quick)


def _cli(quick: bool) -> list[Record]:
    from benchmarks import cli

    return cli.run(quick)


def _dag_validate(quick: bool) -> list[Record]:
    from benchmarks import workflows

    return workflows.run_validate(quick)


def _dag_edit(quick: bool) -> list[Record]:
    from benchmarks import workflows

    return workflows.run_edit(quick)


def _workflow_serde(quick: bool) -> list[Record]:
    from benchmarks import workflows

    return workflows.run_serde(quick)


def _bus_route(quick: bool) -> list[Record]:
    from benchmarks import ipc

    return ipc.run_route(quick)


def _codec(quick: bool) -> list[Record]:
    from benchmarks import ipc

    return ipc.run_codec(quick)


def _transport_rtt(quick: bool) -> list[Record]:
    from benchmarks import transports

    return transports.run(quick)


def _ext_load(quick: bool) -> list[Record]:
    from benchmarks import ext_listing, sandbox_subprocess, sandbox_wasm

    return ext_listing.run(quick) + sandbox_subprocess.run_load(quick) + sandbox_wasm.run_load(quick)


def _ext_invoke(quick: bool) -> list[Record]:
    from benchmarks import sandbox_subprocess, sandbox_wasm

    return sandbox_subprocess.run_invoke(quick) + sandbox_wasm.run_invoke(quick)


def _dag_schedule(quick: bool) -> list[Record]:
    from benchmarks import dag_schedule

    return dag_schedule.run(quick)


def _checkpoint(quick: bool) -> list[Record]:
    from benchmarks import checkpoint

    return checkpoint.run(quick)


def _dag_dask(quick: bool) -> list[Record]:
    from benchmarks import dag_dask

    return dag_dask.run(quick)


def _conductor(quick: bool) -> list[Record]:
    from benchmarks import conductor

    return conductor.run(quick)


def _permissions(quick: bool) -> list[Record]:
    from benchmarks import permissions

    return permissions.run(quick)


def _artifact_io(quick: bool) -> list[Record]:
    from benchmarks import artifact_io

    return artifact_io.run(quick)


def _artifact_dedup(quick: bool) -> list[Record]:
    from benchmarks import artifact_dedup

    return artifact_dedup.run(quick)


def _artifact_search(quick: bool) -> list[Record]:
    from benchmarks import artifact_search

    return artifact_search.run(quick)


def _artifact_scale(quick: bool) -> list[Record]:
    from benchmarks import artifact_scale

    return artifact_scale.run(quick)


def _embed(quick: bool) -> list[Record]:
    from benchmarks import embed

    return embed.run(quick)


def _arbitrate(quick: bool) -> list[Record]:
    from benchmarks import arbitrate

    return arbitrate.run(quick)


def _pool_prewarm(quick: bool) -> list[Record]:
    from benchmarks import pool_prewarm

    return pool_prewarm.run(quick)


def _stale(quick: bool) -> list[Record]:
    from benchmarks import stale

    return stale.run(quick)


def _pool_alloc(quick: bool) -> list[Record]:
    from benchmarks import pool

    return pool.run_alloc(quick)


def _pool_health(quick: bool) -> list[Record]:
    from benchmarks import pool

    return pool.run_health(quick)


def _pool_scale(quick: bool) -> list[Record]:
    from benchmarks import pool

    return pool.run_scale(quick)


def _prevalidate(quick: bool) -> list[Record]:
    from benchmarks import data

    return data.prevalidate(quick)


def _data_usecase(quick: bool) -> list[Record]:
    from benchmarks import data

    return data.data_usecase(quick)


def _permission_records(quick: bool) -> list[Record]:
    from benchmarks import permission_records

    return permission_records.run(quick)


def _data_load(quick: bool) -> list[Record]:
    from benchmarks import data_load

    return data_load.run(quick)


def _editor_rtt(quick: bool) -> list[Record]:
    from benchmarks import editor

    return editor.run_rtt(quick)


def _editor_large(quick: bool) -> list[Record]:
    from benchmarks import editor

    return editor.run_large(quick)


def _editor_resync(quick: bool) -> list[Record]:
    from benchmarks import editor_resync

    return editor_resync.run(quick)


def _registry_search(quick: bool) -> list[Record]:
    from benchmarks import registry_search

    return registry_search.run(quick)


def _registry_sync(quick: bool) -> list[Record]:
    from benchmarks import registry_sync

    return registry_sync.run(quick)


def _registry_install(quick: bool) -> list[Record]:
    from benchmarks import registry_install

    return registry_install.run(quick)


def _lsp(quick: bool) -> list[Record]:
    from benchmarks import lsp

    return lsp.run(quick)


def _soak_runs(quick: bool) -> list[Record]:
    from benchmarks import soak_runs

    return soak_runs.run(quick)


def _soak_bus(quick: bool) -> list[Record]:
    from benchmarks import soak_bus

    return soak_bus.run(quick)


def _mcp_call(quick: bool) -> list[Record]:
    from benchmarks import mcp_bridge

    return mcp_bridge.run_call(quick)


def _mcp_cold(quick: bool) -> list[Record]:
    from benchmarks import mcp_bridge

    return mcp_bridge.run_cold(quick)


def _mcp_serve(quick: bool) -> list[Record]:
    from benchmarks import mcp_serve

    return mcp_serve.run(quick)


def _ui_large_run(quick: bool) -> list[Record]:
    from benchmarks import ui

    return ui.large_run(quick)


def _ui_live(quick: bool) -> list[Record]:
    from benchmarks import ui

    return ui.live(quick)


def _soak_sandbox(quick: bool) -> list[Record]:
    from benchmarks import soak_sandbox

    return soak_sandbox.run(quick)


BENCHMARKS: dict[str, Callable[[bool], list[Record]]] = {
    "startup": _startup,
    "hook_call": _hook_call,
    "cli": _cli,
    "dag_validate": _dag_validate,
    "dag_edit": _dag_edit,
    "workflow_serde": _workflow_serde,
    "bus_route": _bus_route,
    "codec": _codec,
    "transport_rtt": _transport_rtt,
    "ext_load": _ext_load,
    "ext_invoke": _ext_invoke,
    "permissions": _permissions,
    "dag_schedule": _dag_schedule,
    "checkpoint": _checkpoint,
    "conductor": _conductor,
    "dag_dask": _dag_dask,
    "artifact_io": _artifact_io,
    "artifact_dedup": _artifact_dedup,
    "artifact_search": _artifact_search,
    "artifact_scale": _artifact_scale,
    "embed": _embed,
    "arbitrate": _arbitrate,
    "pool_prewarm": _pool_prewarm,
    "stale": _stale,
    "pool_alloc": _pool_alloc,
    "pool_health": _pool_health,
    "pool_scale": _pool_scale,
    "prevalidate": _prevalidate,
    "data_usecase": _data_usecase,
    "data_load": _data_load,
    "permission_records": _permission_records,
    "editor_rtt": _editor_rtt,
    "editor_large": _editor_large,
    "editor_resync": _editor_resync,
    "lsp": _lsp,
    "registry_search": _registry_search,
    "registry_sync": _registry_sync,
    "registry_install": _registry_install,
    "soak_runs": _soak_runs,
    "soak_bus": _soak_bus,
    "soak_sandbox": _soak_sandbox,
    "mcp_call": _mcp_call,
    "mcp_cold": _mcp_cold,
    "mcp_serve": _mcp_serve,
    "ui_large_run": _ui_large_run,
    "ui_live": _ui_live,
}


def _align(cell: str, width: int, right: bool) -> str:
    return cell.rjust(width) if right else cell.ljust(width)


def _table(records: Sequence[Record]) -> str:
    header = ("metric", "value", "unit", "baseline", "baseline_value", "ratio", "seed_target", "goal")
    rows = [header] + [
        (
            r.metric,
            f"{r.value:.3f}",
            r.unit,
            r.baseline,
            f"{r.baseline_value:.3f}",
            f"{r.ratio:.2f}x",
            r.seed_target or "-",
            r.goal or "-",
        )
        for r in records
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    numeric = {1, 4, 5}
    lines = [
        "  ".join(_align(cell, width, i in numeric) for i, (cell, width) in enumerate(zip(row, widths, strict=True)))
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks/run.py", description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("name", choices=[*BENCHMARKS, "all"], help="which benchmark to run")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions and sizes")
    parser.add_argument("--json", action="store_true", help="print only a JSON list of records")
    args = parser.parse_args(argv)
    names = list(BENCHMARKS) if args.name == "all" else [args.name]
    records: list[Record] = []
    for name in names:
        start = time.perf_counter()
        records += BENCHMARKS[name](args.quick)
        if not args.json:
            print(f"# {name}: {time.perf_counter() - start:.1f} s", file=sys.stderr)
    if args.json:
        print(json.dumps([dataclasses.asdict(r) for r in records], indent=2))
    else:
        print(_table(records))
    return 0


if __name__ == "__main__":
    # Run as a script: make ``benchmarks`` importable and use that one copy of this module.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks.run import main as _main

    sys.exit(_main())
