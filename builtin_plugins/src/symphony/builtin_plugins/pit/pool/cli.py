"""``symphony pool status|warm|unload``: what a host's pool holds, whether a model loads, and cooling one now.

A pool lives in the host process that uses it; ``status`` reads the snapshot
the last (or the running) host wrote and says which.  ``warm`` loads the model
in this process, a real "does it load" check with its time and memory.
``unload`` cools the model here and asks a running host to cool it too (a
request file its next health check picks up).

Exit codes: 0 done; 1 the pool refused (an unknown model, a model that fails to warm).
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import msgspec

from symphony.hookspecs import ModelId, atomic_write
from symphony.hookspecs.ports import PoolManagerPort, PoolStatus

from .cli_paths import unload_requests

if TYPE_CHECKING:
    from .snapshot import Snapshot

__all__ = ["pool_commands"]


def echo_json(document: Any) -> None:
    click.echo(msgspec.json.format(msgspec.json.encode(document), indent=2).decode())


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "-"
    return datetime.datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M:%S")


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB" if size else "-"


def _percent(part: int, whole: int) -> str:
    return f" ({100 * part / whole:.0f}%)" if whole else ""


def _host(snapshot: Snapshot) -> str:
    alive = "running" if snapshot.alive else "closed" if snapshot.closed else "not running"
    return f"host pid {snapshot.pid} ({alive}), written {_when(snapshot.written_at)}"


def _table(status: PoolStatus) -> str:
    header = ("MODEL", "STATE", "HANDLES", "INSTANCES", "RSS", "LOAD", "COLD STARTS", "PREWARMS", "LAST USED", "ERROR")
    rows = [header] + [
        (
            m.model_id,
            m.state,
            str(m.handles),
            str(m.instances),
            _mib(m.rss),
            "-" if m.load_seconds is None else f"{m.load_seconds:.2f} s",
            str(m.cold_starts),
            str(m.prewarms),
            _when(m.last_used),
            m.error or "",
        )
        for m in status.models
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    budget = _mib(status.memory_budget) if status.memory_budget else "none"
    lines.append(
        f"allocations {status.allocations}, hits {status.hits}{_percent(status.hits, status.allocations)},"
        f" cold starts {status.cold_starts}, predictions {status.predictions}, prewarm hits {status.prewarm_hits}"
        f"{_percent(status.prewarm_hits, status.predictions)}, evictions {status.evictions},"
        f" failures {status.failures}; max_hot {status.max_hot}, memory budget {budget}"
    )
    return "\n".join(lines)


def pool_commands(port: Callable[[], PoolManagerPort], snapshot_path: Callable[[], Path]) -> click.Group:
    """The ``pool`` group; what the commands need (the snapshot reader, asyncio) is imported when one runs."""

    @click.group(name="pool")
    def pool() -> None:
        """Models the pool keeps warm: their state, a load check, and cooling one."""

    @pool.command("status")
    @click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
    def status(as_json: bool) -> None:
        """The pool of the running host, or of the last host that used one."""
        from .snapshot import read_snapshot

        snapshot = read_snapshot(snapshot_path())
        known = port().status()
        shown = known if snapshot is None else snapshot.status
        if as_json:
            host = None
            if snapshot is not None:
                host = {
                    "pid": snapshot.pid,
                    "alive": snapshot.alive,
                    "closed": snapshot.closed,
                    "written_at": snapshot.written_at,
                }
            echo_json({"host": host, "status": msgspec.to_builtins(shown)})
            return
        if snapshot is None:
            click.echo(f"No host has used the pool yet; {len(known.models)} model(s) known, all cold.")
        else:
            click.echo(f"Pool of {_host(snapshot)}:")
        click.echo(_table(shown))

    @pool.command("warm")
    @click.argument("model")
    @click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
    def warm(model: str, as_json: bool) -> None:
        """Load MODEL in this process and report its warm-up time and memory (it unloads when the command ends)."""
        import asyncio

        result = asyncio.run(_warm(port(), ModelId(model)))
        if as_json:
            echo_json(result)
            return
        click.echo(
            f"Model {model!r} is hot: warmed in {result['warm_seconds']:.3f} s"
            f" (its loader {result['load_seconds']:.3f} s), RSS {_mib(result['rss'])}"
            f" ({result['instances']} worker(s)); unloaded again as the command ends."
        )

    @pool.command("unload")
    @click.argument("model")
    @click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
    def unload(model: str, as_json: bool) -> None:
        """Cool MODEL now, here and in the running host (at its next health check)."""
        import asyncio

        from .snapshot import read_snapshot

        manager = port()
        asyncio.run(_unload(manager, ModelId(model)))
        snapshot = read_snapshot(snapshot_path())
        asked = snapshot is not None and snapshot.alive
        if asked:
            requests = unload_requests(snapshot_path())
            requests.mkdir(parents=True, exist_ok=True)
            atomic_write(requests / model, b"")
        result: dict[str, Any] = {"model": model, "host_pid": snapshot.pid if asked and snapshot else None}
        if as_json:
            echo_json(result)
        elif asked and snapshot is not None:
            click.echo(f"Asked host pid {snapshot.pid} to cool model {model!r}: it does at its next health check.")
        else:
            click.echo(f"Model {model!r} is cold: no running host holds a pool.")

    return pool


async def _warm(manager: PoolManagerPort, model: ModelId) -> dict[str, Any]:
    detach = getattr(manager, "detach_snapshot", None)
    if detach is not None:
        detach()  # this check must not overwrite the running host's snapshot
    started = time.perf_counter()
    try:
        async with manager.use(model):
            warm_seconds = time.perf_counter() - started
            entry = next(m for m in manager.status().models if m.model_id == model)
    finally:
        await manager.close()
    return {
        "model": model,
        "warm_seconds": warm_seconds,
        "load_seconds": entry.load_seconds or 0.0,
        "rss": entry.rss,
        "instances": entry.instances,
    }


async def _unload(manager: PoolManagerPort, model: ModelId) -> None:
    detach = getattr(manager, "detach_snapshot", None)
    if detach is not None:
        detach()
    try:
        await manager.unload(model)  # NotFoundError (exit 1) names the known models
    finally:
        await manager.close()
