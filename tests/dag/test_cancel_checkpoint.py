"""`symphony runs cancel` from another process: the checkpoint records each node's final state.

Real processes: one ``symphony run`` running the workflow, a second one cancelling
it, a third reading the run database through ``symphony runs show``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from .conftest import started
from .test_kill_resume import _edge, _node, _start, _wait_until, _write

if TYPE_CHECKING:
    from tests.conftest import Symphony

pytestmark = pytest.mark.slow


def _cancel_once_started(runner: Symphony, flow: Path, log: Path, node: str) -> str:
    """Start ``symphony run FLOW``, cancel it from another process once ``node`` runs; the run's id."""
    process = _start(runner, flow)
    try:
        _wait_until(lambda: node in started(log), f"node {node} to start")
        (listed,) = runner.json("runs", "list")
        cancelled = runner.run("runs", "cancel", listed["run_id"])
        assert cancelled.returncode == 0, cancelled.stderr
        assert process.wait(30) == 1
    finally:
        if process.poll() is None:
            process.kill()
    return str(listed["run_id"])


def test_a_node_running_when_its_run_is_cancelled_is_recorded_cancelled(
    symphony: Callable[..., Symphony], test_site: Path, tmp_path: Path
) -> None:
    log, gate = tmp_path / "log", tmp_path / "never"
    body = _node("a", log) + _node("slow", log, wait_for=str(gate)) + _node("after", log)
    body += _edge("a", "slow") + _edge("slow", "after")
    flow = _write(tmp_path / "flow.toml", body, {"out": "after.value"})
    runner = symphony(test_site)
    run_id = _cancel_once_started(runner, flow, log, "slow")

    shown = runner.json("runs", "show", run_id)
    assert shown["state"] == "cancelled"
    assert {name: node["state"] for name, node in shown["nodes"].items()} == {
        "a": "succeeded",
        "slow": "cancelled",
        "after": "pending",
    }
    assert shown["nodes"]["slow"]["attempts"] == 1
    assert shown["metrics"]["cancelled"] == 1


def test_a_cancelled_node_runs_again_when_its_run_is_resumed(
    symphony: Callable[..., Symphony], test_site: Path, tmp_path: Path
) -> None:
    log, gate = tmp_path / "log", tmp_path / "go"
    body = _node("a", log) + _node("slow", log, wait_for=str(gate)) + _edge("a", "slow")
    flow = _write(tmp_path / "flow.toml", body, {"out": "slow.value"})
    runner = symphony(test_site)
    run_id = _cancel_once_started(runner, flow, log, "slow")
    gate.touch()

    resumed = runner.json("runs", "resume", run_id)

    assert resumed["state"] == "succeeded"
    assert started(log) == ["a", "slow", "slow"]
    assert runner.json("runs", "show", run_id)["nodes"]["slow"]["state"] == "succeeded"
