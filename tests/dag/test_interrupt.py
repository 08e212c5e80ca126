"""Ctrl-C during `symphony run`: the run stops cleanly, is checkpointed, and says how to resume it.

Real subprocesses of the installed ``symphony`` command; SIGINT is sent once the
slow node is seen running (its trace in the log, or its extension's worker
process), as a terminal's Ctrl-C would.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import psutil
import pytest

from .conftest import started
from .test_kill_resume import _edge, _node, _start, _wait_until, _write

if TYPE_CHECKING:
    from tests.conftest import Symphony

pytestmark = pytest.mark.slow


def _interrupted_run(runner: Symphony, flow: Path, log: Path, node: str) -> subprocess.CompletedProcess[str]:
    """Run FLOW, press Ctrl-C once ``node`` runs; what the command printed and its exit code."""
    process = _start(runner, flow, stdout=subprocess.PIPE)
    try:
        _wait_until(lambda: node in started(log), f"node {node} to start")
        os.kill(process.pid, signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def _slow_flow(tmp_path: Path) -> tuple[Path, Path, Path]:
    log, gate = tmp_path / "log", tmp_path / "go"
    body = _node("a", log) + _node("slow", log, wait_for=str(gate)) + _node("after", log)
    body += _edge("a", "slow") + _edge("slow", "after")
    return _write(tmp_path / "flow.toml", body, {"out": "after.value"}), log, gate


def test_ctrl_c_cancels_the_run_prints_the_resume_command_and_exits_130(
    symphony: Callable[..., Symphony], test_site: Path, tmp_path: Path
) -> None:
    flow, log, _ = _slow_flow(tmp_path)
    runner = symphony(test_site)

    interrupted = _interrupted_run(runner, flow, log, "slow")

    assert interrupted.returncode == 130, interrupted.stderr
    assert "Traceback" not in interrupted.stderr
    (listed,) = runner.json("runs", "list")
    assert f"symphony runs resume {listed['run_id']}" in interrupted.stdout
    shown = runner.json("runs", "show", listed["run_id"])
    assert shown["state"] == "cancelled"
    assert {name: node["state"] for name, node in shown["nodes"].items()} == {
        "a": "succeeded",
        "slow": "cancelled",
        "after": "pending",
    }


def _log_of(process: psutil.Process) -> Path | None:
    """Where ``process`` writes its stderr: a sandbox worker's is ``/tmp/symphony-worker-<name>-*/worker.log``."""
    with contextlib.suppress(OSError):
        return Path(os.readlink(f"/proc/{process.pid}/fd/2"))
    return None


def _workers(process: subprocess.Popen[str]) -> list[psutil.Process]:
    """The sandbox workers of ``slow-ext`` that ``process`` started (forked workers share the zygote's argv)."""
    found = []
    for child in psutil.Process(process.pid).children(recursive=True):
        log = _log_of(child)
        if log is not None and log.name == "worker.log" and "slow-ext" in log.parent.name:
            found.append(child)
    return found


def _waiting(worker: psutil.Process) -> bool:
    """Whether the extension's operator is running in ``worker``: it wrote ``waiting`` to its log."""
    log = _log_of(worker)
    return log is not None and log.exists() and "waiting" in log.read_text()


def _stopped(worker: psutil.Process) -> bool:
    try:
        return not worker.is_running() or worker.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_ctrl_c_stops_the_worker_of_an_extension_node_that_was_running(
    symphony: Callable[..., Symphony], slow_extension_site: Path, tmp_path: Path
) -> None:
    flow = tmp_path / "flow.toml"
    flow.write_text(
        'schema_version = 1\nid = "slow"\nname = "slow"\n[inputs]\nx = { type = "any" }\n[outputs]\nout = "w.value"\n'
        '[nodes.w]\nkind = "operator"\nuses = "wait-forever"\n'
        '[[edges]]\nkind = "data"\nfrom = "inputs.x"\nto = "w.value"\n'
    )
    process = _start(symphony(slow_extension_site), flow, stdout=subprocess.PIPE)
    workers: list[psutil.Process] = []
    try:

        def seen() -> bool:
            workers[:] = _workers(process)
            return bool(workers)

        _wait_until(seen, "the extension's worker to start")
        _wait_until(lambda: _waiting(workers[0]), "the extension's operator to run")
        os.kill(process.pid, signal.SIGINT)
        assert process.wait(60) == 130
        _wait_until(lambda: all(_stopped(worker) for worker in workers), "the extension's worker to stop")
    finally:
        if process.poll() is None:
            process.kill()
        for worker in workers:
            with contextlib.suppress(psutil.Error):
                worker.kill()


def test_a_run_stopped_by_ctrl_c_resumes_to_completion_without_redoing_finished_nodes(
    symphony: Callable[..., Symphony], test_site: Path, tmp_path: Path
) -> None:
    flow, log, gate = _slow_flow(tmp_path)
    runner = symphony(test_site)
    _interrupted_run(runner, flow, log, "slow")
    (listed,) = runner.json("runs", "list")
    gate.touch()

    resumed = runner.json("runs", "resume", listed["run_id"])

    assert resumed["state"] == "succeeded"
    assert resumed["outputs"] == {"out": ["after", ["slow", ["a", 1]]]}
    assert started(log) == ["a", "slow", "slow", "after"]
