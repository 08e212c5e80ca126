"""Ctrl-C during `symphony run`: the run stops cleanly, is checkpointed, and says how to resume it.

Real subprocesses of the installed ``symphony`` command; SIGINT is sent once the
slow node is seen running (its trace in the log), as a terminal's Ctrl-C would.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

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
