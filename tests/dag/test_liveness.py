"""Whether a `running` run's process is alive: the recorded pid must still be the process that started the run."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator

import msgspec
import psutil
import pytest

from symphony.builtin_plugins.pit.dag import DagTracker
from symphony.hookspecs.ports import NewRun, RunProcess, RunRecord

from .conftest import flow


@pytest.fixture
def other_process() -> Iterator[psutil.Process]:
    """A live process that is not this one (it stands in for a pid the system reused)."""
    child = subprocess.Popen(["sleep", "60"])
    try:
        yield psutil.Process(child.pid)
    finally:
        child.kill()
        child.wait()


async def _record_running_in(tracker: DagTracker, pid: int, started: float) -> RunRecord:
    """A run recorded by the data service as running in process ``pid`` of this host, started at ``started``."""
    new = NewRun(
        id="f" * 32,
        workflow_id="test",
        workflow_name="test",
        document=msgspec.msgpack.encode(flow("[nodes]\n")),
        inputs=msgspec.msgpack.encode({}),
        nodes_total=0,
        process=RunProcess(pid=pid, hostname=socket.gethostname(), started=started),
    )
    await tracker.require_records().create_run(new)
    return await tracker.recorded(new.id)


async def test_a_run_whose_pid_now_belongs_to_another_process_is_not_alive(
    tracker: DagTracker, other_process: psutil.Process
) -> None:
    record = await _record_running_in(tracker, other_process.pid, other_process.create_time() - 3600)

    assert not tracker.alive(record)


async def test_a_run_whose_recorded_process_still_runs_is_alive(
    tracker: DagTracker, other_process: psutil.Process
) -> None:
    record = await _record_running_in(tracker, other_process.pid, other_process.create_time())

    assert tracker.alive(record)


async def test_a_run_whose_process_has_exited_is_not_alive(tracker: DagTracker) -> None:
    child = psutil.Popen(["true"])
    started = child.create_time()
    child.wait()

    assert not tracker.alive(await _record_running_in(tracker, child.pid, started))
