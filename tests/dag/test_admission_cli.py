"""`symphony runs show`, from another process, says what a node of a running `symphony run` waits for and why."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .test_kill_resume import SYMPHONY, _node, _write

if TYPE_CHECKING:
    from tests.conftest import Symphony

pytestmark = pytest.mark.slow

DEADLINE = 60.0
ONE_SLOT = json.dumps({"capacity": {"slots": 1}})


def _two_independent_nodes(tmp_path: Path, gate: Path) -> Path:
    """``a`` and ``b`` each hold a slot until ``gate`` exists; with one slot, whichever starts second waits."""
    log = tmp_path / "log"
    return _write(
        tmp_path / "flow.toml",
        _node("a", log, wait_for=str(gate)) + _node("b", log, wait_for=str(gate)),
        {"out": "b.value"},
    )


def _poll(runner: Symphony, what: str, found: Callable[[], Any]) -> Any:
    deadline = time.monotonic() + DEADLINE
    while True:
        value = found()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.1)


def _start(runner: Symphony, flow: Path) -> subprocess.Popen[str]:
    runner.home.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [str(SYMPHONY), "run", str(flow), "--input", "x=1", "--json"],
        cwd=runner.home,
        env=runner.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _waiting_run(runner: Symphony) -> tuple[str, dict[str, Any], str, str]:
    """The running run's id, its `runs show --json` once a node waits, the waiting node and the one holding the slot.

    Both nodes are ready at once, so which one the engine admits first is not the test's to assume.
    """

    def shown() -> tuple[str, dict[str, Any], str, str] | None:
        runs = runner.json("runs", "list")
        if not runs:
            return None
        document = runner.json("runs", "show", runs[0]["run_id"])
        waiting = [node for node in ("a", "b") if document["nodes"][node]["state"] == "waiting"]
        if not waiting:
            return None
        (waiter,) = waiting
        return runs[0]["run_id"], document, waiter, "a" if waiter == "b" else "b"

    found: tuple[str, dict[str, Any], str, str] = _poll(runner, "a node waits", shown)
    return found


def test_runs_show_of_another_process_says_what_a_waiting_node_waits_for_behind_whom_and_why(
    symphony: Callable[..., Symphony], test_site: Path, tmp_path: Path
) -> None:
    runner = symphony(test_site, SYMPHONY_COMPONENTS__ARBITRATION__OPTIONS=ONE_SLOT)
    gate = tmp_path / "gate"
    process = _start(runner, _two_independent_nodes(tmp_path, gate))
    try:
        run_id, document, waiter, holder = _waiting_run(runner)
        text = runner.run("runs", "show", run_id).stdout
    finally:
        gate.touch()
        stdout, stderr = process.communicate(timeout=DEADLINE)

    waiting = document["nodes"][waiter]["waiting"]
    assert waiting["lacking"] == {"slots": 1.0}
    assert waiting["behind"] == [f"{run_id}/{holder}"]
    assert waiting["reason"]
    assert waiting["message"] == f"waiting for slots=1 (behind {run_id}/{holder}): {waiting['reason']}"
    (line,) = [line for line in text.splitlines() if line.strip().startswith(f"{waiter} ")]
    assert line.split()[1] == "waiting" and line.endswith(waiting["message"])
    assert process.returncode == 0, stderr
    assert json.loads(stdout)["state"] == "succeeded"


def test_a_node_that_got_its_slot_is_no_longer_shown_waiting(
    symphony: Callable[..., Symphony], test_site: Path, tmp_path: Path
) -> None:
    runner = symphony(test_site, SYMPHONY_COMPONENTS__ARBITRATION__OPTIONS=ONE_SLOT)
    gate = tmp_path / "gate"
    process = _start(runner, _two_independent_nodes(tmp_path, gate))
    try:
        run_id, _, waiter, _ = _waiting_run(runner)
    finally:
        gate.touch()
        process.communicate(timeout=DEADLINE)

    document = runner.json("runs", "show", run_id)

    assert document["nodes"][waiter]["state"] == "succeeded"
    assert "waiting" not in document["nodes"][waiter]
    assert "waiting" not in runner.run("runs", "show", run_id).stdout
