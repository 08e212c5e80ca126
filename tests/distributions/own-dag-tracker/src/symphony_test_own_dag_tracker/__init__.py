"""A distribution whose profile replaces the builtin DAG tracker with its own.

``plugin`` provides ``dag_tracker`` with :class:`RecordingTracker`, which logs
every port call to ``DATA_DIR/own-dag-tracker.log`` (one JSON line each) and
delegates to :class:`MinimalTracker`: runs are JSON files under
``DATA_DIR/own-dag-tracker/``, so another process can see, cancel and resume
them.  A run "succeeds" at once with one output per workflow output, or fails
when its inputs hold ``fail``; resuming it succeeds.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from symphony.hookspecs import DistroProfile, Event, ExecutionId, NotFoundError, ValidationError, hookimpl
from symphony.hookspecs.ports import ExecutionStatus, HostContext, RunSink

PROFILE = DistroProfile(
    name="own-tracker",
    description="Runs workflows on the own-dag-tracker plugin instead of the builtin DAG tracker.",
    providers={"dag_tracker": "own-dag-tracker"},
)


class MinimalTracker:
    """Just enough of a tracker: every run ends when it starts, recorded in a JSON file."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, execution_id: str) -> Path:
        return self.root / f"{execution_id}.json"

    def _read(self, execution_id: str) -> dict[str, Any]:
        try:
            record: dict[str, Any] = json.loads(self._path(execution_id).read_text())
        except FileNotFoundError:
            raise NotFoundError(f"own-dag-tracker knows no run {execution_id}.") from None
        return record

    def _write(self, record: dict[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self._path(record["run_id"]).write_text(json.dumps(record))

    def _finish(self, record: dict[str, Any], fail: bool, sink: RunSink | None) -> None:
        record["state"], record["error"] = ("failed", "asked to fail") if fail else ("succeeded", None)
        self._write(record)
        if sink is not None:
            sink(Event(topic="run.finished", source="own-dag-tracker", data={"run_id": record["run_id"]}))

    async def execute(self, workflow: Any, inputs: Mapping[str, Any], sink: RunSink | None = None) -> ExecutionId:
        outputs = dict.fromkeys(workflow.outputs, f"own-dag-tracker ran {workflow.id}")
        record: dict[str, Any] = {"run_id": uuid.uuid4().hex, "nodes": len(workflow.nodes), "outputs": outputs}
        self._finish(record, bool(inputs.get("fail")), sink)
        return ExecutionId(record["run_id"])

    async def status(self, execution_id: ExecutionId) -> ExecutionStatus:
        record = self._read(execution_id)
        return ExecutionStatus(
            execution_id=execution_id, state=record["state"], nodes_total=record["nodes"], error=record["error"]
        )

    async def wait(self, execution_id: ExecutionId) -> SimpleNamespace:
        record = self._read(execution_id)
        return SimpleNamespace(
            run_id=execution_id, state=record["state"], outputs=record["outputs"], error=record["error"]
        )

    async def cancel(self, execution_id: ExecutionId) -> None:
        record = self._read(execution_id)
        raise ValidationError(f"Run {execution_id} already {record['state']}; own-dag-tracker cannot cancel it.")

    async def resume(self, execution_id: ExecutionId, sink: RunSink | None = None) -> ExecutionId:
        record = self._read(execution_id)
        if record["state"] == "succeeded":
            raise ValidationError(f"Run {execution_id} already succeeded; there is nothing to resume.")
        self._finish(record, False, sink)
        return execution_id

    async def close(self) -> None:
        pass


class RecordingTracker:
    """The ``dag_tracker`` port: logs each call, then delegates to a :class:`MinimalTracker`."""

    def __init__(self, data_dir: Path) -> None:
        self._log = data_dir / "own-dag-tracker.log"
        self._tracker = MinimalTracker(data_dir / "own-dag-tracker")

    def _record(self, method: str, **details: Any) -> None:
        self._log.parent.mkdir(parents=True, exist_ok=True)
        with self._log.open("a") as log:
            log.write(json.dumps({"method": method, **details}) + "\n")

    async def execute(self, workflow: Any, inputs: Mapping[str, Any], sink: RunSink | None = None) -> ExecutionId:
        run = await self._tracker.execute(workflow, inputs, sink)
        self._record("execute", run=run, workflow=workflow.id, inputs=dict(inputs))
        return run

    async def status(self, execution_id: ExecutionId) -> ExecutionStatus:
        self._record("status", run=execution_id)
        return await self._tracker.status(execution_id)

    async def wait(self, execution_id: ExecutionId) -> SimpleNamespace:
        self._record("wait", run=execution_id)
        return await self._tracker.wait(execution_id)

    async def cancel(self, execution_id: ExecutionId) -> None:
        self._record("cancel", run=execution_id)
        await self._tracker.cancel(execution_id)

    async def resume(self, execution_id: ExecutionId, sink: RunSink | None = None) -> ExecutionId:
        self._record("resume", run=execution_id)
        return await self._tracker.resume(execution_id, sink)

    async def close(self) -> None:
        self._record("close")
        await self._tracker.close()


class _Plugin:
    @hookimpl
    def symphony_provide_dag_tracker(self, context: HostContext) -> RecordingTracker:
        return RecordingTracker(context.data_dir)


plugin = _Plugin()
