"""``conductor``: what the conductor adds to a run, embedded and as a separate process, and how fast a crash is seen.

Records, each against a baseline measured in the same run:

- ``conductor.embedded``: one ``orchestrate`` of ``examples/welcome.toml`` (5 nodes,
  checkpointed) on the embedded conductor, against ``DagTracker.run`` of the same
  workflow on the same tracker (the conductor's overhead: resolving, validating, following).
- ``conductor.process``: the same ``orchestrate`` through the remote conductor (two
  requests over the supervised child's stdio envelope), against the embedded one.
- ``conductor.crash_detect``: from SIGKILL of the conductor process mid-run to the caller's
  ``ConductorCrashedError``, against the time heartbeats alone would take to declare a hung
  process (``missed_heartbeats * (heartbeat_interval + heartbeat_timeout)``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from benchmarks.run import Record, record
from symphony.builtin_plugins.conductor import ConductorCrashedError, EmbeddedConductor, RemoteConductor
from symphony.builtin_plugins.conductor import plugin as conductor_plugin
from symphony.builtin_plugins.ipc.bus import plugin as bus_plugin
from symphony.builtin_plugins.orchestra import plugin as orchestra_plugin
from symphony.builtin_plugins.pit.artifacts import plugin as artifacts_plugin
from symphony.builtin_plugins.pit.dag import DagTracker
from symphony.builtin_plugins.pit.dag import plugin as dag_plugin
from symphony.builtin_plugins.workflow import load
from symphony.hookspecs.ports import OrchestrationRequest
from symphony.host import Host, Settings

__all__ = ["run"]

WELCOME = Path(__file__).resolve().parents[1] / "examples" / "welcome.toml"
INPUTS = {"user": '{"name": "Ada", "active": true, "plan": "pro"}'}


@contextlib.asynccontextmanager
async def _host(root: Path, **options: Any) -> AsyncIterator[Host]:
    host = Host(
        Settings(data_dir=root / "data", cache_dir=root / "cache", components={"conductor": {"options": options}}),
        plugins=(bus_plugin, dag_plugin, orchestra_plugin, artifacts_plugin, conductor_plugin),
        discover_plugins=False,
    )
    async with host:
        yield host


async def _per_call_ms(call: Any, repeat: int) -> float:
    for _ in range(3):
        await call()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        await call()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


async def _embedded(root: Path, repeat: int) -> tuple[float, float]:
    workflow = load(WELCOME)
    request = OrchestrationRequest(workflow=workflow, inputs=INPUTS)
    async with _host(root) as host:
        conductor = host.port("conductor")
        tracker = host.port("dag_tracker")
        assert isinstance(conductor, EmbeddedConductor) and isinstance(tracker, DagTracker)
        direct = await _per_call_ms(lambda: tracker.run(workflow, INPUTS), repeat)
        orchestrated = await _per_call_ms(lambda: conductor.orchestrate(request), repeat)
    return orchestrated, direct


async def _process(root: Path, repeat: int) -> float:
    request = OrchestrationRequest(workflow=load(WELCOME), inputs=INPUTS)
    async with _host(root, mode="process") as host:
        conductor = host.port("conductor")
        assert isinstance(conductor, RemoteConductor)
        return await _per_call_ms(lambda: conductor.orchestrate(request), repeat)


async def _crash_once(root: Path) -> float:
    """Kill the conductor while a node waits on a server that never answers; seconds until the caller knows."""
    connected = asyncio.Event()

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connected.set()
        await reader.read()  # until the peer is gone
        writer.close()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    document = {
        "schema_version": 1,
        "id": "hold",
        "name": "hold",
        "outputs": {"out": "wait.text"},
        "nodes": {
            "wait": {
                "kind": "operator",
                "uses": "http-request",
                "config": {"url": f"http://127.0.0.1:{port}/", "timeout": 60},
            }
        },
    }
    async with server, _host(root, mode="process") as host:
        conductor = host.port("conductor")
        assert isinstance(conductor, RemoteConductor)
        running = asyncio.create_task(conductor.orchestrate(OrchestrationRequest(workflow=document)))
        await asyncio.wait_for(connected.wait(), 30)
        pid = conductor.supervisor.pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        killed = time.perf_counter()
        try:
            await running
        except ConductorCrashedError:
            return time.perf_counter() - killed
        raise AssertionError("the run survived the SIGKILL of its conductor")


def run(quick: bool) -> list[Record]:
    repeat = 20 if quick else 100
    crashes = 2 if quick else 5
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        orchestrated, direct = asyncio.run(_embedded(root / "embedded", repeat))
        remote = asyncio.run(_process(root / "process", repeat))
        detect = statistics.median(asyncio.run(_crash_once(root / f"crash{i}")) for i in range(crashes)) * 1000
    heartbeat_bound = 2 * (1.0 + 1.0) * 1000  # the defaults: 2 missed heartbeats of 1 s interval + 1 s timeout
    return [
        record(
            "conductor.embedded",
            orchestrated,
            "ms/run",
            "DagTracker.run",
            direct,
            goal="<= 1.2x the tracker alone",
        ),
        record("conductor.process", remote, "ms/run", "embedded conductor", orchestrated, goal="<= 5 ms added"),
        record(
            "conductor.crash_detect",
            detect,
            "ms",
            "heartbeat hang detection",
            heartbeat_bound,
            goal="<= 100 ms, not a timeout",
        ),
    ]
