"""A `symphony run` killed with SIGKILL mid-run resumes without redoing finished nodes.

The runs are real subprocesses of the installed ``symphony`` command, with the
test operators installed as a plugin distribution (see conftest.test_site); they
checkpoint through the embedded data service, which the test reads through its port.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from symphony.builtin_plugins.data.client import DataClient
from symphony.builtin_plugins.data.embedded import open_embedded

from .conftest import started

if TYPE_CHECKING:
    from tests.conftest import Symphony

SYMPHONY = Path(sys.executable).parent / "symphony"

pytestmark = pytest.mark.slow


def _node(name: str, log: Path, **config: Any) -> str:
    extra = "".join(f", {key} = {value!r}".replace("'", '"') for key, value in config.items())
    head = f'[nodes.{name}]\nkind = "operator"\nuses = "test-record"\n'
    return head + f'config = {{ name = "{name}", log = "{log}"{extra} }}\n'


def _edge(source: str, target: str) -> str:
    return f'[[edges]]\nkind = "data"\nfrom = "{source}.value"\nto = "{target}.value"\n'


def _write(path: Path, body: str, outputs: dict[str, str]) -> Path:
    header = 'schema_version = 1\nid = "kill-test"\nname = "kill test"\n[inputs]\nx = { type = "any" }\n'
    out = "[outputs]\n" + "".join(f'{k} = "{v}"\n' for k, v in outputs.items())
    path.write_text(header + out + body + '[[edges]]\nkind = "data"\nfrom = "inputs.x"\nto = "a.value"\n')
    return path


def _start(runner: Symphony, flow: Path, stdout: int = subprocess.DEVNULL) -> subprocess.Popen[str]:
    runner.home.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [str(SYMPHONY), "run", str(flow), "--input", "x=1"],
        cwd=runner.home,
        env=runner.env(),
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_until(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def _kill(process: subprocess.Popen[str]) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.wait(10)
    assert process.returncode == -signal.SIGKILL


def _checkpointed(runner: Symphony) -> set[str]:
    """The nodes of the runner's latest run that the data service holds as succeeded (through port data_access)."""

    async def read() -> set[str]:
        service = open_embedded(runner.data_dir / "data")
        client = DataClient.in_process(service.app, service.token)
        try:
            latest = (await client.list_runs(limit=1)).items
            nodes = await client.run_nodes(latest[0].id) if latest else []
        finally:
            await client.aclose()
            service.close()
        return {node.node_id for node in nodes if node.state == "succeeded"}

    return asyncio.run(read())


def test_a_run_killed_mid_way_resumes_without_rerunning_finished_nodes(
    symphony: Callable[..., Symphony], test_site: Path, tmp_path: Path
) -> None:
    log, gate = tmp_path / "log", tmp_path / "go"
    body = (
        _node("a", log)
        + _node("b", log)
        + _node("side", log)
        + _node("slow", log, wait_for=str(gate))
        + _node("c", log)
        + _edge("a", "b")
        + _edge("a", "side")
        + _edge("b", "slow")
        + _edge("slow", "c")
    )
    flow = _write(tmp_path / "flow.toml", body, {"out": "c.value", "side": "side.value"})
    runner = symphony(test_site)
    process = _start(runner, flow)
    _wait_until(lambda: "slow" in started(log), "node slow to start")
    _wait_until(lambda: {"a", "b", "side"} <= _checkpointed(runner), "a, b and side to be checkpointed")
    _kill(process)

    (listed,) = runner.json("runs", "list")
    assert listed["state"] == "interrupted"
    gate.touch()
    resumed = runner.json("runs", "resume", listed["run_id"])

    assert resumed["state"] == "succeeded"
    assert sorted(started(log)) == ["a", "b", "c", "side", "slow", "slow"]
    assert resumed["metrics"]["restored"] == 3
    uninterrupted = runner.json("run", str(flow), "--input", "x=1")
    assert resumed["outputs"] == uninterrupted["outputs"]
    assert resumed["outputs"]["out"] == ["c", ["slow", ["b", ["a", 1]]]]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_run_killed_at_a_random_moment_never_reruns_a_checkpointed_node(
    symphony: Callable[..., Symphony], test_site: Path, tmp_path: Path, seed: int
) -> None:
    log = tmp_path / "log"
    names = [f"n{i}" for i in range(30)]
    # 31 nodes of 20 ms each outlast the longest wait before the kill (0.15 s), even on an idle machine
    body = _node("a", log, sleep=0.02) + "".join(_node(n, log, sleep=0.02) for n in names)
    body += _edge("a", names[0]) + "".join(_edge(x, y) for x, y in itertools.pairwise(names))
    flow = _write(tmp_path / "flow.toml", body, {"out": f"{names[-1]}.value"})
    runner = symphony(test_site)
    process = _start(runner, flow)
    _wait_until(lambda: "a" in started(log), "the run to start")
    time.sleep(random.Random(seed).uniform(0.0, 0.15))
    _kill(process)

    before = _checkpointed(runner)
    count_before = len(started(log))
    (listed,) = runner.json("runs", "list")
    resumed = runner.json("runs", "resume", listed["run_id"])
    rerun = set(started(log)[count_before:])
    assert resumed["state"] == "succeeded"
    assert not before & rerun, f"checkpointed nodes ran again: {sorted(before & rerun)}"
    expected: Any = 1
    for name in ["a", *names]:
        expected = [name, expected]
    assert resumed["outputs"]["out"] == expected


def test_resume_refuses_a_run_whose_process_is_alive(
    symphony: Callable[..., Symphony], test_site: Path, tmp_path: Path
) -> None:
    log, gate = tmp_path / "log", tmp_path / "go"
    flow = _write(tmp_path / "flow.toml", _node("a", log, wait_for=str(gate)), {"out": "a.value"})
    runner = symphony(test_site)
    process = _start(runner, flow)
    try:
        _wait_until(lambda: "a" in started(log), "node a to start")
        (listed,) = runner.json("runs", "list")
        assert listed["state"] == "running"
        refused = runner.run("runs", "resume", listed["run_id"])
        assert refused.returncode == 1
        assert "is still running" in refused.stderr
        cancelled = runner.run("runs", "cancel", listed["run_id"])
        assert cancelled.returncode == 0, cancelled.stderr
        assert process.wait(10) == 1
        shown = runner.json("runs", "show", listed["run_id"])
        assert shown["state"] == "cancelled"
    finally:
        if process.poll() is None:
            process.kill()
