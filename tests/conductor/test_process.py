"""The conductor as a separate process: the host's supervisor runs ``symphony conductor serve`` over stdio.

Real child processes, killed for real with SIGKILL; the data service (embedded, on
SQLite under the data dir) is shared, so a run the killed child was running resumes
without redoing finished nodes.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from symphony.builtin_plugins.conductor import ConductorCrashedError, RemoteConductor
from symphony.hookspecs import ExecutionId, ValidationError
from symphony.hookspecs.ports import DataAccessPort, OrchestrationRequest
from symphony.host import Host

from .conftest import EXAMPLES, WELCOME_LINES, WELCOME_USER, edge, make_host, node, started, wait_until, write_flow

pytestmark = pytest.mark.slow

SYMPHONY = Path(sys.executable).parent / "symphony"


async def _checkpointed(host: Host) -> set[str]:
    """The nodes that succeeded in any run, as the data service the child writes to has them."""
    data: DataAccessPort = host.port("data_access")
    found = set()
    for run in (await data.list_runs(limit=50)).items:
        found |= {node.node_id for node in await data.run_nodes(run.id) if node.state == "succeeded"}
    return found


def _slow_flow(tmp_path: Path) -> Path:
    """a -> b -> slow (waits for the file ``go``) -> c, and a -> side."""
    log, gate = tmp_path / "log", tmp_path / "go"
    body = (
        node("a", log)
        + node("b", log)
        + node("side", log)
        + node("slow", log, wait_for=str(gate))
        + node("c", log)
        + edge("a", "b")
        + edge("a", "side")
        + edge("b", "slow")
        + edge("slow", "c")
    )
    return write_flow(tmp_path / "flow.toml", body, {"out": "c.value", "side": "side.value"})


async def _kill_mid_run(host: Host, conductor: RemoteConductor, tmp_path: Path) -> int:
    """Once ``slow`` runs and a, b, side are checkpointed, SIGKILL the conductor process; returns its pid."""
    log = tmp_path / "log"
    await asyncio.to_thread(wait_until, lambda: "slow" in started(log), "node slow to start")
    deadline = time.monotonic() + 30
    while not {"a", "b", "side"} <= await _checkpointed(host):
        assert time.monotonic() < deadline, "timed out waiting for a, b and side to be checkpointed"
        await asyncio.sleep(0.01)
    pid = conductor.supervisor.pid
    assert pid is not None and pid != os.getpid()
    os.kill(pid, signal.SIGKILL)
    return pid


async def test_process_mode_runs_the_example_in_a_child_and_returns_its_outputs(process_host: Host) -> None:
    conductor = process_host.port("conductor")
    assert isinstance(conductor, RemoteConductor)
    result = await conductor.orchestrate(
        OrchestrationRequest(workflow=EXAMPLES / "welcome.toml", inputs={"user": WELCOME_USER})
    )
    assert result.state == "succeeded", result.error
    assert result.outputs == {"lines": WELCOME_LINES}
    status = await conductor.get_status()
    assert status.mode == "process" and status.state == "idle"
    assert status.pid == conductor.supervisor.pid != os.getpid()


async def test_an_invalid_workflow_crosses_the_wire_as_a_validation_error_naming_the_problem(
    process_host: Host, tmp_path: Path
) -> None:
    body = '[nodes.a]\nkind = "operator"\nuses = "no-such-operator"\n'
    flow = write_flow(tmp_path / "bad.toml", body, {"out": "a.value"})
    with pytest.raises(ValidationError, match=r"(?s)is invalid.*unknown_contribution.*no-such-operator"):
        await process_host.port("conductor").orchestrate(OrchestrationRequest(workflow=flow, inputs={"x": 1}))


async def test_status_in_process_mode_is_busy_with_the_active_run(process_host: Host, tmp_path: Path) -> None:
    log, gate = tmp_path / "log", tmp_path / "go"
    flow = write_flow(tmp_path / "flow.toml", node("a", log, wait_for=str(gate)), {"out": "a.value"})
    conductor = process_host.port("conductor")
    running = asyncio.create_task(conductor.orchestrate(OrchestrationRequest(workflow=flow, inputs={"x": 1})))
    await asyncio.to_thread(wait_until, lambda: "a" in started(log), "node a to start")
    busy = await conductor.get_status()
    gate.touch()
    result = await running
    assert busy.state == "busy"
    assert busy.active_runs == (result.execution_id,)
    assert (await conductor.get_status()).state == "idle"


async def test_a_killed_conductor_fails_the_caller_at_once_naming_the_run_and_the_run_resumes(
    process_host: Host, tmp_path: Path
) -> None:
    conductor = process_host.port("conductor")
    flow = _slow_flow(tmp_path)
    log = tmp_path / "log"
    running = asyncio.create_task(conductor.orchestrate(OrchestrationRequest(workflow=flow, inputs={"x": 1})))
    pid = await _kill_mid_run(process_host, conductor, tmp_path)
    with pytest.raises(ConductorCrashedError) as raised:
        # A hang guard, not a timing bound: a caller not told of the crash waits for the run forever.
        await asyncio.wait_for(running, 120)

    crash = raised.value
    assert crash.execution_id is not None
    assert f"while running run {crash.execution_id}" in str(crash)
    assert f"pid {pid}" in str(crash) and "SIGKILL" in str(crash)
    assert f"symphony runs resume {crash.execution_id}" in str(crash)

    (tmp_path / "go").touch()
    resumed = await conductor.orchestrate(OrchestrationRequest(workflow=None, resume=ExecutionId(crash.execution_id)))
    assert resumed.state == "succeeded", resumed.error
    assert resumed.execution_id == crash.execution_id
    assert conductor.supervisor.restarts == 1
    assert sorted(started(log)) == ["a", "b", "c", "side", "slow", "slow"]  # only the unfinished node ran twice

    uninterrupted = await conductor.orchestrate(OrchestrationRequest(workflow=flow, inputs={"x": 1}))
    assert resumed.outputs == uninterrupted.outputs
    assert resumed.outputs == {"out": ["c", ["slow", ["b", ["a", 1]]]], "side": ["side", ["a", 1]]}


async def test_with_auto_resume_the_conductor_resumes_the_run_itself_after_its_process_is_restarted(
    tmp_path: Path, ops_site: Path
) -> None:
    host = make_host(tmp_path, mode="process", auto_resume=1, env={"PYTHONPATH": str(ops_site)})
    async with host:
        conductor = host.port("conductor")
        flow = _slow_flow(tmp_path)
        running = asyncio.create_task(conductor.orchestrate(OrchestrationRequest(workflow=flow, inputs={"x": 1})))
        await _kill_mid_run(host, conductor, tmp_path)
        (tmp_path / "go").touch()
        result = await running
    assert result.state == "succeeded", result.error
    assert result.outputs == {"out": ["c", ["slow", ["b", ["a", 1]]]], "side": ["side", ["a", 1]]}
    assert sorted(started(tmp_path / "log")) == ["a", "b", "c", "side", "slow", "slow"]


async def test_a_run_whose_conductor_was_killed_resumes_with_symphony_runs_resume(
    process_host: Host, tmp_path: Path, ops_site: Path
) -> None:
    conductor = process_host.port("conductor")
    running = asyncio.create_task(
        conductor.orchestrate(OrchestrationRequest(workflow=_slow_flow(tmp_path), inputs={"x": 1}))
    )
    await _kill_mid_run(process_host, conductor, tmp_path)
    with pytest.raises(ConductorCrashedError) as raised:
        await running
    (tmp_path / "go").touch()
    env = {key: value for key, value in os.environ.items() if not key.startswith("SYMPHONY_")}
    env |= {
        "PYTHONPATH": str(ops_site),
        "SYMPHONY_DATA_DIR": str(tmp_path / "data"),
        "SYMPHONY_CACHE_DIR": str(tmp_path / "cache"),
    }
    resumed = subprocess.run(
        [str(SYMPHONY), "runs", "resume", str(raised.value.execution_id), "--json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert '"state": "succeeded"' in resumed.stdout
    assert sorted(started(tmp_path / "log")) == ["a", "b", "c", "side", "slow", "slow"]


async def test_a_hung_conductor_is_found_by_its_missed_heartbeats_killed_and_reported(
    tmp_path: Path, ops_site: Path
) -> None:
    # Loose enough that a loaded machine (CI's second pass) does not miss beats before the stop, as 0.2 s did.
    options = {"heartbeat_interval": 0.5, "heartbeat_timeout": 1.0, "missed_heartbeats": 3}
    host = make_host(tmp_path, mode="process", env={"PYTHONPATH": str(ops_site)}, **options)
    async with host:
        conductor = host.port("conductor")
        running = asyncio.create_task(
            conductor.orchestrate(OrchestrationRequest(workflow=_slow_flow(tmp_path), inputs={"x": 1}))
        )
        log = tmp_path / "log"
        await asyncio.to_thread(wait_until, lambda: "slow" in started(log), "node slow to start")
        pid = conductor.supervisor.pid
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)  # alive, but answers nothing
        with pytest.raises(ConductorCrashedError, match=r"stopped answering heartbeats \(3 missed, 1 s each\)"):
            await running
        supervisor = conductor.supervisor
        await asyncio.to_thread(wait_until, lambda: supervisor.state == "running", "the conductor to be restarted")
        status = await conductor.get_status()
    assert status.state == "idle"
    assert status.restarts == 1
    assert status.pid is not None and status.pid != pid
