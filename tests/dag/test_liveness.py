"""Whether a `running` run's process is alive: the recorded pid must still be the process that started the run."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator

import msgspec
import psutil
import pytest

from symphony.builtin_plugins.pit.dag import DagTracker
from symphony.builtin_plugins.pit.dag.checkpoints import RunRecord

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


def _record_running_in(tracker: DagTracker, pid: int, started: float) -> RunRecord:
    now, run_id = time.time(), "f" * 32
    record = RunRecord(
        id=run_id,
        workflow_id="test",
        workflow_name="test",
        document=msgspec.msgpack.encode(flow("[nodes]\n")),
        inputs=msgspec.msgpack.encode({}),
        state="running",
        nodes_total=0,
        created_at=now,
        updated_at=now,
        pid=pid,
        hostname=socket.gethostname(),
        process_started=started,
        cancel_requested=False,
    )
    tracker.require_store().create_run(record)
    return tracker.require_store().run(run_id)


def test_a_run_whose_pid_now_belongs_to_another_process_is_not_alive(
    tracker: DagTracker, other_process: psutil.Process
) -> None:
    record = _record_running_in(tracker, other_process.pid, other_process.create_time() - 3600)

    assert not tracker.alive(record)


def test_a_run_whose_recorded_process_still_runs_is_alive(tracker: DagTracker, other_process: psutil.Process) -> None:
    record = _record_running_in(tracker, other_process.pid, other_process.create_time())

    assert tracker.alive(record)


def test_a_run_whose_process_has_exited_is_not_alive(tracker: DagTracker) -> None:
    child = psutil.Popen(["true"])
    started = child.create_time()
    child.wait()

    assert not tracker.alive(_record_running_in(tracker, child.pid, started))
